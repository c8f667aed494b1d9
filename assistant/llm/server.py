"""llama.cpp's own server (`llama-server`) as the shared model engine: built once from the
llama-cpp-python sdist, started on loopback with the verified GGUF, N parallel slots.

Why the sdist: it carries the exact llama.cpp the Python binding was built from
(`vendor/llama.cpp/tools/server`), so the server and the in-process backend run the same code, and
PyPI is the one registry these machines reach. It is built with the same portable flags as the
binding (a native build uses AMX instructions these VMs refuse), without HTTPS (loopback only) and
without shared libraries, into the user cache, keyed by the binding's version; a smoke check
(`--version`) runs after the build and before every start.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from assistant.errors import AssistantError

PORTABLE = ["-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON"]
SERVER_FLAGS = ["-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_TOOLS=ON",
                "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_OPENSSL=OFF",
                "-DBUILD_SHARED_LIBS=OFF"]


class ModelServerError(AssistantError):
    """The model server could not be built, started or reached."""


def binding_version() -> str:
    import llama_cpp

    return llama_cpp.__version__


def server_path(version: str | None = None) -> Path:
    """Beside the fetched models (like them, costly to make and independent of ABORDO_HOME)."""
    from assistant.llm.models import model_dir

    return model_dir().parent / "llama-server" / (version or binding_version()) / "llama-server"


def _smoke(binary: Path) -> bool:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "version" in (out.stdout + out.stderr).lower()


def build_server(*, force: bool = False, jobs: int | None = None, say: Callable[[str], None] = print) -> Path:
    """The cached llama-server binary, built first when missing (about 10 minutes on 2 cores)."""
    version = binding_version()
    target = server_path(version)
    if target.exists() and not force and _smoke(target):
        return target
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise ModelServerError(f"building llama-server needs {tool}: install it (Debian: cmake, g++)")
    with tempfile.TemporaryDirectory(prefix="abordo-llama-server-") as tmp:
        tmp_path = Path(tmp)
        say(f"llama-server: fetching the llama-cpp-python {version} source from the package registry")
        res = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                              f"llama-cpp-python=={version}", "-d", str(tmp_path)], capture_output=True, text=True)
        sdists = list(tmp_path.glob("llama_cpp_python-*.tar.gz"))
        if res.returncode != 0 or not sdists:
            raise ModelServerError(f"could not download the llama-cpp-python {version} source: "
                                   f"{(res.stderr or res.stdout).strip().splitlines()[-1:] or ['no file']}")
        with tarfile.open(sdists[0]) as tar:
            tar.extractall(tmp_path, filter="data")
        source = next(tmp_path.glob("llama_cpp_python-*/vendor/llama.cpp"))
        build = tmp_path / "build"
        say("llama-server: configuring (portable flags, no HTTPS, static)")
        _run(["cmake", "-S", str(source), "-B", str(build), *PORTABLE, *SERVER_FLAGS], "configure")
        say(f"llama-server: compiling with {jobs or os.cpu_count()} jobs (about 10 minutes on 2 cores)")
        _run(["cmake", "--build", str(build), "--target", "llama-server", "-j", str(jobs or os.cpu_count() or 2)],
             "build")
        built = next(build.rglob("llama-server"), None)
        if built is None or not _smoke(built):
            raise ModelServerError("llama-server was built but does not run (`llama-server --version` failed)")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        shutil.copy2(built, partial)
        partial.replace(target)            # never a half-copied binary under the final name
    say(f"llama-server: ready at {target}")
    return target


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
        raise ModelServerError(f"llama-server {what} failed:\n{tail}")


def server_command(binary: Path, model: Path, *, port: int, parallel: int, slot_ctx: int, threads: int,
                   draft: Path | None = None, lora: Path | None = None, host: str = "127.0.0.1") -> list[str]:
    """The command line: N slots of `slot_ctx` tokens each, continuous batching, a prompt cache per slot,
    slot states saved to and restored from `slot_dir()` (created here: llama-server refuses a missing one)."""
    slot_dir().mkdir(parents=True, exist_ok=True)
    cmd = [str(binary), "-m", str(model), "--host", host, "--port", str(port), "-np", str(parallel),
           "-c", str(slot_ctx * parallel), "-t", str(threads), "--temp", "0", "--no-webui", "--metrics",
           # prompts read 512 tokens at a time (the default physical batch, so no slower): a withdrawn
           # question is dropped after at most one such batch instead of a 2,048-token one (~14 s on 2 cores)
           "-b", "512",
           "--slot-save-path", f"{slot_dir()}{os.sep}"]
    if draft is not None:
        cmd += ["--model-draft", str(draft)]
    if lora is not None:
        cmd += ["--lora", str(lora)]
    return cmd


def start_server(cmd: list[str], *, log_path: Path | None = None) -> subprocess.Popen:
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log_path:
            log.close()


def wait_ready(base: str, proc: subprocess.Popen | None = None, timeout: float = 300) -> None:
    """Until `base/health` answers 200 (the model is loaded). Raises ModelServerError on exit or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ModelServerError(f"llama-server exited with status {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(base.rstrip("/") + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise ModelServerError(f"llama-server did not become ready within {timeout:.0f} s")


# ------------------------------------------------------------------ the prompt prefix in every slot

def slot_dir() -> Path:
    """Where llama-server saves and restores slot states (`--slot-save-path`): beside the in-process
    backend's saved prefixes (their files differ: llama-server writes its own format)."""
    from assistant.llm.prefix_cache import cache_dir

    return cache_dir() / "server"


def _post(base: str, path: str, body: dict, timeout: float = 600) -> dict:
    import json

    req = urllib.request.Request(base.rstrip("/") + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        raise ModelServerError(f"llama-server {path}: HTTP {exc.code} {detail}") from None
    except OSError as exc:
        raise ModelServerError(f"llama-server {path}: {exc}") from None


def warm_slots(base: str, system: str, parallel: int) -> None:
    """Read the static prefix into every slot at once (one token back each, `id_slot` names the slot)."""
    import threading

    errors: list[Exception] = []

    def one(slot: int) -> None:
        try:
            _post(base, "/v1/chat/completions", {"messages": [{"role": "system", "content": system},
                                                              {"role": "user", "content": "SELECT 1"}],
                                                 "max_tokens": 1, "temperature": 0, "id_slot": slot})
        except ModelServerError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def cache_slot_prefix(base: str, system: str) -> None:
    """Move the prefix `system`, in slot 0, into llama-server's prompt cache in RAM (`--cache-ram`, on by
    default), where a later prompt that starts with it is restored from instead of read.

    Why two calls: the server caches a slot's prompt when the slot takes a new task, and a slot filled by
    `?action=restore` has no prompt of its own until a task uses it. So one token over `system` (its
    prefix found in the slot: a few tokens read), then a two-token prompt: the slot's prompt goes to the
    cache. Measured with the 0.5B on one slot: after this and the first prefix restored over it, a prompt
    over either prefix read 6 new tokens; without it, the one restored first was read again (3,242)."""
    for messages in ([{"role": "system", "content": system}, {"role": "user", "content": "SELECT 1"}],
                     [{"role": "user", "content": "-"}]):
        _post(base, "/v1/chat/completions", {"messages": messages, "max_tokens": 1, "temperature": 0, "id_slot": 0})


def prepare_slots(base: str, key, system: str, parallel: int, *, say: Callable[[str], None] = print) -> dict:
    """Every slot holding the prompt prefix: restored from the saved slot state for exactly this `key`
    (a `prefix_cache.PrefixKey`) when it exists and checks out, else read into every slot and saved
    from slot 0 for the next start. The file llama-server writes is checked by the SHA-256 in a sidecar
    written after it; it is written under a temporary name and renamed, so a crash leaves no half-file
    under the final name. Returns {"how": "restored" | "saved", "seconds": ..., "tokens": ...}."""
    import json

    from assistant.llm import prefix_cache
    from assistant.llm.models import sha256_of

    directory = slot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{key.digest()}.slot"
    final, sidecar = directory / name, directory / f"{name}.json"
    started = time.perf_counter()
    with prefix_cache.exclusive(directory):
        if final.exists() and sidecar.exists():
            try:
                meta = json.loads(sidecar.read_text())
                if meta.get("key") != key.digest() or meta.get("size") != final.stat().st_size \
                        or meta.get("sha256") != sha256_of(final):
                    raise ModelServerError("it does not match its checksum or key")
                tokens = [_post(base, f"/slots/{i}?action=restore", {"filename": name}).get("n_restored", 0)
                          for i in range(parallel)]
                if min(tokens) <= 0:
                    raise ModelServerError("llama-server restored no tokens")
                prefix_cache.touch(final)
                return {"how": "restored", "seconds": time.perf_counter() - started, "tokens": tokens[0]}
            except (ModelServerError, ValueError, OSError) as exc:
                say(f"abordo model serve: the saved slot state {name} is ignored and rebuilt: {exc}")
                for i in range(parallel):
                    with contextlib.suppress(ModelServerError):
                        _post(base, f"/slots/{i}?action=erase", {})
        for stale in (final, sidecar):
            stale.unlink(missing_ok=True)
        warm_slots(base, system, parallel)
        partial = f".{name}.{os.getpid()}.partial"
        saved = _post(base, "/slots/0?action=save", {"filename": partial})
        written = directory / partial
        try:
            digest, size = sha256_of(written), written.stat().st_size
            os.replace(written, final)
        finally:
            written.unlink(missing_ok=True)
        prefix_cache.atomic_write(sidecar, [json.dumps({"key": key.digest(), "sha256": digest, "size": size,
                                                         "n_tokens": saved.get("n_saved", 0)}).encode()])
        prefix_cache.prune(directory, protect=final, suffix=".slot")
        for orphan in directory.glob("*.slot.json"):
            if not orphan.with_suffix("").exists():
                orphan.unlink(missing_ok=True)
    return {"how": "saved", "seconds": time.perf_counter() - started, "tokens": saved.get("n_saved", 0)}
