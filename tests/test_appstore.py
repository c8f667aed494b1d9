"""db.appstore: one engine per app store URL for every module's tables, each table set made once."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from db.appstore import error_name, store_engine, utcnow


def _metadata(*tables: str) -> sa.MetaData:
    md = sa.MetaData()
    for name in tables:
        sa.Table(name, md, sa.Column("id", sa.Integer, primary_key=True))
    return md


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_one_engine_per_url_whatever_the_callers_and_tables(tmp_path):
    url, other = (f"sqlite:///{tmp_path / name}" for name in ("app.sqlite", "other.sqlite"))
    first, second = _metadata("t_one"), _metadata("t_two", "t_three")
    engine = store_engine(url, first)
    assert store_engine(url, second) is engine and store_engine(url, first) is engine
    assert store_engine(other, first) is not engine
    assert {"t_one", "t_two", "t_three"} <= _tables(engine)
    assert _tables(store_engine(other, first)) == {"t_one"}


def test_the_four_stores_share_one_engine_and_file(tmp_path):
    from api import conversations
    from assistant import feedback, users
    from sql_tools.audit import AuditLog, get_audit_log

    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    engine = users._engine(url)
    assert feedback._engine(url) is engine and conversations._engine(url) is engine
    assert AuditLog(url).engine is engine and get_audit_log(url).engine is engine
    assert {"users", "api_tokens", "feedback", "conversations", "audit_log", "audit_subjects"} <= _tables(engine)
    with engine.connect() as conn:     # the audit log's journal settings, for every table of the file
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2      # FULL


def test_a_store_in_a_folder_that_does_not_exist_is_created(tmp_path):
    path = tmp_path / "not" / "yet" / "app.sqlite"
    engine = store_engine(f"sqlite:///{path}", _metadata("t"))
    assert path.is_file() and _tables(engine) == {"t"}


def test_setup_runs_once_after_the_tables_exist(tmp_path):
    url, md, calls = f"sqlite:///{tmp_path / 'app.sqlite'}", _metadata("t"), []

    def setup(engine):
        calls.append(_tables(engine))

    for _ in range(3):
        store_engine(url, md, setup=setup)
    assert calls == [{"t"}]


def test_first_use_from_many_threads_makes_one_engine_and_one_setup(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    mds = [_metadata("t_a"), _metadata("t_b")]
    setups: list[int] = []
    barrier = threading.Barrier(12)
    got: list[sa.Engine] = []
    errors: list[BaseException] = []

    def use(i: int) -> None:
        try:
            barrier.wait()
            got.append(store_engine(url, mds[i % 2], setup=lambda _e, i=i: setups.append(i % 2)))
        except BaseException as exc:    # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors and len(got) == 12 and len({id(e) for e in got}) == 1
    assert sorted(setups) == [0, 1] and {"t_a", "t_b"} <= _tables(got[0])


def test_a_slow_first_open_holds_back_only_its_own_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ready, slow = _metadata("t_ready"), _metadata("t_slow")
    engine = store_engine(url, ready)
    entered, release = threading.Event(), threading.Event()

    def setup(_engine):
        entered.set()
        release.wait(10)

    t = threading.Thread(target=store_engine, args=(url, slow), kwargs={"setup": setup})
    t.start()
    try:
        assert entered.wait(10)
        assert store_engine(url, ready) is engine     # not blocked by the other table set's first open
    finally:
        release.set()
        t.join(10)
    assert "t_slow" in _tables(engine)


class StoreDown(Exception):
    pass


def test_a_failed_open_is_the_callers_error_and_is_tried_again(tmp_path):
    url, md = f"sqlite:///{tmp_path / 'app.sqlite'}", _metadata("t")

    def broken(_engine):
        raise sa.exc.OperationalError("ALTER TABLE t", {}, Exception("database is locked"))

    with pytest.raises(StoreDown, match="cannot open: Exception"):
        store_engine(url, md, setup=broken, error=lambda name: StoreDown(f"cannot open: {name}"))
    with pytest.raises(sa.exc.OperationalError):          # no `error`: SQLAlchemy's own, as callers expect
        store_engine(url, md, setup=broken)
    calls = []
    store_engine(url, md, setup=calls.append)              # not marked done after a failure: runs now
    store_engine(url, md, setup=calls.append)
    assert len(calls) == 1


def test_error_name_is_the_drivers_class_never_the_text():
    wrapped = sa.exc.OperationalError("SELECT secret", {"x": "José"}, ValueError("no such table"))
    assert error_name(wrapped) == "ValueError"
    assert error_name(sa.exc.ArgumentError("bad")) == "ArgumentError"
    assert error_name(KeyError("k")) == "KeyError"


def test_the_stores_clock_is_naive_utc():
    now = utcnow()
    assert now.tzinfo is None
    assert abs(now - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(seconds=5)


@pytest.mark.postgres
def test_the_stores_share_one_engine_on_postgres(pg_url):
    from assistant import users
    from assistant.users import add_user, verify
    from sql_tools.audit import AuditLog, AuditRecord

    add_user(pg_url, "ana", "agent", "long enough")
    log = AuditLog(pg_url)
    log.append(AuditRecord(user="ana", role="agent", verdict="accepted", passenger_ids=["7"]))
    assert log.engine is users._engine(pg_url) and verify(pg_url, "ana", "long enough").role == "agent"
    assert {"users", "api_tokens", "audit_log", "audit_subjects"} <= _tables(log.engine)
    log.engine.dispose()      # the database is dropped after the test: no pooled connection may hold it
