"""`abordo users add|list|token|revoke-token`: staff accounts and API tokens (stored in settings.app_url)."""
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


def _token_line(t) -> str:
    """One token for `--list`: id, owner's dates and state; the secret is never stored, so never shown."""
    state = t.state()
    line = (f"{t.token_id}  created {t.created:%Y-%m-%d %H:%M}  expires {t.expires:%Y-%m-%d %H:%M} UTC"
            + ("  (assumed: made before tokens stored an expiry)" if t.expiry_assumed else ""))
    if state == "revoked":
        return line + f"  revoked {t.revoked:%Y-%m-%d %H:%M}"
    return line + f"  {state}"


@users_command.command("token")
@click.argument("name")
@click.option("--revoke", "revoke_id", metavar="TOKEN_ID",
              help="Revoke that token of NAME instead of issuing one (refused if the token is another user's).")
@click.option("--list", "list_them", is_flag=True, help="List NAME's tokens: id, created, expires, active/expired/revoked.")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="Lifetime of the new token in days (default: the token_days setting, ABORDO_TOKEN_DAYS, 90).")
@click.pass_context
def token_command(ctx, name, revoke_id, list_them, days):
    """Issue a bearer token for `abordo serve` (shown once; the user's role applies), list or revoke NAME's.

    Every token expires: after --days days, or the token_days setting (ABORDO_TOKEN_DAYS). `--revoke ID`
    only revokes a token that belongs to NAME. An operator revokes any user's token with the admin command:

    \b
        abordo users revoke-token ID --any-user
    """
    from assistant.users import UserError, get_token, issue_token, list_tokens, revoke_token

    if sum((bool(revoke_id), list_them)) > 1 or (days is not None and (revoke_id or list_them)):
        raise click.UsageError("use one of --list, --revoke ID, or (to issue a token) --days N")
    settings = settings_of(ctx)
    app_url, legacy_days = settings.app_url, settings.token_days
    if list_them:
        tokens = list_tokens(app_url, name, legacy_days=legacy_days)
        if not tokens:
            click.echo(f"no tokens for {name}")
        for t in tokens:
            click.echo(_token_line(t))
        return
    if revoke_id:
        if revoke_token(app_url, revoke_id, owner=name):
            click.echo(f"token {revoke_id} of {name} revoked")
            return
        token = get_token(app_url, revoke_id, legacy_days=legacy_days)
        if token is None:
            raise UserError(f"no token {revoke_id!r}: nothing revoked")
        if token.user != name:
            raise UserError(f"token {revoke_id} is not {name}'s: nothing revoked")
        raise UserError(f"token {revoke_id} of {name} was already revoked")
    click.echo(issue_token(app_url, name, days=days or settings.token_days))


@users_command.command("revoke-token")
@click.argument("token_id")
@click.option("--any-user", is_flag=True,
              help="Required: confirms this admin action, which revokes the token whoever it belongs to.")
@click.pass_context
def revoke_any_command(ctx, token_id, any_user):
    """ADMIN: revoke any user's token by its id, e.g. a leaked one; needs --any-user.

    \b
        abordo users revoke-token ID --any-user

    For one user's own tokens use `abordo users token NAME --revoke ID`, which checks the owner.
    """
    from assistant.users import UserError, get_token, revoke_token

    if not any_user:
        raise click.UsageError("revoking a token whoever owns it is an admin action: add --any-user "
                               "(or use `abordo users token NAME --revoke ID` for NAME's own token)")
    app_url = settings_of(ctx).app_url
    token = get_token(app_url, token_id)
    if token is None:
        raise UserError(f"no token {token_id!r}: nothing revoked")
    if not revoke_token(app_url, token_id, owner=token.user):
        raise UserError(f"token {token_id} of {token.user} was already revoked")
    click.echo(f"token {token_id} of {token.user} revoked (admin)")
