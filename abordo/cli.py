"""The `abordo` command: one entry point gathering the commands of every package.

The command root: it sits above every package and nothing imports it (shared/design/architecture.md).
Domain errors of each package become one line on stderr and exit status 2 here, and only here.
Set ABORDO_RAISE_ERRORS=1 to see the traceback instead.
"""
from __future__ import annotations

import os
import sys

import click

from assistant.errors import AssistantError
from db.errors import DbError
from db.settings import load_settings
from seed_data.errors import SeedError
from sql_tools.errors import SqlToolError
from train.errors import TrainError

USER_ERRORS = (DbError, SqlToolError, SeedError, AssistantError, TrainError)


class AbordoGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            if os.environ.get("ABORDO_RAISE_ERRORS"):
                raise
            click.echo(f"abordo: error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=AbordoGroup)
@click.version_option(package_name="abordo")
@click.pass_context
def main(ctx: click.Context) -> None:
    """abordo: passenger lookups in Spanish or English, answered with guarded read-only SQL."""
    try:
        ctx.obj = load_settings()
    except DbError as exc:
        click.echo(f"abordo: error: {exc}", err=True)
        ctx.exit(2)


def _register() -> None:
    """Every package's commands, imported here and only here (the one place that knows them all)."""
    from api.cli import serve_command
    from assistant.ask_cli import ask_command, chat_command
    from assistant.model_cli import model_command
    from assistant.users_cli import users_command
    from assistant.verified_cli import verified_command
    from db.cli import catalog_group, db_group
    from evaluation.cli import eval_command
    from seed_data.cli import seed_command
    from sql_tools.cli import audit_command, sql_command
    from train.cli import train_command
    from ui.cli import demo_command, ui_command

    for name, command in (("db", db_group), ("catalog", catalog_group), ("seed", seed_command),
                          ("sql", sql_command), ("audit", audit_command), ("model", model_command),
                          ("ask", ask_command), ("chat", chat_command), ("demo", demo_command),
                          ("ui", ui_command), ("users", users_command), ("eval", eval_command), ("train", train_command),
                          ("serve", serve_command), ("verified", verified_command)):
        main.add_command(command, name)


_register()

if __name__ == "__main__":      # python -m abordo.cli (python -m abordo is abordo/__main__.py)
    sys.exit(main())
