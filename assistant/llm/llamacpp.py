"""In-process llama.cpp as a LangChain chat model, built for prefix-cache reuse on 2 CPU cores.

Why not langchain-community's ChatLlamaCpp: that package is being sunset, and its defaults
(n_batch=8, n_ctx=512) make prompt processing many times slower. Here:

* the `Llama` object is loaded ONCE per process (cache keyed by path + parameters) and guarded by a
  lock, because a Llama object is not thread-safe and loading costs seconds;
* calls go through `create_chat_completion`, so the GGUF's chat template (or `chat_format`, e.g.
  'llama-2') formats the messages and the same static system prompt always yields the same leading
  tokens; llama-cpp-python then keeps the longest common prefix with the previous call in the KV
  cache and evaluates only the rest;
* every call reports how much of the prompt was actually evaluated (`new_prompt_tokens`),
  whether the prefix cache was hit (`cache_hit`) and timings, in `response_metadata` and
  `usage_metadata`, so callers and benchmarks can see the cache working.

Measurement: `Llama.generate` calls `self.eval(prompt_suffix)` once for the prompt (after trimming
the reused prefix, `self.n_tokens` equals the reused length at that moment), then `eval([token])`
per generated token. A per-instance wrapper around `eval` records exactly that.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.errors import AssistantError, ModelNotFound
from assistant.llm import prefix_cache

log = logging.getLogger("abordo.model")

N_BATCH = 512
MIN_CTX = 4096
# A reused prefix this short is only the chat template's opening ("<|im_start|>system\n", "[INST] <<SYS>>"),
# shared by any two prompts: not a cache hit worth the name. `reused_prompt_tokens` has the raw number.
MIN_HIT_TOKENS = 16
MAX_SNAPSHOTS = 4


class ModelLoadError(AssistantError):
    """llama.cpp could not load the GGUF (corrupt file, unsupported architecture, out of memory)."""


class PromptTooLong(AssistantError):
    """The prompt plus max_tokens does not fit the context window."""


def _too_long(exc: ValueError, n_ctx: int) -> PromptTooLong:
    return PromptTooLong(f"the prompt does not fit the model's context ({exc}): shorten it or raise the "
                         f"n_ctx setting (ABORDO_N_CTX, now {n_ctx})")


@dataclass
class _CallStats:
    """What one completion cost; filled in by the `eval` wrapper."""

    started: float = field(default_factory=time.perf_counter)
    reused_tokens: int | None = None
    new_prompt_tokens: int = 0
    prompt_done: float | None = None
    generated_evals: int = 0
    restored_snapshot: bool = False


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def set_state(llm: Any, state: Any) -> None:
    """Put a saved KV state (`LlamaState`) into `llm`: what `Llama.load_state` does, less its copies.

    Why not `load_state`: it also writes its score matrix (n_batch x vocab floats, 311 MB for Qwen, which
    sampling never reads without logits_all) and copies the state bytes once more before llama.cpp copies
    them into the KV cache; in a new process those first writes fault in ~400 MB and cost 0.5-0.8 s of a
    one-shot `abordo ask` (measured on 2 cores: putting the first state in took 0.83 s with `load_state`,
    0.01 s with this; reading and checking the file, 0.2 s, is apart). A writable buffer (the `bytearray` `prefix_cache.read` fills) is handed over as it is.
    Falls back to `load_state` on a llama-cpp-python without the fields this relies on."""
    import ctypes

    import llama_cpp
    import numpy as np

    ctx = getattr(getattr(llm, "_ctx", None), "ctx", None)
    if ctx is None or getattr(llm, "_logits_all", True) or not hasattr(llm, "_requires_eval"):
        llm.load_state(state)
        return
    size = int(state.llama_state_size)
    data = state.llama_state
    array_type = ctypes.c_uint8 * size
    buffer = array_type.from_buffer(data) if isinstance(data, bytearray) else array_type.from_buffer_copy(data)
    if llama_cpp.llama_state_set_data(ctx, buffer, size) != size:
        raise RuntimeError("llama.cpp did not take the saved state (another model or context size?)")
    del buffer                               # releases the bytearray's export
    llm.input_ids = np.array(state.input_ids, dtype=np.intc, copy=True)
    llm.n_tokens = int(state.n_tokens)
    llm._requires_eval = True                # as load_state: the next call evaluates before sampling
    llm._seed = state.seed


class LoadedLlama:
    """One loaded `Llama`, its generation lock and the instrumentation of its `eval`."""

    def __init__(self, llm: Any, load_seconds: float):
        self.llm = llm
        self.load_seconds = load_seconds
        self.lock = threading.RLock()
        self._stats: _CallStats | None = None
        original_eval = llm.eval

        def eval_and_record(tokens: Sequence[int]):
            stats = self._stats
            if stats is not None and stats.reused_tokens is None:
                stats.reused_tokens = int(llm.n_tokens)
                stats.new_prompt_tokens = len(tokens)
                result = original_eval(tokens)
                stats.prompt_done = time.perf_counter()
                return result
            if stats is not None:
                stats.generated_evals += 1
            return original_eval(tokens)

        llm.eval = eval_and_record  # shadows the method for this instance; generate() calls self.eval

        # Saved KV states of warmed prefixes: restored when a prompt shares more with one of them than
        # with whatever is in the KV cache now (another system prompt ran in between).
        self.snapshots: list[tuple[list[int], Any]] = []
        self.known: dict[str, list[int]] = {}     # prefix_cache digest -> the tokens of its snapshot
        original_generate = llm.generate

        def generate_with_snapshots(tokens: Sequence[int], *args, **kwargs):
            if self.snapshots:
                self._restore_best(list(tokens))
            return original_generate(tokens, *args, **kwargs)

        llm.generate = generate_with_snapshots

    def snapshot(self) -> Any:
        """Keep the current KV state (call with `lock` held, right after evaluating a static prefix).

        Returns the state kept (a `LlamaState`; `input_ids` are its tokens). At most MAX_SNAPSHOTS are
        kept (least recently used dropped). The copy of llama-cpp-python's score matrix (n_batch x vocab
        floats, ~300 MB for Qwen) is replaced by one zero row: with logits_all=False sampling never
        reads it, and load_state broadcasts the row.
        """
        import numpy as np

        llm = self.llm
        state = llm.save_state()
        state.scores = np.zeros((1, llm.n_vocab()), dtype=np.single)
        self._keep(llm._input_ids.tolist(), state)
        return state

    def kept(self, digest: str) -> int:
        """Tokens of the prefix filed under `digest` when its state is still among the snapshots, else 0."""
        tokens = self.known.get(digest)
        return len(tokens) if tokens and any(p == tokens for p, _ in self.snapshots) else 0

    def _keep(self, prefix: list[int], state: Any) -> None:
        self.snapshots = [(p, st) for p, st in self.snapshots if p != prefix][-(MAX_SNAPSHOTS - 1):]
        self.snapshots.append((prefix, state))

    def adopt(self, saved) -> None:
        """Load a prefix state saved by another process (`prefix_cache.SavedPrefix`) into the KV cache
        and keep it as a snapshot, as if this process had just evaluated it (call with `lock` held).
        Raises RuntimeError when llama.cpp refuses the bytes."""
        import numpy as np
        from llama_cpp.llama import LlamaState

        llm = self.llm
        if saved.n_tokens >= llm.n_ctx():
            raise ValueError(f"the saved prefix has {saved.n_tokens} tokens, more than this context holds")
        ids = np.zeros(llm.n_ctx(), dtype=np.intc)      # llama-cpp-python keeps one buffer of n_ctx token ids
        ids[:saved.n_tokens] = saved.input_ids
        state = LlamaState(input_ids=ids,
                           scores=np.zeros((1, llm.n_vocab()), dtype=np.single), n_tokens=saved.n_tokens,
                           llama_state=saved.state, llama_state_size=len(saved.state), seed=saved.seed)
        try:
            set_state(llm, state)
        except Exception:
            llm.reset()                      # nothing half-loaded stays in the KV cache
            with contextlib.suppress(Exception):
                llm._ctx.kv_cache_clear()
            raise
        self._keep(list(saved.input_ids), state)

    def _restore_best(self, tokens: list[int]) -> None:
        current = _common_prefix(self.llm._input_ids.tolist(), tokens)
        best, best_len = None, current + MIN_HIT_TOKENS
        for index, (prefix, _state) in enumerate(self.snapshots):
            n = _common_prefix(prefix, tokens)
            if n > best_len:
                best, best_len = index, n
        if best is not None:
            prefix, state = self.snapshots.pop(best)
            self.snapshots.append((prefix, state))  # most recently used last
            set_state(self.llm, state)
            if self._stats is not None:
                self._stats.restored_snapshot = True

    def begin(self) -> _CallStats:
        self._stats = _CallStats()
        return self._stats

    def end(self) -> None:
        self._stats = None


_CACHE: dict[tuple, LoadedLlama] = {}
_CACHE_LOCK = threading.Lock()


def _cache_key(model_path: str | Path, n_ctx: int, n_threads: int, chat_format: str | None,
               lora_path: str | None) -> tuple:
    """What one loaded model is cached under (and `_load`'s arguments): resolved paths, n_ctx at least MIN_CTX."""
    return (str(Path(model_path).resolve()), max(MIN_CTX, int(n_ctx)), int(n_threads), chat_format or None,
            str(Path(lora_path).resolve()) if lora_path else None)


def load_llama(model_path: str | Path, n_ctx: int = MIN_CTX, n_threads: int = 2,
               chat_format: str | None = None, lora_path: str | None = None) -> LoadedLlama:
    """The process-wide `Llama` for these parameters, loaded on first use (thread-safe).

    `lora_path` is a GGUF LoRA adapter llama.cpp applies on top of the (quantised) base at load time;
    the caller has verified it (`assistant.llm.adapters`)."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelNotFound(f"model file {path} does not exist: set ABORDO_MODEL to an existing .gguf file "
                            "or run 'abordo model fetch'")
    key = _cache_key(path, n_ctx, n_threads, chat_format, lora_path)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is None:
            loaded = _CACHE[key] = _load(*key)
        return loaded


def _load(path: str, n_ctx: int, n_threads: int, chat_format: str | None, lora_path: str | None) -> LoadedLlama:
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise AssistantError(f"llama-cpp-python is not installed ({exc}): run 'make env' or "
                             "'pip install llama-cpp-python' with the portable CMAKE_ARGS") from None
    started = time.perf_counter()
    try:
        llm = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
                    n_batch=N_BATCH, n_ubatch=N_BATCH, verbose=False, chat_format=chat_format,
                    **({"lora_path": lora_path} if lora_path else {}))
    except ValueError as exc:
        if lora_path:
            raise ModelLoadError(f"llama.cpp could not load {path} with the adapter {lora_path}: {exc}; check that "
                                 "the adapter was trained for this base model") from None
        raise ModelLoadError(f"llama.cpp could not load {path}: {exc}; check that it is a GGUF file "
                             "(and that chat_format is a llama.cpp chat format name)") from None
    return LoadedLlama(llm, time.perf_counter() - started)


def unload_llama(model_path: str | Path, n_ctx: int = MIN_CTX, n_threads: int = 2,
                 chat_format: str | None = None, lora_path: str | None = None) -> None:
    """Drop one loaded model from the process cache (memory is freed when nothing else refers to it)."""
    key = _cache_key(model_path, n_ctx, n_threads, chat_format, lora_path)
    with _CACHE_LOCK:
        _CACHE.pop(key, None)


def clear_cache() -> None:
    """Forget loaded models (frees their memory once no chat model refers to them)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def to_llama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages -> OpenAI-style dicts for `create_chat_completion`."""
    out = []
    for m in messages:
        if isinstance(m, SystemMessage):
            role = "system"
        elif isinstance(m, HumanMessage):
            role = "user"
        elif isinstance(m, AIMessage):
            role = "assistant"
        elif isinstance(m, ToolMessage):
            role = "tool"
        elif isinstance(m, ChatMessage):
            role = m.role
        else:
            role = "user"
        content = m.content if isinstance(m.content, str) else "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in m.content)
        out.append({"role": role, "content": content})
    return out


class LlamaCppChat(BaseChatModel):
    """Chat model over an in-process llama.cpp GGUF (temperature 0 unless told otherwise).

    `cache_hit` is True when more than MIN_HIT_TOKENS prompt tokens were reused from the KV cache (the
    template's first few tokens match any previous prompt, which is not a hit worth reporting).

    Per-call metadata (both `invoke` and the last chunk of `stream`):
    ``msg.response_metadata["prompt_tokens" | "completion_tokens" | "new_prompt_tokens" |
    "reused_prompt_tokens" | "cache_hit" | "restored_snapshot" | "load_seconds" | "prompt_seconds" | "generation_seconds" |
    "total_seconds" | "finish_reason"]`` and ``msg.usage_metadata`` with
    ``input_token_details.cache_read`` = reused prefix tokens.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    model_name: str = ""
    chat_format: str | None = None
    n_ctx: int = MIN_CTX
    n_threads: int = 2
    temperature: float = 0.0
    max_tokens: int | None = 256
    stop: list[str] | None = None
    seed: int = 0
    lora_path: str | None = None      # a verified GGUF LoRA adapter (assistant.llm.adapters)
    prompt_style: str = ""            # the prompt the adapter was trained with ('' = the base prompt)
    persist_prefix: bool = True       # warm() saves/restores the prefix state on disk (prefix_cache)
    extra_params: dict[str, Any] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-abordo"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "chat_format": self.chat_format, "n_ctx": self.n_ctx,
                "n_threads": self.n_threads, "temperature": self.temperature, "max_tokens": self.max_tokens,
                "lora_path": self.lora_path}

    # ------------------------------------------------------------ plumbing

    def loaded(self) -> LoadedLlama:
        return load_llama(self.model_path, self.n_ctx, self.n_threads, self.chat_format or None, self.lora_path)

    def unload(self) -> None:
        """Free this model's process-wide Llama (the next call loads it again)."""
        unload_llama(self.model_path, self.n_ctx, self.n_threads, self.chat_format or None, self.lora_path)

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens,
                                  "seed": self.seed, **self.extra_params}
        stops = list(self.stop or []) + list(stop or []) + list(kwargs.pop("stop", None) or [])
        for name in ("temperature", "max_tokens", "top_p", "top_k", "repeat_penalty", "seed", "grammar",
                     "response_format", "min_p"):
            if name in kwargs:
                params[name] = kwargs.pop(name)
        if stops:
            params["stop"] = stops
        return params

    @staticmethod
    def _metadata(loaded: LoadedLlama, stats: _CallStats, prompt_tokens: int, completion_tokens: int,
                  finish_reason: str | None, model_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
        end = time.perf_counter()
        reused = stats.reused_tokens or 0
        prompt_done = stats.prompt_done or end
        response = {
            "model_name": model_name,
            "finish_reason": finish_reason,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "new_prompt_tokens": stats.new_prompt_tokens,
            "reused_prompt_tokens": reused,
            "cache_hit": reused > MIN_HIT_TOKENS,
            "restored_snapshot": stats.restored_snapshot,
            "load_seconds": round(loaded.load_seconds, 3),
            "prompt_seconds": round(prompt_done - stats.started, 3),
            "generation_seconds": round(end - prompt_done, 3),
            "total_seconds": round(end - stats.started, 3),
        }
        usage = {
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "input_token_details": {"cache_read": reused},
        }
        return response, usage

    @contextmanager
    def _completion(self, loaded: LoadedLlama) -> Iterator[_CallStats]:
        """One completion on `loaded`: its lock held and its stats recorded for the whole `with` block, and
        llama.cpp's "exceeds context window" ValueError raised as PromptTooLong (any other error as it is)."""
        with loaded.lock:
            stats = loaded.begin()
            try:
                yield stats
            except ValueError as exc:
                if "context window" not in str(exc):
                    raise
                raise _too_long(exc, max(MIN_CTX, self.n_ctx)) from None
            finally:
                loaded.end()

    # ------------------------------------------------------------ LangChain interface

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        loaded = self.loaded()
        params = self._params(stop, kwargs)
        with self._completion(loaded) as stats:
            result = loaded.llm.create_chat_completion(messages=to_llama_messages(messages), **params)
        choice = result["choices"][0]
        text = choice["message"].get("content") or ""
        usage = result.get("usage") or {}
        response, usage_md = self._metadata(loaded, stats, usage.get("prompt_tokens", 0),
                                            usage.get("completion_tokens", 0), choice.get("finish_reason"),
                                            self.model_name or Path(self.model_path).name)
        message = AIMessage(content=text, response_metadata=response, usage_metadata=usage_md)
        return ChatResult(generations=[ChatGeneration(message=message)], llm_output=response)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
                ) -> Iterator[ChatGenerationChunk]:
        loaded = self.loaded()
        params = self._params(stop, kwargs)
        pieces: list[str] = []
        finish_reason = None
        # The lock is held for the whole stream: the KV cache belongs to this call until it ends.
        with self._completion(loaded) as stats:
            for chunk in loaded.llm.create_chat_completion(messages=to_llama_messages(messages),
                                                           stream=True, **params):
                choice = chunk["choices"][0]
                finish_reason = choice.get("finish_reason") or finish_reason
                text = choice.get("delta", {}).get("content") or ""
                if not text:
                    continue
                pieces.append(text)
                gen_chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=gen_chunk)
                yield gen_chunk
            prompt_tokens = (stats.reused_tokens or 0) + stats.new_prompt_tokens
            text_all = "".join(pieces)
            completion_tokens = len(loaded.llm.tokenize(text_all.encode(), add_bos=False, special=False)) \
                if text_all else 0
        response, usage_md = self._metadata(loaded, stats, prompt_tokens, completion_tokens, finish_reason,
                                            self.model_name or Path(self.model_path).name)
        yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=response,
                                                         usage_metadata=usage_md, chunk_position="last"))

    # ------------------------------------------------------------ cache helpers

    def warm(self, messages: Sequence[BaseMessage], keep: bool = True, persist: bool | None = None) -> dict[str, Any]:
        """Evaluate a static prefix (typically the system prompt) now, so the first question is fast.

        Runs a one-token completion over `messages`; later calls whose formatted prompt starts with
        the same tokens reuse that KV cache. With `keep`, the KV state is also saved (a few tens of MB)
        and restored automatically when a later prompt shares this prefix but another prompt ran in
        between (llama.cpp's own reuse only looks at the previous call).

        With `persist` (default: the `persist_prefix` field), the state is also kept on disk
        (`prefix_cache`): a saved state for exactly this model, adapter, prompt and build is loaded
        instead of evaluating (a fraction of a second against minutes); otherwise the prefix is
        evaluated and saved for the next process. Returns the call's metadata (new_prompt_tokens,
        timings, `kept_tokens`, and `prefix_state`: "restored", "saved", "memory" or "off").
        """
        persist = self.persist_prefix if persist is None else persist
        if not (keep and persist):
            loaded = self.loaded()
            with loaded.lock:
                return self._evaluate_prefix(loaded, messages, keep)[0] | {"prefix_state": "memory" if keep else "off"}
        self.preload()              # the weights load while this thread hashes the prompt and reads its state
        key = self.prefix_key(messages)
        current = self._loaded_if_ready()
        if current is not None and current.kept(key.digest()):
            return self._ready(current, key)
        path = prefix_cache.path_for(key)
        meta = None
        loaded = None
        try:
            with prefix_cache.exclusive():
                started = time.perf_counter()
                saved = self._read_saved(key, path)
                read_seconds = time.perf_counter() - started
                loaded = self.loaded()          # waits for a load still in progress
                with loaded.lock:
                    if loaded.kept(key.digest()):             # another thread of this process got there first
                        return self._ready(loaded, key)
                    restored = self._restore_prefix(loaded, key, saved, read_seconds) if saved is not None else None
                    if restored is not None:
                        return restored
                    meta, state = self._evaluate_prefix(loaded, messages, keep)
                    prefix_cache.write(path, key, [int(t) for t in state.input_ids[:state.n_tokens]], state.llama_state,
                                       seed=state.seed, build_seconds=meta.get("total_seconds", 0.0))
                    prefix_cache.prune(protect=path)
                    loaded.known[key.digest()] = [int(t) for t in state.input_ids[:state.n_tokens]]
        except (OSError, prefix_cache.PrefixCacheError) as exc:
            # A read-only or full disk costs the next process a minute, never this answer.
            log.warning("prompt prefix not saved (%s): the next process reads it again", exc)
            if meta is None:
                loaded = loaded or self.loaded()
                with loaded.lock:
                    meta, _ = self._evaluate_prefix(loaded, messages, keep)
            return meta | {"prefix_state": "memory"}
        return meta | {"prefix_state": "saved", "prefix_file": str(path)}

    @staticmethod
    def _ready(loaded: LoadedLlama, key) -> dict[str, Any]:
        """What `warm` says of a prefix already among the loaded model's snapshots."""
        return {"prefix_state": "ready", "kept_tokens": loaded.kept(key.digest()), "new_prompt_tokens": 0,
                "total_seconds": 0.0}

    def preload(self) -> None:
        """Start loading the model in a background thread when it is not loaded yet, and return.

        Why: loading reads and repacks ~600 MB of weights (1-1.5 s on 2 cores) in llama.cpp, with the GIL
        released, while a new process still has the prompt prefix to build and its saved state to read
        (0.5-0.7 s); overlapping them is that much off a one-shot `abordo ask`. The first `loaded()` waits
        for the load (it holds the cache's lock); a failure here is left for that call to raise."""
        if self._loaded_if_ready() is not None or not Path(self.model_path).is_file():
            return

        def load() -> None:
            with contextlib.suppress(Exception):
                self.loaded()

        threading.Thread(target=load, name="abordo-model-load", daemon=True).start()

    def _loaded_if_ready(self) -> LoadedLlama | None:
        """This model when it is loaded already, else None (without waiting for a load in progress)."""
        return _CACHE.get(_cache_key(self.model_path, self.n_ctx, self.n_threads, self.chat_format or None,
                                     self.lora_path))

    def prefix_key(self, messages: Sequence[BaseMessage]) -> prefix_cache.PrefixKey:
        """What a saved state of `messages` is filed under (hashes the model once per file version)."""
        return prefix_cache.PrefixKey(
            model_sha256=prefix_cache.file_sha256(self.model_path),
            adapter_sha256=prefix_cache.file_sha256(self.lora_path) if self.lora_path else "",
            prefix_sha256=prefix_cache.text_sha256(*(f"{m['role']}\n{m['content']}" for m in to_llama_messages(messages))),
            chat_format=self.chat_format or "", n_ctx=max(MIN_CTX, int(self.n_ctx)), n_batch=N_BATCH,
            llama_cpp=prefix_cache.llama_cpp_build())

    def _evaluate_prefix(self, loaded: LoadedLlama, messages: Sequence[BaseMessage], keep: bool
                         ) -> tuple[dict[str, Any], Any]:
        """Read `messages` now: the call's metadata, and the state kept as a snapshot (None without `keep`)."""
        result = self._generate(list(messages), max_tokens=1)
        meta = dict(result.generations[0].message.response_metadata)
        state = loaded.snapshot() if keep else None
        if state is not None:
            meta["kept_tokens"] = state.n_tokens
        return meta, state

    @staticmethod
    def _read_saved(key, path) -> prefix_cache.SavedPrefix | None:
        """The saved state at `path`, verified; None when there is none or it is unusable (then it is
        deleted, with one line saying why, and the caller evaluates and saves it again)."""
        try:
            return prefix_cache.read(path, key)
        except FileNotFoundError:
            return None
        except prefix_cache.UnusableState as exc:
            log.warning("saved prompt prefix %s ignored and rebuilt: %s", path.name, exc)
            prefix_cache.discard(path)
            return None

    @staticmethod
    def _restore_prefix(loaded: LoadedLlama, key, saved, read_seconds: float) -> dict[str, Any] | None:
        """`saved` loaded into `loaded`, or None when llama.cpp refuses it (deleted and said, as above).
        `restore_seconds` is reading the file and putting it in, not waiting for the model to load."""
        started = time.perf_counter()
        try:
            loaded.adopt(saved)
        except (RuntimeError, ValueError) as exc:
            log.warning("saved prompt prefix %s ignored and rebuilt: %s", saved.path.name, exc)
            prefix_cache.discard(saved.path)
            return None
        prefix_cache.touch(saved.path)
        loaded.known[key.digest()] = list(saved.input_ids)
        seconds = read_seconds + time.perf_counter() - started
        return {"prefix_state": "restored", "prefix_file": str(saved.path), "kept_tokens": saved.n_tokens,
                "new_prompt_tokens": 0, "load_seconds": round(loaded.load_seconds, 3),
                "restore_seconds": round(seconds, 3), "total_seconds": round(seconds, 3)}

    def count_tokens(self, messages: Sequence[BaseMessage]) -> int:
        """Rough token count of the messages' text with this model's tokenizer (no template)."""
        llm = self.loaded().llm
        return sum(len(llm.tokenize(m["content"].encode(), add_bos=False, special=False))
                   for m in to_llama_messages(messages))
