"""`abordo db ...` and `abordo catalog ...` commands."""
from __future__ import annotations

import sys

import click

from db.settings import Settings


def settings_of(ctx: click.Context) -> Settings:
    """The Settings object loaded once by the top-level group."""
    return ctx.find_root().obj


@click.group("db")
def db_group() -> None:
    """Manage the passenger database (PostgreSQL roles)."""


@db_group.command("grant-readonly")
@click.option("--db", "db_url", help="PostgreSQL URL of an account that may create roles (owner or superuser).")
@click.option("--timeout-ms", type=click.IntRange(100, 600_000), default=None,
              help="statement_timeout set on the roles (default: the statement_timeout_ms setting).")
@click.pass_context
def grant_readonly(ctx: click.Context, db_url: str | None, timeout_ms: int | None) -> None:
    """Create or update the read-only roles the assistant connects with.

    \b
    abordo_reader        SELECT on every exposed table (never staff_accounts)
    abordo_<role>        one login per catalog role, with column grants that
                         leave out what the role may not read at all
    Idempotent: running it again brings the roles back to this state.
    """
    from db.catalog import load_catalog
    from db.roles import grant_readonly as do_grant

    settings = settings_of(ctx).replace(database_url=db_url)
    catalog = load_catalog(settings.catalog_path or None)
    report = do_grant(settings.database_url, catalog, timeout_ms or settings.statement_timeout_ms)
    for line in report:
        click.echo(line)


@click.group("catalog")
def catalog_group() -> None:
    """Catalog files: descriptions, synonyms, personal-data classes and roles."""


@catalog_group.command("init")
@click.option("--db", "db_url", help="Database to introspect (SQLite or PostgreSQL URL).")
@click.option("--sample/--no-sample", default=True, help="Read a few distinct values to guess enumerations.")
@click.pass_context
def catalog_init(ctx: click.Context, db_url: str | None, sample: bool) -> None:
    """Draft a catalog for any database by introspection, to stdout.

    \b
    abordo catalog init --db sqlite:///other.db > other.yaml
    Review it: mark personal-data columns (pii:) and tables to hide (exposed: false).
    """
    from db.introspect import draft_catalog

    settings = settings_of(ctx).replace(database_url=db_url)
    sys.stdout.write(draft_catalog(settings.database_url, sample=sample))


@catalog_group.command("check")
@click.option("--db", "db_url", help="Database the catalog must match.")
@click.argument("path", required=False)
@click.pass_context
def catalog_check(ctx: click.Context, db_url: str | None, path: str | None) -> None:
    """Validate a catalog file (and, with --db, that its tables and columns exist, that each view's
    joins follow a foreign key and that each view runs)."""
    from db.catalog import check_against_database, load_catalog
    from db.engines import check_reachable, make_engine

    settings = settings_of(ctx)
    catalog = load_catalog(path or settings.catalog_path or None)
    if db_url:
        engine = make_engine(db_url)
        check_reachable(engine)
        check_against_database(catalog, engine)
    views = (f"{len(catalog.views)} views ({sum(len(v.columns) for v in catalog.views.values())} columns), "
             if catalog.views else "")
    click.echo(f"catalog {catalog.source}: {len(catalog.exposed_tables)} exposed tables, {views}"
               f"roles {', '.join(catalog.roles)}: ok")
