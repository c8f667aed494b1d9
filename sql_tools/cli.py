"""`abordo sql ...` commands (and, later, `abordo audit ...`).

`abordo sql check` runs the guard only (nothing touches a database): handy to see why the model's SQL
was refused and what text would run instead. Exit status: 0 when every statement is accepted, 1 when
any is rejected, 2 for usage errors (bad file, unknown role or dialect).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from db.cli import settings_of


@click.group("sql")
def sql_command() -> None:
    """Check and run SQL through the read-only guard."""


def _read_jsonl(path: Path) -> list[tuple[str | None, str]]:
    """(id, sql) pairs from a JSON Lines file with `sql` (and optionally `id`) on each line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--file") from None
    items: list[tuple[str | None, str]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{path}:{n}: not JSON ({exc.msg})", param_hint="--file") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("sql"), str):
            raise click.BadParameter(f"{path}:{n}: each line needs a string field 'sql'", param_hint="--file")
        items.append((None if obj.get("id") is None else str(obj["id"]), obj["sql"]))
    return items


@sql_command.command("check")
@click.argument("sql", required=False)
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON Lines file with 'id' and 'sql' on each line.")
@click.option("--dialect", type=click.Choice(["sqlite", "postgres"]), default="sqlite", show_default=True)
@click.option("--role", default=None, help="Role whose policy applies (default: the role setting).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per statement.")
@click.option("--lang", type=click.Choice(["en", "es"]), default="en", show_default=True,
              help="Language of the rejection messages.")
@click.pass_context
def check_command(ctx: click.Context, sql: str | None, file_: Path | None, dialect: str, role: str | None,
                  as_json: bool, lang: str) -> None:
    """Check SQL with the guard without running it. Exit 0 if all accepted, 1 if any rejected."""
    from db.catalog import load_catalog
    from sql_tools.guard import GuardRejection, check_sql

    if (sql is None) == (file_ is None):
        raise click.UsageError("give either one SQL statement or --file F.jsonl")
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its "falling back to Command" warnings
    settings = settings_of(ctx)
    role = role or settings.role
    catalog = load_catalog(settings.catalog_path or None)
    catalog.role(role)  # CatalogError (exit 2) for an unknown role
    items = _read_jsonl(file_) if file_ is not None else [(None, sql or "")]
    rejected = 0
    for item_id, text in items:
        try:
            res = check_sql(text, catalog=catalog, dialect=dialect, role=role)
            verdict, code, message, sql_out = "accept", None, None, res.sql_out
        except GuardRejection as exc:
            rejected += 1
            verdict, code, message, sql_out = "reject", exc.code, exc.text(lang), None
        if as_json:
            click.echo(json.dumps({"id": item_id, "verdict": verdict, "code": code, "message": message,
                                   "sql_out": sql_out}, ensure_ascii=False))
        else:
            label = f"{item_id}: " if item_id else ""
            if verdict == "accept":
                click.echo(f"{label}ACCEPTED ({dialect}, role {role})\n  runs as: {sql_out}")
            else:
                click.echo(f"{label}REJECTED [{code}] {message}")
    ctx.exit(1 if rejected else 0)


# --------------------------------------------------------------------------------------------------
# `abordo sql run` and `abordo audit ...` (the executor / audit helper's part of this file).

@sql_command.command("run")
@click.argument("sql")
@click.option("--db", "db_url", default=None, help="Passenger database URL (default: the database_url setting).")
@click.option("--role", default=None, help="Role whose policy applies (default: the role setting).")
@click.option("--user", default=None, help="User name recorded in the audit log (default: $USER).")
@click.option("--json", "as_json", is_flag=True, help="Rows as JSON lines, then a summary object.")
@click.option("--lang", type=click.Choice(["en", "es"]), default="en", show_default=True)
@click.pass_context
def run_command(ctx: click.Context, sql: str, db_url: str | None, role: str | None, user: str | None,
                as_json: bool, lang: str) -> None:
    """Guard, run read-only, mask and audit one SQL statement. Exit 2 when refused."""
    import getpass

    from db.catalog import load_catalog
    from sql_tools.errors import SqlToolError
    from sql_tools.service import run_guarded

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    settings = settings_of(ctx).replace(database_url=db_url)
    role = role or settings.role
    catalog = load_catalog(settings.catalog_path or None)
    catalog.role(role)
    try:
        user = user or getpass.getuser()
    except Exception:
        user = user or "unknown"
    try:
        res = run_guarded(sql, settings=settings, catalog=catalog, role=role, user=user)
    except SqlToolError as exc:
        click.echo(f"REJECTED [{exc.code}] {exc.text(lang)}", err=not as_json)
        ctx.exit(2)
    if as_json:
        for rec in json.loads(res.df.to_json(orient="records", date_format="iso", force_ascii=False)):
            click.echo(json.dumps(rec, ensure_ascii=False))
        click.echo(json.dumps({"row_count": res.row_count, "truncated": res.truncated, "sql": res.sql,
                               "elapsed_ms": round(res.elapsed_ms, 1)}, ensure_ascii=False))
        return
    click.echo(res.df.to_string(index=False) if res.row_count else "(no rows)")
    click.echo(f"{res.row_count} row(s)" + (f"; truncated at the {role} limit" if res.truncated else ""))


@click.group("audit")
def audit_command() -> None:
    """Read the append-only audit log (what ran, for whom, which passengers were seen)."""


def _audit_log(ctx: click.Context):
    from sql_tools.audit import get_audit_log
    return get_audit_log(settings_of(ctx).app_url)


def _print_records(records, as_json: bool) -> None:
    for r in records:
        if as_json:
            click.echo(json.dumps(r.as_dict(), ensure_ascii=False, default=str))
        else:
            ids = ",".join(r.passenger_ids[:10]) + ("..." if len(r.passenger_ids) > 10 else "")
            click.echo(f"{r.ts:%Y-%m-%d %H:%M:%S}Z #{r.id} {r.user} ({r.role}) {r.verdict}"
                       f"{' [' + r.code + ']' if r.code else ''} rows={r.row_count if r.row_count is not None else '-'}"
                       f"{' passengers=' + ids if ids else ''}"
                       f"\n    {(r.sql_out or r.sql_in or r.question or '').strip()[:200]}"
                       # why it was refused or failed, or what a request without a query did
                       f"{chr(10) + '    reason: ' + r.reason.strip()[:300] if r.reason else ''}")


def _require_supervisor(ctx: click.Context, role: str | None, what: str) -> None:
    """The audit log names who saw whom: it is for supervisors only."""
    if (role or settings_of(ctx).role) != "supervisor":
        click.echo(f"abordo: error: {what} is for supervisors: pass --role supervisor "
                   "(or set the role setting)", err=True)
        ctx.exit(2)


@audit_command.command("tail")
@click.option("-n", "n", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--role", default=None, help="Your role; only supervisors may read the log (default: the role setting).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_tail(ctx: click.Context, n: int, role: str | None, as_json: bool) -> None:
    """The last N audit records, oldest first (supervisors only)."""
    _require_supervisor(ctx, role, "audit tail")
    _print_records(_audit_log(ctx).tail(n), as_json)


@audit_command.command("who-saw")
@click.argument("passenger_id")
@click.option("--role", default=None, help="Your role; only supervisors may ask (default: the role setting).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_who_saw(ctx: click.Context, passenger_id: str, role: str | None, as_json: bool) -> None:
    """Every answer that showed this passenger, and to whom (supervisors only)."""
    _require_supervisor(ctx, role, "who-saw")
    records = _audit_log(ctx).who_saw(passenger_id)
    _print_records(records, as_json)
    if not as_json:
        click.echo(f"{len(records)} record(s) showed passenger {passenger_id}")
