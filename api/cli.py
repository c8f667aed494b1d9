"""`abordo serve`: the HTTP API under uvicorn."""
from __future__ import annotations

import os

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="uvicorn worker processes. Each holds its own chat model unless ABORDO_OPENAI_BASE_URL points "
                   "them at one model server (`abordo model serve`); conversations, tokens and the audit log are "
                   "in the app store, so any worker continues any conversation.")
@click.option("--db", "db_url", help="Passenger database URL (default: the database_url setting).")
@click.pass_context
def serve_command(ctx, host, port, workers, db_url):
    """Serve the API: POST /v1/ask, /v1/ask/stream, /v1/conversations/ID, /v1/feedback, /v1/audit,
    /healthz, /readyz; OpenAPI at /docs. Authenticate with `abordo users token NAME`."""
    import uvicorn

    from db.settings import load_settings

    if db_url:
        os.environ["ABORDO_DATABASE_URL"] = db_url     # the workers read their settings from the environment
    settings = load_settings()
    if workers > 1 and not settings.openai_base_url:
        click.echo(f"abordo serve: {workers} workers will each load the model in-process; point them at one "
                   "model server with ABORDO_OPENAI_BASE_URL (see `abordo model serve`)", err=True)
    click.echo(f"abordo serve: http://{host}:{port}  (docs at /docs; Ctrl-C to stop)")
    uvicorn.run("api.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=False)
