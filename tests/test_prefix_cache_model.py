"""The saved prompt prefix with the REAL model (the 0.5B, `abordo model fetch --name qwen2.5-coder-0.5b`):
restored, it gives the same SQL as the prefix read afresh; a damaged file is refused and rebuilt; two
processes starting at once leave one whole file; `abordo ask` in a new process restores it.
Each test reads the 0.5B's prefix at most twice (a minute or two each on 2 cores)."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from assistant.errors import ModelNotFound
from assistant.llm import make_chat_model, prefix_cache
from assistant.llm.llamacpp import clear_cache
from assistant.llm.models import locate
from assistant.pipeline import Assistant
from db.settings import Settings

SMALL = "qwen2.5-coder-0.5b"
QUESTIONS = ["¿Cuántos vuelos salen hoy de MEX?", "How many passengers are in the gold loyalty tier?",
             "¿Cuántas maletas se registraron en el vuelo XA401?"]

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def small_settings(small_demo_db, tmp_path_factory) -> Settings:
    try:
        locate(SMALL)
    except ModelNotFound as exc:
        pytest.fail(f"{exc} (these tests need the real 0.5B GGUF)")
    # One prefix (the tables path alone): these tests are about the saved state, one file per prefix.
    return Settings(database_url=f"sqlite:///{small_demo_db}", model=SMALL, n_ctx=4096, query_path="tables")


@pytest.fixture
def own_dir(tmp_path, monkeypatch):
    """A prefix folder of this test's own (ABORDO_PREFIX_DIR), empty at the start."""
    monkeypatch.setenv("ABORDO_PREFIX_DIR", str(tmp_path / "prefix"))
    return tmp_path / "prefix"


def answers(settings: Settings, cache: str) -> tuple[dict, list, list]:
    """A new model load (as a new process has), the prefix made ready, then the questions."""
    clear_cache()
    assistant = Assistant(settings.replace(prefix_cache=cache),
                          chat_model=make_chat_model(settings.replace(prefix_cache=cache)))
    done = assistant.warm()
    got = [assistant.ask(q) for q in QUESTIONS]
    return done, [(a.sql, a.error) for a in got], [a.new_prompt_tokens for a in got]


def test_restored_prefix_gives_the_same_sql_as_the_prefix_read_afresh(small_settings, own_dir):
    saved, saved_sql, _ = answers(small_settings, "on")         # read afresh (then saved)
    assert saved["prefix_state"] == "saved" and saved["kept_tokens"] > 1000
    restored, restored_sql, new_tokens = answers(small_settings, "on")
    print("read:", saved, "\nrestored:", restored, "\nsql:", restored_sql, "\nnew prompt tokens:", new_tokens)
    assert restored["prefix_state"] == "restored" and restored["kept_tokens"] == saved["kept_tokens"]
    assert restored_sql == saved_sql
    assert any(sql for sql, _ in restored_sql)
    assert new_tokens[0] < 600, "the first question after a restore reads only its own tokens"
    assert len(list(own_dir.glob("*.kv"))) == 1

    # A damaged file is refused, deleted and rebuilt: the next start reads the prefix again and saves it.
    path = next(own_dir.glob("*.kv"))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    rebuilt, rebuilt_sql, _ = answers(small_settings, "on")
    assert rebuilt["prefix_state"] == "saved"
    assert rebuilt_sql == saved_sql
    assert prefix_cache.read(path, _key_of(small_settings)).n_tokens == saved["kept_tokens"]


def _key_of(settings: Settings) -> prefix_cache.PrefixKey:
    assistant = Assistant(settings, chat_model=make_chat_model(settings))
    return assistant.chat.prefix_key(assistant.prefix_messages())


@pytest.mark.parametrize("damage", ["truncate", "flip", "stale"])
def test_a_damaged_saved_prefix_is_refused_deleted_and_said(own_dir, caplog, damage):
    """Without the model: each damage is refused before llama.cpp sees a byte, with one line saying so,
    and the file is deleted (the caller then reads the prefix and saves it, as the test above shows)."""
    import dataclasses

    from assistant.llm.llamacpp import LlamaCppChat

    key = prefix_cache.PrefixKey(model_sha256="a" * 64, adapter_sha256="", prefix_sha256="b" * 64, chat_format="",
                                 n_ctx=4096, n_batch=512, llama_cpp="x")
    path = prefix_cache.write(prefix_cache.path_for(key), key, list(range(100)), bytes(range(256)) * 400)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[:-1000]))
    elif damage == "flip":
        data[-500] ^= 0x01
        path.write_bytes(bytes(data))
    else:
        key = dataclasses.replace(key, llama_cpp="y")     # a llama.cpp upgrade, the file renamed to match
        path = path.rename(prefix_cache.path_for(key))
    with caplog.at_level(logging.WARNING, logger="abordo.model"):
        assert LlamaCppChat._read_saved(key, path) is None       # refused before the model sees it
    assert not path.exists()
    assert [r.getMessage() for r in caplog.records if "ignored and rebuilt" in r.getMessage()]


def test_two_processes_at_once_leave_one_whole_file_and_a_new_ask_restores_it(small_settings, own_dir):
    env = {**os.environ, "ABORDO_DATABASE_URL": small_settings.database_url, "ABORDO_MODEL": SMALL,
           "ABORDO_N_CTX": "4096", "ABORDO_PREFIX_DIR": str(own_dir), "ABORDO_QUERY_PATH": "tables"}
    warm = [sys.executable, "-m", "abordo", "model", "warm"]
    procs = [subprocess.Popen(warm, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    said = sorted(out.split(":")[1].split("(")[0].strip() for out, _ in outs)
    assert said == ["restored", "saved"], outs          # one read it, the other waited and loaded that file
    files = list(own_dir.glob("*.kv"))
    assert len(files) == 1 and not list(own_dir.glob(".*.partial"))

    info = subprocess.run([sys.executable, "-m", "abordo", "model", "info"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert "prefix state: saved" in info.stdout and str(files[0]) in info.stdout, info.stdout

    ask = subprocess.run([sys.executable, "-m", "abordo", "ask", "--json", QUESTIONS[0]], env=env,
                         capture_output=True, text=True, timeout=600)
    assert ask.returncode == 0, ask.stderr
    assert "reading the prompt prefix" not in ask.stderr
    answer = json.loads(ask.stdout.strip().splitlines()[-1])
    assert answer["new_prompt_tokens"] < 600 and answer["cache_hit"], answer
