"""`abordo users add|list`: the chat UI's staff accounts (stored in settings.app_url)."""
from __future__ import annotations

import click

from db.cli import settings_of


@click.group("users")
def users_command():
    """Staff accounts for the chat UI (name, role, hashed password)."""


@users_command.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "supervisor", "analyst"]), required=True,
              help="What the user may see: masking, row caps, the audit view.")
@click.option("--password", help="The password (default: asked for, hidden, twice).")
@click.option("--replace", is_flag=True, help="Reset the role and password of an existing user.")
@click.pass_context
def add_command(ctx, name, role, password, replace):
    """Create a user, e.g. `abordo users add maria --role supervisor`."""
    from assistant.users import add_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = add_user(settings_of(ctx).app_url, name, role, password, replace=replace)
    click.echo(f"user {user.name} ({user.role}) {'updated' if replace else 'created'}")


@users_command.command("list")
@click.pass_context
def list_command(ctx):
    """List users and their roles."""
    from assistant.users import list_users

    rows = list_users(settings_of(ctx).app_url)
    if not rows:
        click.echo("no users yet: `abordo users add NAME --role agent`")
    for u in rows:
        click.echo(f"{u.name}\t{u.role}")


@users_command.command("token")
@click.argument("name")
@click.option("--revoke", "revoke_id", metavar="TOKEN_ID", help="Revoke that token of NAME instead of issuing one.")
@click.option("--list", "list_them", is_flag=True, help="List NAME's tokens (ids, created, revoked).")
@click.pass_context
def token_command(ctx, name, revoke_id, list_them):
    """Issue a bearer token for `abordo serve` (shown once; the user's role applies), list or revoke one."""
    from assistant.users import UserError, issue_token, list_tokens, revoke_token

    app_url = settings_of(ctx).app_url
    if list_them:
        for t in (t for t in list_tokens(app_url) if t.user == name):
            click.echo(f"{t.token_id}  created {t.created:%Y-%m-%d %H:%M}"
                       + (f"  revoked {t.revoked:%Y-%m-%d %H:%M}" if t.revoked else ""))
        return
    if revoke_id:
        if not revoke_token(app_url, revoke_id):
            raise UserError(f"no live token {revoke_id!r}")
        click.echo(f"token {revoke_id} revoked")
        return
    click.echo(issue_token(app_url, name))
