"""Writing a trained LoRA as a GGUF adapter that llama.cpp applies on top of the quantised base, plus its manifest.

The layout follows llama.cpp's own `convert_lora_to_gguf.py` and the loader in `src/llama-adapter.cpp`
(llama-cpp-python 0.3.36's vendored copy, read for this):

* metadata: `general.architecture` = the base's architecture (the loader refuses a mismatch),
  `general.type` = "adapter", `adapter.type` = "lora", `adapter.lora.alpha` = alpha as float32;
* tensors: one `<base tensor>.lora_a` / `.lora_b` pair per adapted matrix, e.g. `blk.3.attn_q.weight.lora_a`.
  peft's `lora_A.weight` (numpy shape (r, in)) is written as is for `lora_a` and `lora_B.weight`
  (shape (out, r)) for `lora_b`: ggml's ne is the numpy shape reversed, and the loader checks
  `base->ne[0] == a->ne[0]` (in), `base->ne[1] == b->ne[1]` (out) and `a->ne[1] == b->ne[0]` (r);
* llama.cpp scales each pair by alpha / r, with r read from `b->ne[0]`: the same as peft's alpha / r;
* a subset of layers or modules is fine: the graph looks each base weight up in the adapter's map and
  skips the ones it lacks;
* F16 data (as `convert_lora_to_gguf.py --outtype f16` writes) halves the file; the CPU backend
  multiplies an F16 matrix by F32 activations directly.

Nothing here needs PyTorch: a state dict of numpy arrays works too (the unit tests use that). The `gguf`
package (part of the `train` extra) is imported lazily.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.llm.adapters import manifest_path  # where the serving side looks for the manifest
from assistant.llm.models import sha256_of
from train.errors import AdapterExportError, TrainingDependencyMissing

MANIFEST_FORMAT = "abordo-lora-adapter/1"
INSTALL_HINT = "install the training extra: pip install torch==2.13.0 && pip install -e '.[train]'"

# HF module (under model.layers.{i}) -> llama.cpp tensor name (under blk.{i}), for Qwen2/Llama-style blocks.
MODULE_TO_GGUF: dict[str, str] = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}

# peft names: "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight" (get_peft_model_state_dict)
# or "...q_proj.lora_A.default.weight" (named_parameters, with the adapter's name).
_PEFT_NAME = re.compile(r"(?:^|\.)layers\.(\d+)\.((?:self_attn|mlp)\.[a-z_]+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$")


def gguf_tensor_name(peft_name: str) -> tuple[str, str]:
    """peft parameter name -> (llama.cpp base tensor name, "a" or "b"); AdapterExportError if unmappable."""
    match = _PEFT_NAME.search(peft_name)
    if not match:
        raise AdapterExportError(f"LoRA tensor {peft_name!r} is not a lora_A/lora_B weight of a decoder layer")
    layer, module, which = match.groups()
    try:
        base = MODULE_TO_GGUF[module]
    except KeyError:
        raise AdapterExportError(f"LoRA tensor {peft_name!r}: module {module!r} has no llama.cpp name "
                                 f"(supported: {', '.join(MODULE_TO_GGUF)})") from None
    return f"blk.{int(layer)}.{base}.weight", which.lower()


def _gguf():
    try:
        import gguf
    except ImportError:
        raise TrainingDependencyMissing(f"the gguf package is missing: {INSTALL_HINT}") from None
    return gguf


def _to_numpy(tensor: Any):
    import numpy as np

    if hasattr(tensor, "detach"):  # a torch tensor (bf16 has no numpy dtype: go through float32)
        tensor = tensor.detach().to("cpu").float().numpy()
    return np.asarray(tensor, dtype=np.float32)


def lora_state_dict(peft_model_or_state_dict: Any) -> Mapping[str, Any]:
    """The LoRA tensors only: a mapping as is, or a peft model's trainable lora_A/lora_B weights."""
    if isinstance(peft_model_or_state_dict, Mapping):
        return peft_model_or_state_dict
    named = getattr(peft_model_or_state_dict, "named_parameters", None)
    if named is None:
        raise AdapterExportError(f"cannot export {type(peft_model_or_state_dict).__name__}: "
                                 "expected a peft model or a state dict")
    return {name: param for name, param in named() if ".lora_A." in name or ".lora_B." in name}


def gguf_architecture(base_gguf: Path) -> str:
    """`general.architecture` of a GGUF file (e.g. "qwen2"), read from its header."""
    gguf = _gguf()
    try:
        reader = gguf.GGUFReader(str(base_gguf), "r")
        field = reader.get_field("general.architecture")
        if field is None:
            raise AdapterExportError(f"{base_gguf} has no general.architecture: is it a GGUF model?")
        return str(field.contents())
    except AdapterExportError:
        raise
    except Exception as exc:
        raise AdapterExportError(f"cannot read the GGUF header of {base_gguf}: {exc}") from exc


def write_lora_gguf(peft_model_or_state_dict: Any, out: Path, alpha: float, rank: int,
                    architecture: str = "qwen2", dtype: str = "f16") -> dict[str, Any]:
    """Write the LoRA pairs as a llama.cpp GGUF adapter at `out` (atomically); returns a small summary.

    Raises AdapterExportError on a missing half of a pair, a shape that does not match `rank`, or
    non-finite values (f16 overflow included).
    """
    import numpy as np

    if dtype not in ("f16", "f32"):
        raise AdapterExportError(f"adapter dtype must be f16 or f32, not {dtype!r}")
    np_dtype = np.float16 if dtype == "f16" else np.float32
    pairs: dict[str, dict[str, Any]] = {}
    for name, tensor in lora_state_dict(peft_model_or_state_dict).items():
        base, which = gguf_tensor_name(name)
        if which in pairs.setdefault(base, {}):
            raise AdapterExportError(f"two lora_{which.upper()} tensors map to {base} (more than one adapter?)")
        pairs[base][which] = _to_numpy(tensor)
    if not pairs:
        raise AdapterExportError("no LoRA tensors to export")

    arrays: list[tuple[str, Any]] = []
    for base in sorted(pairs, key=_tensor_order):
        pair = pairs[base]
        if set(pair) != {"a", "b"}:
            raise AdapterExportError(f"LoRA pair for {base} is missing lora_{'B' if 'a' in pair else 'A'}")
        a, b = pair["a"], pair["b"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != rank or b.shape[1] != rank:
            raise AdapterExportError(f"LoRA pair for {base} has shapes A{a.shape} B{b.shape}: expected "
                                     f"A (r={rank}, in) and B (out, r={rank})")
        for which, array in (("a", a), ("b", b)):
            with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below with its name
                converted = np.ascontiguousarray(array.astype(np_dtype))
            if not np.isfinite(converted).all():
                raise AdapterExportError(f"LoRA tensor {base}.lora_{which} has non-finite values "
                                         f"(as {dtype}): the training diverged")
            arrays.append((f"{base}.lora_{which}", converted))

    gguf = _gguf()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer = gguf.GGUFWriter(str(tmp), architecture)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        writer.add_name("abordo LoRA adapter")
        writer.add_file_type(int(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32))
        for name, array in arrays:
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, AdapterExportError):
            raise
        raise AdapterExportError(f"could not write the adapter {out}: {exc}") from exc
    return {"path": out, "tensors": len(arrays), "pairs": len(arrays) // 2, "size": out.stat().st_size,
            "dtype": dtype, "architecture": architecture, "alpha": float(alpha), "rank": rank}


def _tensor_order(base: str) -> tuple[int, int]:
    layer, name = base.split(".")[1:3]
    order = list(MODULE_TO_GGUF.values())
    return int(layer), order.index(name) if name in order else len(order)


# ---------------------------------------------------------------- manifest

def adapter_sha256(path: Path) -> str:
    """The hash the serving side checks (`assistant.llm.adapters`), computed the same way as for models."""
    return sha256_of(Path(path))


def machine_description() -> dict[str, Any]:
    uname = platform.uname()
    info: dict[str, Any] = {"device": "cpu", "processor": platform.processor() or uname.machine,
                            "system": f"{uname.system} {uname.release} {uname.machine}",
                            "cpu_count": os.cpu_count(), "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()  # AVX2, AVX512, ...: what fixes the speed
    except ImportError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for package in ("transformers", "peft", "gguf"):
        with contextlib.suppress(PackageNotFoundError):
            info[package] = version(package)
    return info


def write_manifest(adapter: Path, *, base_model: str | None, base_file: str, base_sha256: str, architecture: str,
                   hyperparameters: Mapping[str, Any], loss_curve: list[tuple[int, float]] | list[list[float]],
                   train_seconds: float, tokens_per_second: float, data_hash: str | None = None,
                   extra: Mapping[str, Any] | None = None) -> Path:
    """Write `<adapter>.manifest.json` (atomically) describing the adapter file as it is on disk now.

    `extra` (the caller's `extra_manifest`: data_counts, command, ...) is merged in last, except that it
    cannot override the fields computed here from the file itself.
    """
    adapter = Path(adapter)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "adapter_file": adapter.name,
        "adapter_sha256": adapter_sha256(adapter),
        "adapter_size": adapter.stat().st_size,
        "base_model": base_model,
        "base_file": base_file,
        "base_sha256": base_sha256,
        "architecture": architecture,
        "data_hash": data_hash,
        "data_counts": None,
        "hyperparameters": dict(hyperparameters),
        "loss_curve": [[int(step), round(float(loss), 5)] for step, loss in loss_curve],
        "train_seconds": round(float(train_seconds), 2),
        "tokens_per_second": round(float(tokens_per_second), 1),
        "trained_on": machine_description(),
        "created": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "command": None,
    }
    protected = {"format", "adapter_file", "adapter_sha256", "adapter_size"}
    for key, value in (extra or {}).items():
        if key in protected:
            raise AdapterExportError(f"extra manifest field {key!r} would override the adapter's own")
        manifest[key] = value
    target = manifest_path(adapter)
    _atomic_write_text(target, json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
    return target


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


__all__ = ["MANIFEST_FORMAT", "MODULE_TO_GGUF", "adapter_sha256", "gguf_architecture", "gguf_tensor_name",
           "lora_state_dict", "machine_description", "manifest_path", "write_lora_gguf", "write_manifest"]
