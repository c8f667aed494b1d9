"""The saved prompt prefix on disk (assistant.llm.prefix_cache): what a file is keyed by, and that a
truncated, tampered, stale or half-written file is never loaded.

The round trip through a real model (same SQL restored as read, rebuilt after damage, two processes at
once) is in tests/test_prefix_cache_model.py."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import SystemMessage

from assistant.llm import prefix_cache
from assistant.llm.llamacpp import LlamaCppChat
from assistant.llm.prefix_cache import PrefixKey, UnusableState

ROOT = Path(__file__).resolve().parents[1]


def key(**changes) -> PrefixKey:
    base = PrefixKey(model_sha256="a" * 64, adapter_sha256="", prefix_sha256="b" * 64, chat_format="",
                     n_ctx=6144, n_batch=512, llama_cpp="0.3.36/abc")
    return dataclasses.replace(base, **changes)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """Saved prefixes under a temporary model folder (ABORDO_MODEL_DIR), never the user's."""
    monkeypatch.setenv("ABORDO_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("ABORDO_PREFIX_DIR", raising=False)
    return tmp_path / "models" / "prefix-cache"


def saved(path, k, ids=(1, 2, 3, 4), state=b"kv-state-bytes" * 100):
    return prefix_cache.write(path, k, list(ids), state, seed=7, build_seconds=1.5)


def test_round_trip_gives_back_the_tokens_and_the_state(cache):
    k = key()
    path = saved(prefix_cache.path_for(k), k)
    got = prefix_cache.read(path, k)
    assert got.input_ids == [1, 2, 3, 4] and got.state == b"kv-state-bytes" * 100 and got.seed == 7
    assert got.n_tokens == 4 and got.build_seconds == 1.5
    assert path.parent == cache and path.name == f"{k.digest()}.kv"
    assert [p.name for p in cache.iterdir() if p.name != ".lock"] == [path.name]     # no temporary left


@pytest.mark.parametrize("field, value", [
    ("model_sha256", "c" * 64), ("adapter_sha256", "d" * 64), ("prefix_sha256", "e" * 64),
    ("chat_format", "llama-2"), ("n_ctx", 8192), ("n_batch", 256), ("llama_cpp", "0.3.37/abc"),
    ("backend", "llama-server")])
def test_everything_that_changes_the_state_changes_the_key(cache, field, value):
    k, other = key(), key(**{field: value})
    assert other.digest() != k.digest()
    path = saved(prefix_cache.path_for(k), k)
    with pytest.raises(UnusableState, match="another model"):
        prefix_cache.read(path, other)          # a file renamed to another key is still refused


def test_a_truncated_file_is_refused(cache):
    k = key()
    path = saved(prefix_cache.path_for(k), k)
    data = path.read_bytes()
    for cut in (5, 20, len(data) - 1):
        path.write_bytes(data[:cut])
        with pytest.raises(UnusableState):
            prefix_cache.read(path, k)


def test_a_changed_byte_in_the_state_is_refused(cache):
    k = key()
    path = saved(prefix_cache.path_for(k), k)
    data = bytearray(path.read_bytes())
    data[-50] ^= 0x01
    path.write_bytes(bytes(data))
    prefix_cache.read_header(path, k)         # sizes and key still agree ...
    with pytest.raises(UnusableState, match="checksum"):
        prefix_cache.read(path, k)            # ... the payload's hash does not


def test_not_a_saved_state_is_refused(cache):
    path = cache / "x.kv"
    cache.mkdir(parents=True)
    path.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64)
    with pytest.raises(UnusableState, match="magic"):
        prefix_cache.read(path, key())
    with pytest.raises(FileNotFoundError):
        prefix_cache.read(cache / "missing.kv", key())


def test_a_crash_mid_write_leaves_the_old_file_or_none(cache, monkeypatch):
    k = key()
    path = prefix_cache.path_for(k)

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        saved(path, k)
    assert not path.exists() and not list(cache.glob(".*.partial"))
    monkeypatch.undo()
    monkeypatch.setenv("ABORDO_MODEL_DIR", str(cache.parent))
    monkeypatch.delenv("ABORDO_PREFIX_DIR", raising=False)
    saved(path, k, ids=(9, 9))
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        saved(path, k, ids=(1, 1, 1))
    assert prefix_cache.read(path, k).input_ids == [9, 9]        # the old, whole file is still there


def test_prune_keeps_the_most_recently_used(cache):
    paths = []
    for i in range(6):
        k = key(n_ctx=4096 + i)
        paths.append(saved(prefix_cache.path_for(k), k))
        os.utime(paths[-1], (time.time() - 100 + i, time.time() - 100 + i))
    removed = prefix_cache.prune(keep=3, protect=paths[0])
    assert sorted(removed) == sorted(paths[1:3])
    assert all(p.exists() for p in [paths[0], *paths[3:]])


_HOLD = """
import sys, time
from pathlib import Path
from assistant.llm import prefix_cache
with prefix_cache.exclusive(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(directory, seconds: float) -> subprocess.Popen:
    """Another process holding the folder's lock for `seconds`, returned once it holds it.

    A plain interpreter rather than multiprocessing's spawn, which re-runs whatever `__main__` an
    earlier test left behind (a Streamlit AppTest leaves the chat page's script there)."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(directory), str(seconds)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_process_waits_for_the_first(cache):
    cache.mkdir(parents=True)
    holder = _hold(cache, 1.5)
    try:
        started = time.monotonic()
        with prefix_cache.exclusive(cache):
            waited = time.monotonic() - started
        assert waited > 0.5
    finally:
        holder.wait(30)
    holder = _hold(cache, 5)
    try:
        with pytest.raises(prefix_cache.PrefixCacheError, match="held"):
            with prefix_cache.exclusive(cache, timeout=0.3):
                pass
    finally:
        holder.wait(30)


def test_the_chat_models_key_follows_the_model_file_the_prompt_and_the_context(cache, tmp_path):
    """Without loading anything: two GGUF files with different bytes, two prompts, two n_ctx."""
    one, two = tmp_path / "one.gguf", tmp_path / "two.gguf"
    one.write_bytes(b"GGUF model one")
    two.write_bytes(b"GGUF model two")
    prompt = [SystemMessage("schema A")]
    base = LlamaCppChat(model_path=str(one)).prefix_key(prompt)
    assert LlamaCppChat(model_path=str(one)).prefix_key(prompt) == base
    assert LlamaCppChat(model_path=str(two)).prefix_key(prompt).digest() != base.digest()
    assert LlamaCppChat(model_path=str(one)).prefix_key([SystemMessage("schema B")]).digest() != base.digest()
    assert LlamaCppChat(model_path=str(one), n_ctx=8192).prefix_key(prompt).digest() != base.digest()
    assert LlamaCppChat(model_path=str(one), lora_path=str(two)).prefix_key(prompt).digest() != base.digest()
    one.write_bytes(b"GGUF model one, changed")          # the same path with other bytes: another key
    assert LlamaCppChat(model_path=str(one)).prefix_key(prompt).digest() != base.digest()
