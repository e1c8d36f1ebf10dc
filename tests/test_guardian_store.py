"""The image file is safe: every committed object is checked, every loaded class vetted.

* commit: one choke point (the commit's pickler) sees every object written, by exact
  type, the globals tree, BTree buckets and registered value types' contents included;
* a size cap per record;
* load: only batos's classes, persistent/BTrees containers and plain data types are
  resolved, so a hostile image built with plain ZODB runs nothing when opened;
* a plain list inside a persistent list, mutated in place, survives a reload.
"""
from __future__ import annotations

import collections
import datetime
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from BTrees.OOBTree import OOBTree
from persistent.list import PersistentList

import batos
from batos.errors import ImageError, StorageRejected, UnsafeImageError
from batos.guardian.storable import check_storable
from batos.guardian.unpickle import is_loading, loading, resolve_global
from batos.image.proto import Proto
from batos.lang.collections import Association, Interval
from batos.lang.values import Character, Point, Symbol

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_LLM", "off")
    monkeypatch.delenv("BATOS_MAX_RECORD_MB", raising=False)


class Evil:
    """Unpickling it would run a shell command."""

    def __init__(self, marker: str = "/nonexistent/marker") -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.system, (f"touch {self.marker}",))


class EvilSymbol(Symbol):
    def __reduce__(self) -> Any:
        return (os.system, ("true",))


def _slots(p: Proto) -> dict[str, Any]:
    p._p_activate()
    return p.__dict__["_slots"]


def _globals_snapshot(path: Path) -> list[str]:
    with batos.open_image(path, read_only=True) as im:
        return sorted(im.globals)


# --- the commit-time choke point ------------------------------------------------------

@pytest.mark.parametrize("make", [
    pytest.param(lambda: Evil(), id="reduce-object"),
    pytest.param(lambda: Point(Evil(), 1), id="inside-Point"),
    pytest.param(lambda: Association("k", [Evil()]), id="inside-Association"),
    pytest.param(lambda: EvilSymbol("x"), id="Symbol-subclass"),
    pytest.param(lambda: os.system, id="function"),
    pytest.param(lambda: collections.defaultdict(os.getcwd), id="defaultdict-factory"),
    pytest.param(lambda: (1, [2, {"k": Evil()}]), id="nested-plain"),
])
def test_check_storable_rejects_by_exact_type_and_walks_values(make: Any) -> None:
    with pytest.raises(StorageRejected):
        check_storable(make())


def test_instance_level_reduce_on_a_registered_type_is_rejected() -> None:
    a = Association("k", 1)
    a.__dict__["__reduce_ex__"] = lambda proto: (os.system, ("true",))
    with pytest.raises(StorageRejected):
        check_storable(a)


@pytest.mark.parametrize("how", ["globals-tree", "btree-bucket", "raw-slot", "point-in-slot",
                                 "symbol-subclass", "proto-subclass", "persistent-list"])
def test_commit_rejects_what_bypassed_the_slot_check(tmp_path: Path, how: str) -> None:
    path = tmp_path / "img.fs"
    with batos.open_image(path) as im:
        before = sorted(im.globals)
        genesis = im.globals["genesis"]

        def attack() -> None:
            if how == "globals-tree":     # what `Smalltalk at:put:` reaches
                im.globals._tree["evil"] = Evil()
            elif how == "btree-bucket":
                tree = OOBTree()
                tree["k"] = Evil()
                im.globals._tree["tree"] = tree
            elif how == "raw-slot":
                _slots(genesis)["evil"] = Evil()
                genesis._p_changed = True
            elif how == "point-in-slot":
                _slots(genesis)["pt"] = Point(3, Evil())
                genesis._p_changed = True
            elif how == "symbol-subclass":
                im.globals._tree["sym"] = EvilSymbol("x")
            elif how == "proto-subclass":
                sub = type(Proto)("Proto", (Proto,), {"__module__": Proto.__module__})
                im.globals._tree["sub"] = sub()
            else:
                im.globals._tree["pl"] = PersistentList([1, lambda: 0])

        with pytest.raises(StorageRejected) as info:
            im.execute(attack, note="attack")
        assert "cannot" in str(info.value)
        assert not im.dirty()
        # the image still works and commits
        im.execute(lambda: genesis.set_slot("after", 1), note="after")
    after = _globals_snapshot(path)
    assert after == before
    with batos.open_image(path, read_only=True) as im:
        assert im.globals["genesis"].send("after") == 1
        assert "evil" not in _slots(im.globals["genesis"])


def test_plain_value_types_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "vals.fs"
    values = {
        "frac": Fraction(1, 3), "dec": Decimal("1.25"), "cplx": complex(1, 2),
        "when": datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2024, 1, 2), "span": datetime.timedelta(seconds=5),
        "deq": collections.deque([1, 2], 5), "od": collections.OrderedDict(a=1),
        "ctr": collections.Counter("aab"), "dd": collections.defaultdict(list, a=[1]),
        "fs": frozenset({1, 2}), "sym": Symbol("foo"), "ch": Character("a"),
        "pt": Point(3, Fraction(1, 2)), "assoc": Association(Symbol("k"), 2),
        "iv": Interval(1, 5),
    }
    with batos.open_image(path) as im:
        holder = im.globals["genesis"].clone()
        im.globals["holder"] = holder
        for k, v in values.items():
            holder.set_slot(k, v)
        im.commit("values")
    with batos.open_image(path, read_only=True) as im:
        holder = im.globals["holder"]
        for k, v in values.items():
            got = _slots(holder)[k]
            assert type(got) is type(v), k
            if k == "iv":
                assert list(got) == list(v)
            else:
                assert got == v, k


# --- the size cap ------------------------------------------------------------------------

def test_record_size_cap_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_MAX_RECORD_MB", "1")
    path = tmp_path / "big.fs"
    with batos.open_image(path) as im:
        g = im.globals["genesis"]
        with pytest.raises(StorageRejected, match=r"MB.*BATOS_MAX_RECORD_MB"):
            im.execute(lambda: g.set_slot("big", "x" * 2_000_000), note="big string")
        # many small strings: caught on the whole record
        with pytest.raises(StorageRejected, match="record"):
            im.execute(lambda: g.set_slot("many", [f"{i:05d}" + "y" * 1000 for i in range(3000)]), note="many")
        im.execute(lambda: g.set_slot("small", "x" * 1000), note="small")
    with batos.open_image(path, read_only=True) as im:
        slots = _slots(im.globals["genesis"])
        assert "big" not in slots and "many" not in slots and slots["small"] == "x" * 1000


def test_record_size_cap_image_option(tmp_path: Path) -> None:
    with batos.open_image(tmp_path / "opt.fs") as im:
        im.options["max_record_mb"] = 0.5
        g = im.globals["genesis"]
        with pytest.raises(StorageRejected):
            im.execute(lambda: g.set_slot("big", b"x" * 600_000), note="big bytes")
        im.options["max_record_mb"] = 2
        im.execute(lambda: g.set_slot("big", b"x" * 600_000), note="fits now")


# --- restricted class resolution ---------------------------------------------------------

@pytest.mark.parametrize("module,name", [
    ("os", "system"), ("posix", "system"), ("builtins", "eval"), ("builtins", "exec"),
    ("builtins", "getattr"), ("builtins", "__import__"), ("builtins", "str"),
    ("subprocess", "Popen"), ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
    ("batos.image.method", "resolve_primitive"), ("batos.image.image", "Image"),
    ("batos.__main__", "main"), ("batos.lang.values", "st_class"),
    ("antigravity_never_imported", "x"), ("os.path", "join"),
])
def test_resolve_global_refuses(module: str, name: str) -> None:
    with pytest.raises(UnsafeImageError, match=f"{module}.{name}"):
        resolve_global(module, name)
    assert "antigravity_never_imported" not in sys.modules


@pytest.mark.parametrize("module,name", [
    ("batos.image.proto", "Proto"), ("batos.image.method", "Method"),
    ("batos.lang.values", "Point"), ("persistent.mapping", "PersistentMapping"),
    ("BTrees.OOBTree", "OOBucket"), ("BTrees.Length", "Length"), ("ZODB.blob", "Blob"),
    ("fractions", "Fraction"), ("builtins", "set"), ("collections", "defaultdict"),
])
def test_resolve_global_allows(module: str, name: str) -> None:
    assert isinstance(resolve_global(module, name), type)


def test_prototypes_send_nothing_while_a_record_loads(tmp_path: Path) -> None:
    with batos.open_image(tmp_path / "l.fs") as im:
        g = im.globals["genesis"].clone()
        g.define("extend", "def extend(self, items):\n    return 1\n")
        assert g.extend([1]) == 1
        im.abort()
        g2 = im.globals["genesis"].clone()
        g2.define("keys", "def keys(self):\n    return []\n")
        with loading():
            assert is_loading()
            with pytest.raises(AttributeError):
                g2.keys  # noqa: B018  (what a crafted APPEND / dict(proto) would reach)
        assert not is_loading()
        assert g2.keys() == []


_HOSTILE_PLAIN = """
import os, sys, transaction, ZODB
from ZODB.FileStorage import FileStorage
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
db = ZODB.DB(FileStorage(sys.argv[1]))
with db.transaction() as conn:
    conn.root()["payload"] = Evil()
db.close()
"""

_HOSTILE_BATOS = r"""
import os, sys, transaction, ZODB
from ZODB.FileStorage import FileStorage
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
where = sys.argv[3]
db = ZODB.DB(FileStorage(sys.argv[1]))     # plain ZODB: no batos checks
with db.transaction() as conn:
    tree = conn.root()["globals"]
    if where == "globals":
        tree["evil"] = Evil()
    elif where == "slot":
        genesis = tree["genesis"]
        genesis._p_activate()
        genesis.__dict__["_slots"]["evil"] = Evil()
        genesis._p_changed = True
    elif where == "append":
        # a record that rebuilds a prototype with an `append` primitive and APPENDs to it
        from batos.image.proto import Proto
        from batos.image.method import Method
        def method(sel):  # never audited: a hand-crafted image holds what it likes
            m = Method.__new__(Method)
            m.__dict__.update(selector=sel, language="python", provenance=None, audit=None,
                              created=0.0, source=f"def {sel}(self, items):\n"
                              f"    raise ValueError('RAN ' + str(items))\n")
            return m
        slots = {"append": method("append"), "extend": method("extend")}
        class Gadget:  # REDUCE Proto("x", slots), then APPENDS onto it
            def __reduce__(self):
                return (Proto, ("x", slots), None, iter(["touch " + sys.argv[2]]))
        tree["gadget"] = Gadget()
db.close()
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "BATOS_LLM": "off"}, cwd=ROOT)


def _batos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "batos.cli.main", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "BATOS_LLM": "off"},
                          cwd=ROOT)


@pytest.mark.parametrize("read_only", [False, True])
def test_hostile_plain_zodb_file_runs_nothing(tmp_path: Path, read_only: bool) -> None:
    path, marker = tmp_path / "hostile.fs", tmp_path / "MARKER"
    built = _run(_HOSTILE_PLAIN, str(path), str(marker))
    assert built.returncode == 0, built.stderr
    assert not marker.exists()
    with pytest.raises(UnsafeImageError, match=r"(posix|os)\.system") as info:
        batos.open_image(path, read_only=read_only)
    assert info.value.exit_code == 3
    assert not marker.exists()
    # the file was released: a second attempt says the same, not "locked"
    with pytest.raises(UnsafeImageError):
        batos.open_image(path, read_only=read_only)
    cli = _batos("eval", "-i", str(path), *(["--read-only"] if read_only else []), "3+4")
    assert cli.returncode == 3, cli.stdout + cli.stderr
    assert "system" in cli.stderr + cli.stdout
    assert not marker.exists()


@pytest.mark.parametrize("where", ["globals", "slot", "append"])
@pytest.mark.parametrize("read_only", [False, True])
def test_hostile_record_in_a_batos_image_runs_nothing(tmp_path: Path, where: str,
                                                      read_only: bool) -> None:
    path, marker = tmp_path / "img.fs", tmp_path / "MARKER"
    with batos.open_image(path):
        pass
    built = _run(_HOSTILE_BATOS, str(path), str(marker), where)
    assert built.returncode == 0, built.stderr
    assert not marker.exists()
    ro = ["--read-only"] if read_only else []
    expr = {"globals": "evil", "slot": "genesis evil", "append": "gadget"}[where]
    cli = _batos("eval", "-i", str(path), *ro, expr)
    assert cli.returncode == 3, cli.stdout + cli.stderr
    assert not marker.exists()
    out = cli.stderr + cli.stdout
    assert ("system" in out) if where != "append" else ("cannot be loaded" in out)
    assert "RAN" not in out  # the crafted method never ran
    with pytest.raises(ImageError):
        with batos.open_image(path, read_only=read_only) as im:
            im.execute(lambda: im.evaluate(expr), note="touch", save=False)
    assert not marker.exists()


def test_verify_does_not_unpickle_a_hostile_class_record(tmp_path: Path) -> None:
    """fsrefs (``image verify``) reads class names with an unrestricted unpickler."""
    import io

    from ZODB._compat import PersistentPickler
    from ZODB.utils import get_pickle_metadata

    from batos.guardian.unpickle import harden_zodb
    marker = tmp_path / "MARKER"
    f = io.BytesIO()
    PersistentPickler(lambda obj: None, f, 3).dump(Evil(str(marker)))
    data = b"\x80\x03N0" + f.getvalue()[2:]  # not a GLOBAL first: ZODB really unpickles it
    harden_zodb()
    assert get_pickle_metadata(data) == ("", "")
    assert not marker.exists()


# --- silent data loss --------------------------------------------------------------------

def test_plain_list_inside_persistent_list_survives_reload(tmp_path: Path) -> None:
    path = tmp_path / "loss.fs"
    with batos.open_image(path) as im:
        t = im.globals["genesis"].clone()
        im.globals["t"] = t
        im.commit("t")
        im.execute(lambda: t.set_slot("items", []), note="items")
        im.execute(lambda: t.items.append([1, 2]), note="append a plain list")
        im.execute(lambda: t.items[0].append(3), note="mutate it in place")

        def fresh() -> None:  # a new persistent list holding a plain one, same statement
            t.set_slot("more", PersistentList())
            t.more.append([9])
        im.execute(fresh, note="fresh")
        im.execute(lambda: t.more[0].append(10), note="mutate")
        im.execute(lambda: t.set_slot("table", {}), note="table")
        im.execute(lambda: t.table.__setitem__("k", {"n": [1]}), note="plain dict value")
        im.execute(lambda: t.table["k"]["n"].append(2), note="mutate nested")
        assert list(t.items[0]) == [1, 2, 3]
    with batos.open_image(path, read_only=True) as im:
        t = im.globals["t"]
        assert list(t.items[0]) == [1, 2, 3]
        assert list(t.more[0]) == [9, 10]
        assert list(t.table["k"]["n"]) == [1, 2]
