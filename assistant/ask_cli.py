"""`abordo ask` and `abordo chat`: the assistant from a terminal.

The model loads once per process; `ask --file` answers many questions with it.
"""
from __future__ import annotations

import json

import click

from db.cli import settings_of
from db.engines import require_database


def _options(f):
    f = click.option("--db", "db_url", help="Passenger database URL (default: the demo database).")(f)
    f = click.option("--role", type=click.Choice(["agent", "supervisor", "analyst"]), help="Role (masking, caps).")(f)
    f = click.option("--user", default="cli", show_default=True, help="User name written to the audit log.")(f)
    f = click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="The date 'today' means.")(f)
    return f


def _assistant(ctx, db_url, role, user, today):
    from assistant.pipeline import Assistant

    settings = settings_of(ctx).replace(database_url=db_url, role=role,
                                        today=today.date() if today else None)
    require_database(settings.database_url)
    return Assistant(settings, user=user)


def _print_answer(ans, as_json: bool, extra: dict | None = None) -> None:
    if as_json:
        click.echo(json.dumps({**(extra or {}), **ans.to_dict()}, ensure_ascii=False, default=str))
        return
    click.echo(ans.text)
    if ans.restatement:
        lead = "Qué se calculó" if ans.lang == "es" else "What was computed"
        click.secho(f"{lead}: {ans.restatement}", fg="cyan")
    if ans.card:
        click.echo(ans.card_text)
    elif ans.row_count and len(ans.rows.columns) and not (ans.row_count == 1 and len(ans.rows.columns) == 1):
        table = ans.rows.head(50)
        if len(ans.column_labels) == table.shape[1]:
            table = table.set_axis(ans.column_labels, axis=1)
        click.echo(table.to_string(index=False))
        if ans.row_count > 50 or ans.truncated:
            click.echo(f"({ans.row_count} rows{', truncated' if ans.truncated else ''})")
    if ans.sql:
        click.secho(f"SQL: {ans.sql}", dim=True)
    click.secho(f"[{ans.timings['total']:.1f} s · {ans.llm_calls} model call(s)"
                f"{' · fast path' if ans.fast_path else ''}]", dim=True)


@click.command("ask")
@click.argument("question", required=False)
@click.option("--file", "file", type=click.File("r", encoding="utf-8"),
              help="Questions, one per line: plain text or JSON lines with 'question' and optional 'id'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per question.")
@click.option("--warm/--no-warm", default=True,
              help="Restore the saved prompt prefix (or read and save it) before the first question; with "
                   "--no-warm it happens at the first model call.")
@_options
@click.pass_context
def ask_command(ctx, question, file, as_json, warm, db_url, role, user, today):
    """Answer a question (or a file of questions) with guarded, read-only SQL.

    \b
    abordo ask "¿Cuántos vuelos salen hoy de MEX?"
    abordo ask --file questions.jsonl --json
    """
    if bool(question) == bool(file):
        raise click.UsageError("give a QUESTION or --file, not both")
    assistant = _assistant(ctx, db_url, role, user, today)
    items = [{"id": None, "question": question}] if question else list(_read_questions(file))
    if warm and len(items) > 1:
        warm_up(assistant)
    elif warm:
        warm_up(assistant, only_if_missing=True)   # a saved prefix is restored at the model call (a card needs none)
    for item in items:
        ans = assistant.ask(item["question"])
        _print_answer(ans, as_json, {"id": item["id"]} if file else None)


def warm_up(assistant, only_if_missing: bool = False, background: bool = False) -> None:
    """The static prefix restored from this machine's saved state (about a second), or read once and
    saved (a minute or more on 2 cores, said on stderr) so that the next process restores it. In the
    `background` (the terminal chat), while the asker types: the first question waits for it if need be."""
    missing = assistant.unsaved_prefixes() > 0
    if missing:
        click.echo("abordo: reading the prompt prefix once for this machine (a minute or more on 2 cores); "
                   "later runs restore it in seconds", err=True)
    if background:
        from assistant.warmup import Warmup

        _ = assistant.chat               # no model configured: said now, not after the first question
        Warmup(assistant.warm).start()
    elif missing or not only_if_missing:
        assistant.warm()


def _read_questions(fh):
    for n, line in enumerate(fh, 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise click.BadParameter(f"line {n} is not valid JSON: {exc.msg}", param_hint="--file") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
                raise click.BadParameter(f"line {n} has no 'question' string", param_hint="--file")
            yield {"id": obj.get("id", n), "question": obj["question"]}
        else:
            yield {"id": n, "question": line}


@click.command("chat")
@_options
@click.pass_context
def chat_command(ctx, db_url, role, user, today):
    """An interactive conversation with follow-ups (Ctrl-D or 'salir' to leave)."""
    chat_loop(_assistant(ctx, db_url, role, user, today))


def chat_loop(assistant) -> None:
    """The conversation on this terminal (also `abordo demo --terminal`)."""
    from assistant.memory import Memory

    memory = Memory()
    click.echo(f"abordo · {assistant.model_name} · role {assistant.role} · today {assistant.settings.today}")
    click.echo("Pregunta en español o en inglés. 'nueva' empieza otra conversación; 'salir' termina.")
    warm_up(assistant, background=True)
    while True:
        try:
            q = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if q.lower() in ("salir", "exit", "quit"):
            return
        if q.lower() in ("nueva", "new"):
            memory.clear()
            continue
        if q:
            _print_answer(assistant.ask(q, memory=memory), False)
