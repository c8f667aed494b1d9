"""`abordo ui` (the Streamlit chat UI) and `abordo demo` (the UI on the demo database, one account per role).

Only the command root imports this module; the UI itself (app.py) runs in its own Streamlit process.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from db.cli import settings_of
from db.engines import require_database

APP = Path(__file__).with_name("app.py")


@click.command("demo")
@click.option("--port", type=int, default=8501, show_default=True, help="Port of the chat UI.")
@click.option("--terminal", is_flag=True, help="Chat in this terminal instead of the web UI.")
@click.pass_context
def demo_command(ctx, port, terminal):
    """The demo: chat UI on the seeded demo database with the local model, one account per role.

    `make demo` seeds the database and fetches the model first.
    """
    from assistant.ask_cli import chat_loop
    from assistant.pipeline import Assistant
    from assistant.users import ensure_demo_users

    settings = settings_of(ctx)
    require_database(settings.database_url)
    if terminal:
        chat_loop(Assistant(settings, user="demo"))
        return
    click.echo("Demo accounts (sign in with one of these):")
    for name, password, role in ensure_demo_users(settings.app_url):
        click.echo(f"  {role:<11} user {name:<11} password {password}")
    ctx.invoke(ui_command, db_url=None, port=port, host=None)


@click.command("ui")
@click.option("--db", "db_url", help="Passenger database URL (default: the demo database).")
@click.option("--port", type=int, default=8501, show_default=True, help="Port the chat UI listens on.")
@click.option("--host", default=None, help="Address to listen on (default: Streamlit's, all interfaces).")
@click.pass_context
def ui_command(ctx, db_url, port, host):
    """Start the chat UI (Streamlit) for airline staff; sign in with `abordo users add` accounts."""
    import os
    import subprocess
    from dataclasses import fields

    settings = settings_of(ctx).replace(database_url=db_url)
    require_database(settings.database_url)
    env = dict(os.environ)
    # The UI process re-reads Settings from the environment: pass every resolved value explicitly.
    for f in fields(settings):
        env[f"ABORDO_{f.name.upper()}"] = str(getattr(settings, f.name))
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]
    if host:
        cmd += ["--server.address", host]
    click.echo(f"abordo ui: http://localhost:{port}  (Ctrl-C to stop)")
    try:
        ctx.exit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        ctx.exit(0)
