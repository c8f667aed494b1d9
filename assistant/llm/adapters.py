"""LoRA adapters for the local model: which one is configured, and whether it may be loaded.

An adapter (`abordo train`) is a GGUF file with a manifest beside it (`FILE.manifest.json`) naming its
SHA-256, the base model's SHA-256 it was trained on, and the prompt it was trained with. An adapter is
code-like: it changes every answer the model gives, so it is never trusted by name. Before it is
loaded its hash must match its manifest and its base must be the model configured; a mismatch is
refused (an error, not a fallback), while an adapter that is simply not there falls back to the base
model with one line saying so, because a missing optional file must not take the assistant down.

`ABORDO_ADAPTER`: empty or `none` for no adapter, `demo` for the adapter shipped for the demo catalog
and the configured base model, or a path to any adapter file.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "adapters"   # assistant/adapters/, shipped with the package
MANIFEST_SUFFIX = ".manifest.json"
TAUGHT_PROMPTS = ("taught-v1",)
_VERIFIED: dict[tuple[str, int, float], str] = {}


class AdapterRefused(AssistantError):
    """The adapter's file does not match its manifest, or it was trained on another base model."""


@dataclass(frozen=True)
class Adapter:
    path: Path
    manifest: dict

    @property
    def prompt(self) -> str:
        return str(self.manifest.get("prompt") or "")

    @property
    def label(self) -> str:
        return self.path.name


def manifest_path(adapter: Path) -> Path:
    """`abordo-demo.gguf` -> `abordo-demo.gguf.manifest.json` (`train.export` writes it there)."""
    adapter = Path(adapter)
    return adapter.with_name(adapter.name + MANIFEST_SUFFIX)


def shipped_adapter(model_name: str) -> Path:
    """Where the adapter trained for the demo catalog on `model_name` lives in this package."""
    return SHIPPED_DIR / f"abordo-demo-{model_name}.gguf"


def _sha256(path: Path) -> str:
    """The file's SHA-256, remembered per (path, size, mtime) so a process hashes an adapter once."""
    from assistant.llm.models import sha256_of

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_of(path)
    return _VERIFIED[key]


def _say(line: str) -> None:
    print(f"abordo: {line}", file=sys.stderr)


def resolve_adapter(setting: str, model_name: str, model_sha256: str | None, *, quiet: bool = False) -> Adapter | None:
    """The verified adapter for the `adapter` setting, or None (no adapter, or a missing one).

    `model_sha256` is the configured base model's hash (None for an unverified user GGUF: then the
    adapter's base is checked by file name only, and the line says so)."""
    value = (setting or "").strip()
    if value.lower() in ("", "none", "off"):
        return None
    path = shipped_adapter(model_name) if value.lower() == "demo" else Path(value).expanduser()
    if not path.is_file():
        if not quiet:
            _say(f"adapter {path} not found: answering with the base model {model_name} (set ABORDO_ADAPTER=none "
                 "to silence this, or train one with 'abordo train')")
        return None
    mpath = manifest_path(path)
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AdapterRefused(f"adapter {path} has no manifest ({mpath.name}): refusing to load an adapter whose "
                             "origin cannot be checked") from None
    except (OSError, ValueError) as exc:
        raise AdapterRefused(f"adapter manifest {mpath} cannot be read ({exc})") from None
    want = manifest.get("adapter_sha256")
    have = _sha256(path)
    if not want or have != want:
        raise AdapterRefused(f"adapter {path} does not match its manifest (sha256 {have[:12]}… against "
                             f"{str(want)[:12]}…): the file was changed or replaced; refusing to load it")
    base = manifest.get("base_sha256")
    if model_sha256 and base and base != model_sha256:
        raise AdapterRefused(f"adapter {path} was trained on another base model ({manifest.get('base_model')}, "
                             f"sha256 {base[:12]}…), not on {model_name} ({model_sha256[:12]}…): refusing to load it")
    if model_sha256 is None and manifest.get("base_model") not in (None, model_name) and not quiet:
        _say(f"adapter {path.name} names base {manifest.get('base_model')}; the model {model_name} is not a "
             "known verified file, so its base could not be checked")
    if manifest.get("prompt") not in TAUGHT_PROMPTS:
        raise AdapterRefused(f"adapter {path} was trained with prompt {manifest.get('prompt')!r}, which this "
                             f"version does not build (it knows {', '.join(TAUGHT_PROMPTS)})")
    return Adapter(path=path, manifest=manifest)


def configured_adapter(settings, *, quiet: bool = False) -> Adapter | None:
    """The adapter of these settings for the in-process model (never for an OpenAI-compatible endpoint)."""
    if settings.openai_base_url:
        return None
    from assistant.llm.models import locate

    local = locate(settings.model)
    return resolve_adapter(settings.adapter, local.label, local.known.sha256 if local.known else None, quiet=quiet)
