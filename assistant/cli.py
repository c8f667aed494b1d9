"""The `abordo` command: one entry point gathering the commands of every package.

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

USER_ERRORS = (DbError, SqlToolError, SeedError, AssistantError)


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
    from db.cli import catalog_group, db_group

    main.add_command(db_group)
    main.add_command(catalog_group)
    for module, names in (("seed_data.cli", ("seed",)), ("sql_tools.cli", ("sql", "audit")),
                          ("assistant.model_cli", ("model",)), ("assistant.ask_cli", ("ask", "chat", "demo", "ui")),
                          ("assistant.users_cli", ("users",)), ("assistant.eval_cli", ("eval",))):
        try:
            mod = __import__(module, fromlist=list(names))
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue  # that package's commands are not built yet
        for name in names:
            if hasattr(mod, f"{name}_command"):
                main.add_command(getattr(mod, f"{name}_command"), name)


_register()

if __name__ == "__main__":
    sys.exit(main())
