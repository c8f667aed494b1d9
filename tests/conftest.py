"""Shared fixtures: real SQLite files and real PostgreSQL databases, never mocks.

PostgreSQL tests use ABORDO_TEST_PG_URL (an account that may create databases and roles). When the
server cannot be reached the tests *fail*: CI must not go green by skipping them.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.engines import parse_url

# SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; abordo ships psycopg2, and so do the tests'
# own engines: every PostgreSQL URL a fixture hands out names the driver (postgresql+psycopg2://).
PG_ADMIN_URL = parse_url(
    os.environ.get("ABORDO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
).render_as_string(hide_password=False)


def _engine(url: str, **kwargs) -> sa.Engine:
    return sa.create_engine(parse_url(url), **kwargs)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def _session_prefix_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prefix-cache")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch, _session_prefix_dir):
    """Point abordo's user directories at a temp dir so tests never touch a real demo or audit store.

    The model cache is kept: the fetched GGUF lives there and is large. Saved prompt prefixes go to
    one folder for the session (ABORDO_PREFIX_DIR), never the user's.
    """
    home = tmp_path_factory.mktemp("abordo-home")
    monkeypatch.setenv("ABORDO_HOME", str(home))
    monkeypatch.setenv("ABORDO_PREFIX_DIR", str(_session_prefix_dir))
    monkeypatch.delenv("ABORDO_CONFIG", raising=False)
    yield home


def _reachable_pg_admin_url() -> str:
    engine = _engine(PG_ADMIN_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (run .ci/ensure-postgres): {exc.orig}")
    finally:
        engine.dispose()
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return _reachable_pg_admin_url()


def _admin_exec(admin_url: str, sql: str) -> None:
    engine = _engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


@pytest.fixture
def make_pg_database(pg_admin_url):
    """Factory: a new, empty PostgreSQL database; dropped at the end of the test."""
    created: list[str] = []

    def make() -> str:
        name = f"abordo_test_{uuid.uuid4().hex[:10]}"
        _admin_exec(pg_admin_url, f'CREATE DATABASE "{name}"')
        created.append(name)
        return sa.engine.make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        _admin_exec(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(make_pg_database) -> str:
    """URL of a fresh, empty PostgreSQL database."""
    return make_pg_database()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """URL of a SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture
def schema_sqlite_url(sqlite_url) -> str:
    """A SQLite file with the passenger schema and no rows."""
    from db.schema import metadata

    engine = _engine(sqlite_url)
    metadata.create_all(engine)
    engine.dispose()
    return sqlite_url


@pytest.fixture
def schema_pg_url(pg_url) -> str:
    """A PostgreSQL database with the passenger schema and no rows."""
    from db.schema import metadata

    engine = _engine(pg_url)
    metadata.create_all(engine)
    engine.dispose()
    return pg_url


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared folder is expected beside the checkout: {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def join_graph():
    """The demo schema's columns and foreign keys as the join and value repairs see them."""
    from assistant.joinfix import JoinGraph
    from db.schema import metadata

    columns = {t.name: [c.name for c in t.columns] for t in metadata.sorted_tables}
    fks = {t.name: {fk.parent.name: f"{fk.column.table.name}.{fk.column.name}" for fk in t.foreign_keys}
           for t in metadata.sorted_tables}
    return JoinGraph(columns, fks)


@pytest.fixture(scope="session")
def seeded_demo(tmp_path_factory):
    """Factory: ``seeded_demo(passengers=300, postgres=False)`` is the seeded demo schema (seed 42) with that
    many passengers, made once per size and engine per test session and shared by every test that asks for
    it; read-only use (a test that writes copies it first). SQLite: the file's path. ``postgres=True``: the
    URL of a PostgreSQL database, with the per-role read-only logins the executor uses (3 s timeout), dropped
    at the end of the session. The same size gives the same rows on both engines."""
    from seed_data.loaders import seed_database

    made: dict[tuple[int, bool], Path | str] = {}
    pg_databases: list[tuple[str, str]] = []

    def seeded(passengers: int = 300, *, postgres: bool = False) -> Path | str:
        key = (passengers, postgres)
        if key in made:
            return made[key]
        if not postgres:
            path = tmp_path_factory.mktemp(f"demo-{passengers}") / "demo.sqlite"
            seed_database(f"sqlite:///{path}", passengers=passengers, progress=False)
            made[key] = path
            return path
        from db.catalog import load_catalog
        from db.roles import grant_readonly

        admin_url = _reachable_pg_admin_url()
        name = f"abordo_test_demo_{passengers}_{uuid.uuid4().hex[:8]}"
        _admin_exec(admin_url, f'CREATE DATABASE "{name}"')
        pg_databases.append((admin_url, name))
        url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        seed_database(url, passengers=passengers, progress=False)
        grant_readonly(url, load_catalog(), 3000)
        made[key] = url
        return url

    try:
        yield seeded
    finally:
        if pg_databases:
            from sql_tools.executors import clear_executor_cache

            clear_executor_cache()
        for admin_url, name in pg_databases:
            _admin_exec(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def small_demo_db(seeded_demo) -> Path:
    """The seeded demo schema with 300 passengers on SQLite, made once per test session; read-only use."""
    return seeded_demo(300)


@pytest.fixture(scope="session")
def small_demo_pg(seeded_demo) -> str:
    """The same 300-passenger demo (same seed: the same rows as `small_demo_db`) in a PostgreSQL database
    with the per-role read-only logins the executor uses; dropped at the end of the session.
    For read-only use, like everything the assistant does with it."""
    return seeded_demo(300, postgres=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def small_demo_url(request) -> str:
    """The 300-passenger demo's URL, once on SQLite and once on PostgreSQL (same rows)."""
    if request.param == "sqlite":
        return f"sqlite:///{request.getfixturevalue('small_demo_db')}"
    return request.getfixturevalue("small_demo_pg")
