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
    warming = _warm_in_background(settings, env)
    try:
        ctx.exit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        ctx.exit(0)
    finally:
        if warming is not None and warming.poll() is None:
            warming.terminate()       # a state half-read is never written: the next start reads it again


def _warm_in_background(settings, env: dict):
    """`abordo model warm` in a child process from the moment the UI starts, before any page is opened:
    it checks the saved prompt prefix (a second) or reads and saves it (1 to 3 minutes on 2 cores) while the page
    comes up; the page's own warm-up then restores it. None when the model is an endpoint or a test
    double, or the prefix cache is off."""
    import os
    import subprocess

    from assistant.llm import TEST_MODEL_ENV
    from db.settings import user_cache_dir

    if settings.openai_base_url or settings.prefix_cache != "on" or os.environ.get(TEST_MODEL_ENV):
        return None
    log_path = user_cache_dir() / "warm.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "abordo", "model", "warm"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
