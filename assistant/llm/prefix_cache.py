"""The evaluated prompt prefix, kept on disk: read once per machine, restored by every process after.

Why: the static prefix (the catalog's schema, dialect and rules, ~3,250 tokens) is the same for every
question, and reading it costs ~70 s on 2 cores, in every new process (`abordo ask`, a restarted UI or
API). Its evaluated state (llama.cpp's KV cache, ~28 KB a token for the 1.5B in f16) restores in well
under a second.

A saved state is only valid for exactly what produced it, so its file name is the digest of a
`PrefixKey`: the model file's and the adapter's SHA-256, the exact prefix text's, the chat format,
n_ctx, n_batch and llama.cpp's version and build. Anything else is a different file.

File layout (`.kv`): MAGIC | header length (u32, little-endian) | header JSON | payload, where the
payload is the prefix's token ids (int32, little-endian) followed by llama.cpp's state bytes, and the
header carries the key, the sizes and the payload's SHA-256. Reading checks all of it: a truncated,
tampered or stale file raises `UnusableState` (the caller says so in one line, deletes it and builds
it again). Writing goes to a temporary file in the same folder, fsync'ed and renamed over the final
name, so a crash mid-write leaves no half-file under a name a later start would load; one lock per
folder makes a second process starting at the same moment wait for the first and load its file
instead of evaluating the prefix again.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import struct
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.errors import AssistantError

MAGIC = b"ABORDOKV"
FORMAT = 1
KEEP = 4                      # saved prefixes kept per folder (catalogs, models, adapters in use)
SUFFIX = ".kv"
_HEADER_MAX = 1 << 20


class PrefixCacheError(AssistantError):
    """The prefix cache could not be used (the caller falls back to evaluating the prefix)."""


class UnusableState(PrefixCacheError):
    """A saved prefix state that must not be loaded: truncated, tampered, or made for another key."""


@dataclass(frozen=True)
class PrefixKey:
    """Everything that changes the evaluated state of a prefix."""

    model_sha256: str
    adapter_sha256: str          # "" without an adapter
    prefix_sha256: str           # the exact prompt text (the catalog, the dialect, the rules) and its roles
    chat_format: str             # "" = the template embedded in the GGUF
    n_ctx: int
    n_batch: int
    llama_cpp: str               # version and build (`llama_print_system_info`)
    backend: str = "llama-cpp-python"

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]


@dataclass
class SavedPrefix:
    """One saved state, read back and verified."""

    path: Path
    key: PrefixKey
    input_ids: list[int]
    state: bytes | bytearray
    seed: int
    created: str
    build_seconds: float
    meta: dict = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        return len(self.input_ids)


def cache_dir() -> Path:
    """Beside the fetched models (`ABORDO_MODEL_DIR`): costly to make, independent of ABORDO_HOME.
    ABORDO_PREFIX_DIR puts it elsewhere (the test suite keeps its own)."""
    override = os.environ.get("ABORDO_PREFIX_DIR")
    if override:
        return Path(override)
    from assistant.llm.models import model_dir

    return model_dir() / "prefix-cache"


def path_for(key: PrefixKey, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"{key.digest()}{SUFFIX}"


def text_sha256(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(struct.pack("<Q", len(data)))
        digest.update(data)
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a model or adapter file, hashed once per (size, mtime) and remembered.

    A model `abordo model fetch` verified has a `.verified` marker with its hash; any other file
    (a user GGUF, an adapter) is hashed the first time (~3 s a GB) and its hash kept in the cache."""
    path = Path(path).resolve()
    st = path.stat()
    marker = path.with_name(path.name + ".verified")
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(marker.read_text())
        if data.get("size") == st.st_size and data.get("mtime_ns") == st.st_mtime_ns and data.get("sha256"):
            return str(data["sha256"])
    memo = cache_dir() / "hashes" / (text_sha256(str(path))[:24] + f"-{st.st_size}-{st.st_mtime_ns}.sha256")
    with contextlib.suppress(OSError):
        known = memo.read_text().strip()
        if len(known) == 64:
            return known
    from assistant.llm.models import sha256_of

    digest = sha256_of(path)
    with contextlib.suppress(OSError):
        atomic_write(memo, [digest.encode()])
    return digest


# --------------------------------------------------------------------------------------------- writing


def write(path: Path, key: PrefixKey, input_ids: list[int], state: bytes, *, seed: int = 0,
          build_seconds: float = 0.0) -> Path:
    """Save one evaluated prefix atomically (the final name appears only once the file is whole)."""
    ids = struct.pack(f"<{len(input_ids)}i", *input_ids)
    payload_sha = hashlib.sha256(ids)
    payload_sha.update(state)
    header = json.dumps({
        "format": FORMAT, "key": asdict(key), "digest": key.digest(), "n_tokens": len(input_ids),
        "state_bytes": len(state), "payload_sha256": payload_sha.hexdigest(), "seed": int(seed),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "build_seconds": round(build_seconds, 2),
    }, sort_keys=True).encode()
    atomic_write(path, [MAGIC, struct.pack("<I", len(header)), header, ids, state])
    return path


def atomic_write(path: Path, chunks: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):       # the rename itself survives a power cut
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# --------------------------------------------------------------------------------------------- reading


def read_header(path: Path, key: PrefixKey | None = None) -> dict:
    """The header of a saved state, checked against `key` and the file's size (not its payload hash).
    Raises FileNotFoundError when there is none, UnusableState when it must not be used."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(len(MAGIC) + 4)
        if len(head) < len(MAGIC) + 4 or head[:len(MAGIC)] != MAGIC:
            raise UnusableState("not a saved prefix state (wrong magic)")
        (length,) = struct.unpack("<I", head[len(MAGIC):])
        if length > _HEADER_MAX:
            raise UnusableState("its header is implausibly long")
        raw = fh.read(length)
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise UnusableState("its header is not readable") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise UnusableState(f"format {header.get('format') if isinstance(header, dict) else '?'}, not {FORMAT}")
    if key is not None and (header.get("digest") != key.digest() or header.get("key") != asdict(key)):
        raise UnusableState("it was made for another model, adapter, prompt or llama.cpp build")
    try:
        expected = len(MAGIC) + 4 + length + 4 * int(header["n_tokens"]) + int(header["state_bytes"])
    except (KeyError, TypeError, ValueError):
        raise UnusableState("its header lacks the sizes") from None
    if size != expected:
        raise UnusableState(f"it is {size:,} bytes where its header says {expected:,} (truncated or extended)")
    header["_offset"] = len(MAGIC) + 4 + length
    return header


def read(path: Path, key: PrefixKey) -> SavedPrefix:
    """A saved state, verified (key, sizes and the payload's SHA-256). Raises FileNotFoundError or
    UnusableState."""
    header = read_header(path, key)
    n, n_state = int(header["n_tokens"]), int(header["state_bytes"])
    state = bytearray(n_state)      # read in place, and writable: llama.cpp takes it without another copy
    with open(path, "rb") as fh:
        fh.seek(header["_offset"])
        ids = fh.read(4 * n)
        got = fh.readinto(state)
    digest = hashlib.sha256(ids)
    digest.update(state)
    if len(ids) != 4 * n or got != n_state or digest.hexdigest() != header.get("payload_sha256"):
        raise UnusableState("its contents do not match their checksum (changed or damaged on disk)")
    if n == 0 or n_state == 0:
        raise UnusableState("it holds no tokens")
    return SavedPrefix(path=path, key=key, input_ids=list(struct.unpack(f"<{n}i", ids)), state=state,
                       seed=int(header.get("seed", 0)), created=str(header.get("created", "")),
                       build_seconds=float(header.get("build_seconds", 0.0)),
                       meta={k: v for k, v in header.items() if not k.startswith("_")})


def discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def prune(directory: Path | None = None, keep: int = KEEP, protect: Path | None = None,
          suffix: str = SUFFIX) -> list[Path]:
    """Delete all but the `keep` most recently used saved states (and stray temporary files over an
    hour old); `protect` is never deleted. Returns what was deleted."""
    directory = directory or cache_dir()
    if not directory.is_dir():
        return []
    removed = []
    entries = sorted((p for p in directory.glob(f"*{suffix}") if p.is_file()),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for p in entries[keep:]:
        if protect is None or p.resolve() != protect.resolve():
            discard(p)
            removed.append(p)
    for p in directory.glob(".*.partial"):
        with contextlib.suppress(OSError):
            if time.time() - p.stat().st_mtime > 3600:
                p.unlink()
                removed.append(p)
    return removed


def touch(path: Path) -> None:
    """Mark a saved state as just used (pruning keeps the most recently used)."""
    with contextlib.suppress(OSError):
        os.utime(path)


@contextlib.contextmanager
def exclusive(directory: Path | None = None, timeout: float = 900.0) -> Iterator[None]:
    """One process at a time builds or reads a folder's saved states: a second process starting at
    the same moment waits for the first to write its file, then loads it. The lock is the kernel's
    (flock), so it goes away with a process that dies holding it."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PrefixCacheError(f"another process held the prefix cache lock for {timeout:.0f} s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def llama_cpp_build() -> str:
    """llama.cpp's version and the features it was built with: a state from another build may not load."""
    try:
        import llama_cpp
    except ImportError:
        return "not-installed"
    info = ""
    with contextlib.suppress(Exception):
        raw = llama_cpp.llama_print_system_info()
        info = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return f"{llama_cpp.__version__}/{text_sha256(info)[:12]}"
