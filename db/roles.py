"""PostgreSQL roles for the guarded executor: `abordo db grant-readonly`.

Why this exists: capability removal at the database is the real boundary (security-anchors.md §5.1);
the SQL guard is defence in depth. Every role here is a LOGIN with

* SELECT on exposed tables only (never ``staff_accounts``; F7 showed owner-like grants leak it through
  ``query_to_xml`` and friends), and for the per-role logins ``abordo_<role>`` COLUMN-level grants that
  leave out what the role's policy hides, so ``SELECT *``, ``row_to_json(p)`` and predicate oracles on a
  hidden column fail with 42501 even if the guard has a bug (§2.2 "llm_masked");
* no CREATE on schema public and no TEMP on the database (F3: ``CREATE TEMP TABLE loot`` after a
  stacked ``COMMIT``);
* EXECUTE revoked from PUBLIC on side-effect functions that READ ONLY does not stop (F6: large objects,
  ``pg_logical_emit_message``, ``pg_notify``, advisory locks; ``dblink*`` when installed);
* ``default_transaction_read_only = on``, ``statement_timeout`` and ``idle_in_transaction_session_timeout``
  set on the role (a floor only: F4 shows a session can lower them, so the executor re-applies them with
  ``SET LOCAL`` in every transaction).

``set_config`` is deliberately NOT revoked: drivers and poolers call it, and a single guarded statement
cannot use it to escape its own timeout (the timer is already running) while the executor's ROLLBACK and
``DISCARD ALL`` undo any session change (F5).

Passwords: none by default (the demo server uses trust auth). Set ``ABORDO_READER_PASSWORD`` to give
every role that password (``ALTER ROLE ... PASSWORD``); put the same password in ``reader_url``.
"""
from __future__ import annotations

import os

from db.errors import RoleError

READER_ROLE = "abordo_reader"
FORBIDDEN_TABLES = ("staff_accounts",)
# Functions with side effects that a READ ONLY transaction does not stop (F6) or that reach files (F9).
SIDE_EFFECT_FUNCTIONS = (
    "lo_from_bytea", "lo_create", "lo_creat", "lo_put", "lo_import", "lo_export", "lo_unlink",
    "pg_logical_emit_message", "pg_notify",
    "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared",
    "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared",
    "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
)
SIDE_EFFECT_PREFIXES = ("dblink",)
IDLE_IN_TX_MS = 10_000


def role_login(role: str) -> str:
    """The PostgreSQL login for a catalog role: ``agent`` -> ``abordo_agent``."""
    return f"abordo_{role}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_readonly(database_url: str, catalog, timeout_ms: int) -> list[str]:
    """Create or update the read-only roles; return what was done, one line per step. Idempotent."""
    import psycopg2
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(database_url)
    except Exception:
        raise RoleError(f"not a database URL: {database_url!r}") from None
    if url.get_backend_name() != "postgresql":
        raise RoleError("grant-readonly needs a PostgreSQL URL (postgresql://OWNER@HOST/DB); "
                        "SQLite is protected by the executor (read-only open, authorizer) instead")
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = psycopg2.connect(dsn, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise RoleError(f"cannot connect to {url.render_as_string(hide_password=True)}: "
                        f"{str(exc).strip().splitlines()[0]}") from None
    conn.autocommit = False
    lines: list[str] = []
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_database(), current_user, "
                        "(SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user)")
            dbname, me, can = cur.fetchone()
            if not can:
                raise RoleError(f"account {me} may not create roles: run grant-readonly with the database "
                                "owner or a superuser that has CREATEROLE")
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            present = {r[0] for r in cur.fetchall()}
            exposed = [t for t in catalog.exposed_tables if t in present and t not in FORBIDDEN_TABLES]
            missing = [t for t in catalog.exposed_tables if t not in present]
            if missing:
                lines.append(f"warning: exposed tables not in the database (skipped): {', '.join(missing)}")
            logins = {READER_ROLE: None} | {role_login(r): r for r in catalog.roles}
            password = os.environ.get("ABORDO_READER_PASSWORD") or None
            for login, role in logins.items():
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,))
                created = cur.fetchone() is None
                if created:
                    cur.execute(f"CREATE ROLE {_q(login)} LOGIN")
                cur.execute(f"ALTER ROLE {_q(login)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                            "NOREPLICATION NOBYPASSRLS")
                if password:
                    cur.execute(f"ALTER ROLE {_q(login)} PASSWORD %s", (password,))
                # Role-level defaults are a floor, not a limit (F4); the executor re-applies them per tx.
                cur.execute(f"ALTER ROLE {_q(login)} SET default_transaction_read_only = on")
                cur.execute(f"ALTER ROLE {_q(login)} SET statement_timeout = '{int(timeout_ms)}ms'")
                cur.execute(f"ALTER ROLE {_q(login)} SET idle_in_transaction_session_timeout = "
                            f"'{IDLE_IN_TX_MS}ms'")
                # Start from nothing so a catalog change removes grants on re-run.
                cur.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {_q(login)}")
                cur.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {_q(login)}")
                for t in FORBIDDEN_TABLES:
                    if t in present:
                        cur.execute(f"REVOKE ALL ON TABLE public.{_q(t)} FROM {_q(login)}")
                cur.execute(f"REVOKE CREATE ON SCHEMA public FROM {_q(login)}")
                cur.execute(f"GRANT USAGE ON SCHEMA public TO {_q(login)}")
                cur.execute(f"GRANT CONNECT ON DATABASE {_q(dbname)} TO {_q(login)}")
                cur.execute(f"REVOKE TEMP ON DATABASE {_q(dbname)} FROM {_q(login)}")
                if role is None:
                    for t in exposed:
                        cur.execute(f"GRANT SELECT ON TABLE public.{_q(t)} TO {_q(login)}")
                    lines.append(f"{'created' if created else 'updated'} {login}: SELECT on "
                                 f"{len(exposed)} exposed tables")
                else:
                    hidden_total = []
                    for t in exposed:
                        cols = catalog.readable_columns(t, role)
                        hidden = [c for c in catalog.exposed_tables[t].columns if c not in cols]
                        hidden_total += [f"{t}.{c}" for c in hidden]
                        if cols:
                            cur.execute(f"GRANT SELECT ({', '.join(_q(c) for c in cols)}) ON TABLE "
                                        f"public.{_q(t)} TO {_q(login)}")
                    lines.append(f"{'created' if created else 'updated'} {login}: column SELECT on "
                                 f"{len(exposed)} tables" + (f", hidden: {', '.join(hidden_total)}"
                                                             if hidden_total else ""))
            # Database-wide hardening (PUBLIC).
            cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            cur.execute(f"REVOKE TEMP ON DATABASE {_q(dbname)} FROM PUBLIC")
            lines.append(f"revoked CREATE on schema public and TEMP on database {dbname} from PUBLIC")
            cur.execute("SELECT p.oid::regprocedure::text FROM pg_proc p "
                        "WHERE p.proname = ANY(%s) OR p.proname LIKE 'dblink%%'",
                        (list(SIDE_EFFECT_FUNCTIONS),))
            funcs = sorted(r[0] for r in cur.fetchall())
            for f in funcs:
                cur.execute(f"REVOKE EXECUTE ON FUNCTION {f} FROM PUBLIC")
                for login in logins:
                    cur.execute(f"REVOKE EXECUTE ON FUNCTION {f} FROM {_q(login)}")
            lines.append(f"revoked EXECUTE from PUBLIC on {len(funcs)} side-effect functions "
                         "(large objects, pg_notify, pg_logical_emit_message, advisory locks, dblink)")
            lines.append(f"roles: default_transaction_read_only=on, statement_timeout={int(timeout_ms)}ms, "
                         f"idle_in_transaction_session_timeout={IDLE_IN_TX_MS}ms"
                         + ("; password set from ABORDO_READER_PASSWORD" if password else ""))
        conn.commit()
    except psycopg2.errors.InsufficientPrivilege as exc:
        conn.rollback()
        raise RoleError(f"not enough privileges to set up the read-only roles: "
                        f"{str(exc).strip().splitlines()[0]} (use the database owner or a superuser)") from None
    except psycopg2.Error as exc:
        conn.rollback()
        raise RoleError(f"setting up the read-only roles failed: {str(exc).strip().splitlines()[0]}") from None
    finally:
        conn.close()
    return lines
