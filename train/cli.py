"""`abordo train data` (verified pairs) and `abordo train --data DIR --out FILE` (the LoRA adapter)."""
from __future__ import annotations

import json
import platform
import shlex
import sys
import time
from datetime import date
from pathlib import Path

import click

from db.cli import settings_of

BASES = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
JEMALLOC = ("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2")


def _reexec_with_jemalloc() -> None:
    """Run training under jemalloc, keeping freed memory, when the library is installed.

    Why: glibc's malloc hands each step's large activation buffers back to the kernel, and the next
    step faults them in again. On the virtual machines measured here a page fault is so dear that a
    0.5B step took 30-70 s under glibc and 12-15 s under jemalloc (`benchmarks/train_speed.py`). Freed
    pages are kept 30 s: long enough for the next step to reuse them; with decay off the resident size
    grew ~0.8 GB a step (batches differ in length) towards the 24 GB of these machines.
    ABORDO_TRAIN_MALLOC=system keeps the system allocator."""
    import os

    if os.environ.get("ABORDO_TRAIN_MALLOC", "jemalloc") == "system" or "jemalloc" in os.environ.get("LD_PRELOAD", ""):
        return
    lib = next((p for p in JEMALLOC if Path(p).is_file()), None)
    if lib is None:
        click.echo("abordo: training with the system allocator (install libjemalloc2 for 3-4x faster steps "
                   "on virtual machines)", err=True)
        return
    env = {**os.environ, "LD_PRELOAD": lib, "MALLOC_CONF": "dirty_decay_ms:30000,muzzy_decay_ms:30000"}
    os.execve(sys.executable, [sys.executable, "-m", "abordo", *sys.argv[1:]], env)


def _safe_url(url: str) -> str:
    from db.engines import parse_url

    return parse_url(url).render_as_string(hide_password=True)


@click.group("train", invoke_without_command=True)
@click.option("--data", "data_dir", type=click.Path(path_type=Path), help="A dataset made by 'abordo train data'.")
@click.option("--base", type=click.Choice(BASES), default="qwen2.5-coder-0.5b", show_default=True,
              help="The fetched base model the adapter is trained for.")
@click.option("--epochs", type=float, default=2.0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="The adapter file to write (.gguf); its manifest "
              "goes beside it as FILE.manifest.json.")
@click.option("--rank", type=int, default=16, show_default=True, help="LoRA rank.")
@click.option("--lr", "learning_rate", type=float, default=2e-4, show_default=True)
@click.option("--batch-size", type=int, default=8, show_default=True)
@click.option("--max-steps", type=int, default=None, help="Stop after this many optimizer steps (a short run).")
@click.option("--limit", type=int, default=None, help="Train on the first N pairs only.")
@click.option("--seed", type=int, default=1234, show_default=True)
@click.option("--checkpoints", type=click.Path(path_type=Path), default=None,
              help="Checkpoint directory (default: FILE.checkpoints); a rerun resumes from it.")
@click.option("--fresh", is_flag=True, help="Ignore existing checkpoints and start over.")
@click.option("--activation-checkpointing/--no-activation-checkpointing", "recompute", default=None,
              help="Recompute activations in the backward pass: less memory, ~30% slower "
                   "(default: on for the 1.5B, off for the 0.5B).")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp32"]), default="auto", show_default=True,
              help="auto: bf16 autocast where the CPU multiplies bf16 natively (AVX512-BF16, AMX), else fp32 "
                   "(bf16 without it is many times slower).")
@click.pass_context
def train_command(ctx: click.Context, data_dir: Path | None, base: str, epochs: float, out: Path | None, rank: int,
                  learning_rate: float, batch_size: int, max_steps: int | None, limit: int | None, seed: int,
                  checkpoints: Path | None, fresh: bool, recompute: bool | None, precision: str) -> None:
    """Teach the model this database: a LoRA adapter trained on the CPU from verified pairs.

    \b
    abordo train data --db URL --verify-on URL --out DIR   make the pairs
    abordo train --data DIR --out adapter.gguf             train and export the GGUF adapter
    Needs the training extra: pip install torch==2.13.0 && pip install -e '.[train]'.
    """
    if ctx.invoked_subcommand is not None:
        return
    if data_dir is None or out is None:
        raise click.UsageError("give --data DIR and --out FILE (or a subcommand: 'abordo train data --help')")
    _reexec_with_jemalloc()
    from assistant.llm.models import locate
    from train.config import TrainConfig, native_bf16, precision_name
    from train.data import read_dataset
    from train.lora import train_adapter

    train_rows, _valid, manifest = read_dataset(data_dir)
    if limit:
        train_rows = train_rows[:limit]
    base_model = locate(base)           # ModelNotFound names the fetch command
    config = TrainConfig(rank=rank, alpha=2 * rank, epochs=epochs, learning_rate=learning_rate,
                         batch_size=batch_size, seed=seed, max_steps=max_steps,
                         bf16=native_bf16() if precision == "auto" else precision == "bf16",
                         gradient_checkpointing=("1.5b" in base) if recompute is None else recompute)
    command = "abordo train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    click.echo(f"training a LoRA adapter for {base} on {len(train_rows)} pairs ({data_dir}, data hash "
               f"{manifest['data_hash'][:12]}) on the CPU in {precision_name(config)}", err=True)
    result = train_adapter(train_rows, base_model.path, out, config,
                           checkpoint_dir=checkpoints or out.with_name(out.name + ".checkpoints"),
                           resume=not fresh,
                           extra_manifest={"base_model": base, "dataset": {
                                               "hash": manifest["data_hash"], "pairs": len(train_rows),
                                               "by_shape": manifest["by_shape"], "by_lang": manifest["by_lang"],
                                               "generator_version": manifest.get("generator_version")},
                                               "prompt": "taught-v1", "command": command})
    click.echo(str(result.out_path if hasattr(result, "out_path") else out))


@train_command.command("data")
@click.option("--db", "db_url", default=None, help="The database to read facts and values from (default: the configured one).")
@click.option("--verify-on", "verify_on", multiple=True,
              help="Another database seeded alike (e.g. the PostgreSQL copy): every gold query must give the same rows there.")
@click.option("--catalog", "catalog_path", type=click.Path(dir_okay=False), default=None)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("-n", "--pairs", "n_pairs", type=int, default=1500, show_default=True)
@click.option("--seed", type=int, default=20261203, show_default=True)
@click.option("--feedback/--no-feedback", default=True, show_default=True,
              help="Add the question/SQL pairs staff rated 👍 in the app store.")
@click.pass_context
def data_command(ctx: click.Context, db_url: str | None, verify_on: tuple[str, ...], catalog_path: str | None,
                 out_dir: Path, n_pairs: int, seed: int, feedback: bool) -> None:
    """Generate execution-verified bilingual (question, SQL) pairs from the catalog and the data."""
    from db.catalog import load_catalog
    from db.engines import dialect_of, require_database
    from train.data import feedback_pairs, generate, write_dataset

    settings = settings_of(ctx)
    url = db_url or settings.database_url
    for u in (url, *verify_on):
        require_database(u)
    catalog = load_catalog(catalog_path or settings.catalog_path or None)
    dialects = sorted({dialect_of(u) for u in (url, *verify_on)})
    staff = feedback_pairs(settings.app_url) if feedback else []
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            click.echo(f"  {done}/{total} pairs verified", err=True)

    report = generate(catalog, url, n=n_pairs, seed=seed, verify_on=verify_on, catalog_path=catalog_path,
                      dialects=dialects, feedback=staff, progress=progress)
    manifest = write_dataset(report, out_dir, seed=seed, meta={
        "catalog": catalog.name, "database": _safe_url(url), "verified_on": [_safe_url(u) for u in (url, *verify_on)],
        "dialects": dialects, "seconds": round(time.perf_counter() - started, 1),
        "created": date.today().isoformat(), "python": platform.python_version(),
        "command": "abordo train data " + " ".join(shlex.quote(a) for a in sys.argv[3:])})
    click.echo(json.dumps({k: manifest[k] for k in ("pairs", "splits", "by_lang", "by_dialect", "data_hash")}))
