"""`abordo verified add|list|remove|export|import`: the questions the team has verified (issue 27).

`add` asks the question (or takes `--sql` over a view or the tables), shows the answer, and stores it
as verified by a supervisor once confirmed. `list` checks every entry against today's catalog and
guard (an entry that no longer compiles or passes is listed as skipped, with why). `export` writes
JSONL that `import` reads on another installation, all or nothing.
"""
from __future__ import annotations

import json
import sys

import click

from db.cli import settings_of


@click.group("verified")
def verified_command():
    """Questions the team has verified: answered again exactly, with no model call, for other values."""


def _supervisor(settings, name: str):
    from assistant.users import get_user
    from assistant.verified import VERIFIERS, VerifiedError

    user = get_user(settings.app_url, name)
    if user is None:
        raise VerifiedError(f"no user {name!r} (abordo users add {name} --role supervisor)")
    if user.role not in VERIFIERS:
        raise VerifiedError(f"{name} is {user.role}: only a {' or '.join(VERIFIERS)} can verify answers")
    return user


@verified_command.command("add")
@click.argument("question")
@click.option("--by", "by", required=True, help="The supervisor who verifies it (an abordo user).")
@click.option("--sql", help="The query that answers it, over one view (or the tables with --path tables); "
                            "default: ask the model and show its answer first.")
@click.option("--path", type=click.Choice(["views", "tables"]), default="views", show_default=True)
@click.option("--yes", is_flag=True, help="Store it without asking for confirmation.")
@click.pass_context
def add_command(ctx, question, by, sql, path, yes):
    from assistant.ask_cli import _print_answer
    from assistant.pipeline import Assistant

    settings = settings_of(ctx)
    user = _supervisor(settings, by)
    assistant = Assistant(settings, role=user.role, user=user.name)    # the model loads only if asked
    if not sql:
        ans = assistant.ask(question)
        _print_answer(ans, False)
        if ans.error or ans.refused or ans.path not in ("views", "tables"):
            raise click.ClickException("this answer has no query the model wrote: nothing to verify")
        sql, path = ans.sql_generated, ans.path
    if not yes and not click.confirm("Store this as verified?", default=False):
        click.echo("not stored")
        return
    entry = assistant.verify(question, sql, path, user=user.name)
    click.echo(f"verified #{entry.id} by {entry.verified_by}: {entry.shape}")


@verified_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per entry.")
@click.pass_context
def list_command(ctx, as_json):
    from assistant.pipeline import Assistant
    from assistant.verified import entries, status

    settings = settings_of(ctx)
    assistant = Assistant(settings, role="supervisor", user="cli")
    found = entries(settings.app_url)
    for e in found:
        why = status(assistant, e)
        if as_json:
            click.echo(json.dumps(e.as_dict() | {"skipped": why}, ensure_ascii=False, default=str))
            continue
        state = f"SKIPPED ({why})" if why else "ok"
        click.echo(f"#{e.id}  {e.verified_at:%Y-%m-%d} by {e.verified_by}  [{e.path}] {state}\n"
                   f"     {e.question}\n     shape: {e.shape}\n     {e.sql}")
    if not found and not as_json:
        click.echo("no verified questions")


@verified_command.command("remove")
@click.argument("entry_id", type=int)
@click.pass_context
def remove_command(ctx, entry_id):
    from assistant.verified import VerifiedError, remove

    if not remove(settings_of(ctx).app_url, entry_id):
        raise VerifiedError(f"no verified question #{entry_id}")
    click.echo(f"removed #{entry_id}")


@verified_command.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
@click.pass_context
def export_command(ctx, file):
    from assistant.verified import export_lines

    lines = export_lines(settings_of(ctx).app_url)
    file.write("".join(line + "\n" for line in lines))
    if file is not sys.stdout:
        click.echo(f"exported {len(lines)} verified questions", err=True)


@verified_command.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.pass_context
def import_command(ctx, file):
    from assistant.verified import import_lines

    click.echo(f"imported {import_lines(settings_of(ctx).app_url, file)} verified questions")


@verified_command.command("queue")
@click.option("-n", "limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_context
def queue_command(ctx, limit):
    """👎 answers that staff corrected, newest first: to review, fix and verify (`verified add`)."""
    from assistant.feedback import review_queue

    found = review_queue(settings_of(ctx).app_url, limit)
    for f in found:
        click.echo(f"{f.ts:%Y-%m-%d %H:%M}  {f.user} ({f.role})\n     Q: {f.question}\n"
                   f"     correction: {f.comment}\n     SQL: {f.sql or '-'}")
    if not found:
        click.echo("no corrections waiting")
