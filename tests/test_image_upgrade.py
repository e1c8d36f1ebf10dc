"""Ship of Theseus, the upgrade (issue 13, item 4): old module paths are rewritten once.

The fixture image (``tests/fixtures/old_image/``, format 1) names classes and primitives
at the paths they had before issue 13 moved them. A read-only open resolves them through
the rename table and writes nothing; the first writable open (or ``batos image upgrade``)
rewrites them in one noted transaction and stores the format; later opens do nothing.
"""
from __future__ import annotations

import io
import json
import pickle
import shutil
from pathlib import Path
import pytest

import batos
from batos.errors import UnsafeImageError
from batos.guardian import renames
from batos.guardian.renames import FORMAT, renamed_class, renamed_primitive
from batos.guardian.unpickle import resolve_global
from batos.image.method import resolve_primitive
from batos.image.upgrade import _records, old_paths, referenced_names, stored_format

from tests.test_old_image import _check_everything, _digest, batos_cli

FIXTURE = Path(__file__).parent / "fixtures" / "old_image"

#: what the fixture names at paths that moved (its README lists them)
OLD_CLASSES = {"batos.lang.collections.PersistentSet", "batos.llm.genlog.GenerationRecord"}


@pytest.fixture
def old(tmp_path: Path) -> Path:
    dest = tmp_path / "old"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns(
        "README.md", "world.fs.index", "world.fs.lock", "world.fs.tmp", "*.old"))
    return dest / "world.fs"


def _scan(path: Path) -> tuple[set[str], set[str], list[str]]:
    """(globals, primitive references, transaction notes) of the file's current records,
    read with pickletools (nothing unpickled)."""
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(str(path), read_only=True)
    try:
        names: set[str] = set()
        prims: set[str] = set()
        for _, _, data in _records(storage):
            names |= referenced_names(data)[0]
            prims |= {s for s in _strings(data) if ":" in s and s.startswith("batos.")}
        notes = [t.description.decode() for t in storage.iterator()]
        return names, prims, notes
    finally:
        storage.close()


def _strings(data: bytes) -> list[str]:
    import pickletools
    out: list[str] = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        out += [a for op, a, _ in pickletools.genops(stream)
                if isinstance(a, str) and "UNICODE" in op.name]
    return out


def _old_paths(path: Path) -> set[str]:
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(str(path), read_only=True)
    try:
        return old_paths(storage)
    finally:
        storage.close()


def test_the_fixture_still_names_the_old_paths(old: Path) -> None:
    names, prims, _ = _scan(old)
    assert OLD_CLASSES <= names
    assert "batos.llm.dnu:does_not_understand" in prims
    assert "batos.image.primitives:clone" in prims
    assert OLD_CLASSES | {"batos.llm.dnu:does_not_understand"} <= _old_paths(old)


def test_the_table_resolves_old_paths_to_todays() -> None:
    assert renamed_class("batos.llm.genlog", "GenerationRecord") == (
        "batos.mind.genlog", "GenerationRecord")
    assert renamed_class("batos.lang.collections", "PersistentSet") == (
        "batos.image.containers", "PersistentSet")
    assert renamed_class("batos.image.proto", "Proto") == ("batos.image.proto", "Proto")
    assert renamed_primitive("batos.llm.dnu:does_not_understand") == \
        "batos.mind.dnu:does_not_understand"
    assert renamed_primitive("batos.image.primitives:clone") == "batos.lang.traits:clone"
    from batos.image.containers import PersistentSet
    from batos.mind.genlog import GenerationRecord
    assert resolve_global("batos.lang.collections", "PersistentSet") is PersistentSet
    assert resolve_global("batos.llm.genlog", "GenerationRecord") is GenerationRecord
    from batos.lang import traits
    assert resolve_primitive("batos.image.primitives:clone") is traits.clone
    # an old path is vetted where it leads: a function there is still refused
    with pytest.raises(UnsafeImageError):
        resolve_global("batos.llm.dnu", "does_not_understand")
    # every new module of the table is a primitive module or holds the moved classes
    from batos.image.method import PRIMITIVE_MODULES
    assert {"batos.mind.dnu", "batos.lang.traits"} <= PRIMITIVE_MODULES
    assert not set(renames.MODULES) & PRIMITIVE_MODULES


def test_read_only_open_resolves_and_writes_nothing(old: Path) -> None:
    before = _digest(old)
    with batos.open_image(old, read_only=True) as im:
        assert im.upgraded is None and "format" not in im.root
        _check_everything(im)
        assert im.globals["traits"].method("doesNotUnderstand_").source == \
            "batos.llm.dnu:does_not_understand"  # resolved through the table, not rewritten
    assert _digest(old) == before
    assert OLD_CLASSES <= _scan(old)[0]


def test_writable_open_upgrades_once_in_one_noted_transaction(old: Path) -> None:
    notes_before = _scan(old)[2]
    with batos.open_image(old) as im:
        report = im.upgraded
        assert report is not None and (report.old_format, report.new_format) == (1, FORMAT)
        assert im.root["format"] == FORMAT
        assert report.classes == {
            "batos.lang.collections.PersistentSet": "batos.image.containers.PersistentSet",
            "batos.llm.genlog.GenerationRecord": "batos.mind.genlog.GenerationRecord"}
        assert report.primitives["batos.llm.dnu:does_not_understand"] == \
            "batos.mind.dnu:does_not_understand"
        assert report.primitives["batos.image.primitives:clone"] == "batos.lang.traits:clone"
        assert im.globals["traits"].method("doesNotUnderstand_").source == \
            "batos.mind.dnu:does_not_understand"
        _check_everything(im)
    names, prims, notes = _scan(old)
    assert notes[:len(notes_before)] == notes_before
    # exactly one upgrade transaction, with its note (beside the awakening of steps
    # batos gained after the fixture was made, e.g. "past")
    [note] = [n for n in notes[len(notes_before):] if not n.startswith("awakening")]
    assert note.startswith("image upgrade: format 1 -> 2") and "2 class paths" in note
    assert not names & OLD_CLASSES
    assert {"batos.image.containers.PersistentSet", "batos.mind.genlog.GenerationRecord"} <= names
    assert not [p for p in prims if p.split(":")[0] in renames.MODULES]
    assert _old_paths(old) == set()
    with batos.open_image(old, read_only=True) as im:
        assert stored_format(im.storage) == FORMAT
        _check_everything(im)


def test_a_second_open_does_nothing(old: Path) -> None:
    with batos.open_image(old) as im:
        assert im.upgraded is not None
    notes = _scan(old)[2]
    before = Path(old).read_bytes()
    with batos.open_image(old) as im:
        assert im.upgraded is None and im.root["format"] == FORMAT
    assert _scan(old)[2] == notes and Path(old).read_bytes() == before


def test_new_images_are_born_current(tmp_path: Path) -> None:
    with batos.open_image(tmp_path / "new.fs") as im:
        assert im.root["format"] == FORMAT and im.upgraded is None
    assert _old_paths(tmp_path / "new.fs") == set()


def test_cli_image_upgrade_and_verify(old: Path) -> None:
    first = batos_cli("image", "upgrade", "--json", "-i", old)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["upgraded"] and (data["from_format"], data["format"]) == (1, FORMAT)
    assert data["classes"]["batos.llm.genlog.GenerationRecord"] == \
        "batos.mind.genlog.GenerationRecord"
    again = batos_cli("image", "upgrade", "-i", old)
    assert again.returncode == 0 and "nothing to upgrade" in again.stdout, again.stderr
    verify = batos_cli("image", "verify", "-i", old)
    assert verify.returncode == 0 and "passed fstest, fsrefs" in verify.stdout, verify.stderr


def test_the_upgrade_never_runs_what_a_record_names(old: Path) -> None:
    """zodbupdate imports whatever a record names; batos routes it through the guardian's
    allow-list, so a hostile record stops the upgrade and nothing is written."""
    from ZODB.Connection import TransactionMetaData
    from ZODB.FileStorage import FileStorage
    storage = FileStorage(str(old))
    try:
        # a record whose class is os.system (GLOBAL 'os system'), then its state
        hostile = b"\x80\x03cos\nsystem\nq\x00." + pickle.dumps({"x": 1}, 3)
        txn = TransactionMetaData(description="hostile")
        storage.tpc_begin(txn)
        storage.store(storage.new_oid(), b"\0" * 8, hostile, "", txn)
        storage.tpc_vote(txn)
        storage.tpc_finish(txn)
    finally:
        storage.close()
    before = _digest(old)
    with pytest.raises(UnsafeImageError, match="os.system"):
        batos.open_image(old)
    assert _digest(old) == before

