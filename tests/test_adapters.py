"""Adapter verification before llama.cpp loads one: hash against the manifest, base model, fallback."""
from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from abordo.cli import main
from assistant.llm.adapters import (
    AdapterRefused,
    configured_adapter,
    manifest_path,
    resolve_adapter,
    shipped_adapter,
)
from assistant.llm.models import KNOWN_MODELS

BASE = KNOWN_MODELS["qwen2.5-coder-0.5b"]


def _adapter(tmp_path, body: bytes = b"GGUF fake adapter bytes", **manifest):
    path = tmp_path / "a.gguf"
    path.write_bytes(body)
    data = {"format": "abordo-lora-adapter/1", "adapter_sha256": hashlib.sha256(body).hexdigest(),
            "base_model": BASE.name, "base_sha256": BASE.sha256, "prompt": "taught-v1",
            "data_counts": {"pairs": 3}, **manifest}
    manifest_path(path).write_text(json.dumps(data))
    return path


def test_a_matching_adapter_is_accepted(tmp_path):
    path = _adapter(tmp_path)
    adapter = resolve_adapter(str(path), BASE.name, BASE.sha256)
    assert adapter is not None and adapter.path == path and adapter.prompt == "taught-v1"


def test_a_tampered_adapter_is_refused(tmp_path):
    path = _adapter(tmp_path)
    path.write_bytes(b"GGUF fake adapter bytes, changed")
    with pytest.raises(AdapterRefused, match="does not match its manifest"):
        resolve_adapter(str(path), BASE.name, BASE.sha256)


def test_an_adapter_for_another_base_is_refused(tmp_path):
    path = _adapter(tmp_path, base_model="qwen2.5-coder-1.5b", base_sha256=KNOWN_MODELS["qwen2.5-coder-1.5b"].sha256)
    with pytest.raises(AdapterRefused, match="trained on another base model"):
        resolve_adapter(str(path), BASE.name, BASE.sha256)


def test_an_adapter_without_manifest_or_with_an_unknown_prompt_is_refused(tmp_path):
    path = _adapter(tmp_path, prompt="something-else")
    with pytest.raises(AdapterRefused, match="prompt"):
        resolve_adapter(str(path), BASE.name, BASE.sha256)
    manifest_path(path).unlink()
    with pytest.raises(AdapterRefused, match="no manifest"):
        resolve_adapter(str(path), BASE.name, BASE.sha256)


def test_a_missing_adapter_falls_back_with_one_line(tmp_path, capsys):
    assert resolve_adapter(str(tmp_path / "nope.gguf"), BASE.name, BASE.sha256) is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not found: answering with the base model" in err[0]
    assert resolve_adapter("none", BASE.name, BASE.sha256) is None
    assert resolve_adapter("", BASE.name, BASE.sha256) is None
    assert capsys.readouterr().err == ""


def test_demo_names_the_shipped_adapter_of_the_configured_model():
    assert shipped_adapter("qwen2.5-coder-0.5b").name == "abordo-demo-qwen2.5-coder-0.5b.gguf"
    shipped = shipped_adapter("qwen2.5-coder-0.5b")
    if shipped.is_file():           # the shipped one must verify against its own manifest and base
        adapter = resolve_adapter("demo", "qwen2.5-coder-0.5b", BASE.sha256)
        assert adapter is not None and adapter.manifest["base_sha256"] == BASE.sha256


def test_no_adapter_for_an_endpoint(monkeypatch):
    from db.settings import load_settings

    settings = load_settings(env={"ABORDO_OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "ABORDO_ADAPTER": "demo"})
    assert configured_adapter(settings) is None


def test_model_info_shows_the_adapter(tmp_path, monkeypatch):
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    (model_dir / BASE.filename).write_bytes(b"x")
    monkeypatch.setenv("ABORDO_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("ABORDO_MODEL", BASE.name)
    path = _adapter(tmp_path)
    monkeypatch.setenv("ABORDO_ADAPTER", str(path))
    out = CliRunner().invoke(main, ["model", "info"])
    assert out.exit_code == 0, out.output
    assert "adapter: " in out.output and "sha256 verified against its manifest" in out.output
    path.write_bytes(b"tampered")
    out = CliRunner().invoke(main, ["model", "info"])
    assert "adapter: REFUSED" in out.output


def test_a_taught_model_gets_the_one_line_prompt(small_demo_db, tmp_path):
    """The assistant sends the prompt the adapter was trained with, built by the same function."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from assistant import prompts
    from assistant.pipeline import Assistant
    from db.catalog import load_catalog
    from db.settings import load_settings

    class Taught(FakeListChatModel):
        prompt_style: str = "taught-v1"

    url = f"sqlite:///{small_demo_db}"
    settings = load_settings(env={"ABORDO_DATABASE_URL": url, "ABORDO_APP_URL": f"sqlite:///{tmp_path / 'app.sqlite'}"})
    taught = Assistant(settings, chat_model=Taught(responses=["SELECT COUNT(*) FROM airports"]), role="supervisor")
    assert taught.system_prompt == prompts.taught_prefix(load_catalog(), "sqlite")
    ans = taught.ask("¿cuántos aeropuertos hay?")
    assert ans.error is None and ans.sql_generated == "SELECT COUNT(*) FROM airports"
    assert ans.rows.iloc[0, 0] == 41
    plain = Assistant(settings, chat_model=FakeListChatModel(responses=["SELECT 1"]), role="supervisor")
    assert "CREATE TABLE" in plain.system_prompt


@pytest.mark.model
@pytest.mark.slow
def test_the_shipped_adapter_answers_through_the_assistant(seeded_demo, tmp_path, monkeypatch):
    """The demo adapter on the real 0.5B model, loaded by llama.cpp after verification, end to end."""
    from assistant.llm.models import locate
    from assistant.pipeline import Assistant
    from db.settings import load_settings

    shipped = shipped_adapter("qwen2.5-coder-0.5b")
    assert shipped.is_file(), f"the demo adapter is expected at {shipped}"
    try:
        locate("qwen2.5-coder-0.5b")
    except Exception as exc:  # noqa: BLE001 - a dev machine without the fetched model
        pytest.skip(f"{exc}")
    url = f"sqlite:///{seeded_demo(5000)}"                 # the demo as `abordo seed` makes it
    settings = load_settings(env={"ABORDO_DATABASE_URL": url, "ABORDO_APP_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
                                  "ABORDO_MODEL": "qwen2.5-coder-0.5b", "ABORDO_ADAPTER": "demo"})
    assistant = Assistant(settings, role="supervisor")
    assert assistant.taught and "+abordo-demo-qwen2.5-coder-0.5b.gguf" in assistant.model_name
    ans = assistant.ask("¿cuántos aeropuertos hay?")
    assert ans.error is None, ans.error
    assert ans.rows.iloc[0, 0] == 41, ans.sql_generated
    assert ans.new_prompt_tokens < 200            # no schema prefix: the one-line prompt and the question
