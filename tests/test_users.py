"""Staff accounts: scrypt hashes with a per-user salt in the app store, demo users, the CLI."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from assistant.users import DEMO_USERS, UserError, add_user, ensure_demo_users, list_users, verify


@pytest.fixture
def app_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


def test_add_and_verify(app_url):
    add_user(app_url, "maria", "supervisor", "correct horse")
    assert verify(app_url, "maria", "correct horse").role == "supervisor"
    assert verify(app_url, "maria", "wrong password") is None
    assert verify(app_url, "nobody", "correct horse") is None


def test_passwords_are_salted_hashes_not_text(app_url):
    add_user(app_url, "ana", "agent", "same-password")
    add_user(app_url, "luis", "agent", "same-password")
    engine = sa.create_engine(app_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT salt, password_hash FROM users")).all()
    engine.dispose()
    assert len({r.salt for r in rows}) == 2 and len({r.password_hash for r in rows}) == 2
    assert all(b"same-password" not in r.password_hash for r in rows)


@pytest.mark.parametrize("name,role,password", [("x", "agent", "long enough"), ("ana", "admin", "long enough"),
                                                ("ana", "agent", "short"), ("a b", "agent", "long enough")])
def test_invalid_users_are_refused(app_url, name, role, password):
    with pytest.raises(UserError):
        add_user(app_url, name, role, password)


def test_duplicate_needs_replace(app_url):
    add_user(app_url, "ana", "agent", "first-password")
    with pytest.raises(UserError, match="already exists"):
        add_user(app_url, "ana", "analyst", "second-password")
    add_user(app_url, "ana", "analyst", "second-password", replace=True)
    assert verify(app_url, "ana", "first-password") is None
    assert verify(app_url, "ana", "second-password").role == "analyst"


def test_demo_users_one_per_role_and_idempotent(app_url):
    creds = ensure_demo_users(app_url)
    assert sorted(r for _, _, r in creds) == ["agent", "analyst", "supervisor"]
    add_user(app_url, "agente", "agent", "changed-password", replace=True)
    assert ensure_demo_users(app_url) == creds
    for name, password, role in DEMO_USERS:
        assert verify(app_url, name, password).role == role
    assert len(list_users(app_url)) == 3


def test_cli_add_and_list(app_url, monkeypatch):
    from assistant.cli import main

    monkeypatch.setenv("ABORDO_APP_URL", app_url)
    runner = CliRunner()
    res = runner.invoke(main, ["users", "add", "pepe", "--role", "analyst", "--password", "pepe-secret"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["users", "add", "rosa", "--role", "agent"], input="rosa-secret\nrosa-secret\n")
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["users", "list"])
    assert res.output.splitlines() == ["pepe\tanalyst", "rosa\tagent"]
    res = runner.invoke(main, ["users", "add", "pepe", "--role", "agent", "--password", "whatever-1"])
    assert res.exit_code == 2 and "already exists" in res.output
    assert verify(app_url, "rosa", "rosa-secret").role == "agent"
