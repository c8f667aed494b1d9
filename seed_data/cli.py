"""`abordo seed`: build the demo passenger database (or a bigger one for benchmarks).

Errors are raised (SeedError / DbError); the `abordo` group turns them into one line and exit status 2.
"""
from __future__ import annotations

from datetime import date

import click

from seed_data.errors import InvalidSizeError


def _parse_int(text: str, what: str) -> int:
    try:
        return int(str(text).replace("_", "").replace(",", ""))
    except ValueError:
        raise InvalidSizeError(f"{what} must be a whole number, not {text!r}") from None


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidSizeError(f"--today must be a date as YYYY-MM-DD, not {text!r}") from None


@click.command("seed")
@click.option("--db", "db_url", help="Target database URL (default: the demo SQLite file, database_url setting).")
@click.option("--passengers", "passengers_text", default="5000", show_default=True,
              help="Number of passengers to generate (1..5,000,000); flights and bookings scale with it.")
@click.option("--seed", "seed_text", default="42", show_default=True, help="Random seed: same seed and size, same data.")
@click.option("--today", "today_text", default=None, help="The demo's 'today' (YYYY-MM-DD); default: the today setting.")
@click.option("--replace", is_flag=True, help="Drop the schema's tables and reseed a database that already holds data.")
@click.option("--if-empty", "if_empty", is_flag=True, help="Leave a database that already holds data untouched (exit 0).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def seed_command(ctx: click.Context, db_url: str | None, passengers_text: str, seed_text: str,
                 today_text: str | None, replace: bool, if_empty: bool, quiet: bool) -> None:
    """Generate deterministic demo data and load it (SQLite: batched inserts; PostgreSQL: COPY).

    \b
    abordo seed                                  the demo (about 5,000 passengers)
    abordo seed --db postgresql://me@host/abordo --passengers 1000000
    The load is one transaction: on any failure nothing is written.
    """
    from db.cli import settings_of
    from db.engines import check_reachable, is_empty, make_engine
    from seed_data.loaders import seed_database
    from seed_data.sizes import check_size, check_today

    settings = settings_of(ctx)
    passengers = check_size(_parse_int(passengers_text, "--passengers"))
    seed = _parse_int(seed_text, "--seed")
    today = check_today(_parse_date(today_text) if today_text else settings.today)
    if replace and if_empty:
        raise InvalidSizeError("--replace and --if-empty contradict each other: give one of them")
    url = db_url or settings.database_url
    default_target = db_url is None
    if if_empty:
        from db.engines import dialect_of, sqlite_path

        exists = dialect_of(url) != "sqlite" or sqlite_path(url).exists()
        if exists:
            engine = make_engine(url)
            try:
                check_reachable(engine)
                empty = is_empty(engine)
            finally:
                engine.dispose()
            if not empty:
                shown = engine.url.render_as_string(hide_password=True)
                click.echo(f"{shown} already holds data; left as it is (use --replace to reseed).")
                return
    result = seed_database(url, passengers, seed, today, replace=replace, progress=not quiet,
                           create_parent=default_target)
    width = max(len(t) for t in result.rows)
    click.echo(f"seeded {result.url} (passengers={passengers:,}, seed={seed}, today={today.isoformat()})")
    for table, count in result.rows.items():
        click.echo(f"  {table:<{width}}  {count:>12,}")
    click.echo(f"  {'total':<{width}}  {result.total_rows:>12,} rows in {result.seconds:.1f} s")
