"""Staff accounts: scrypt hashes with a per-user salt in the app store, demo users, the CLI."""
from __future__ import annotations

import datetime as dt

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
    from abordo.cli import main

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


# --- API tokens: owner-checked revocation, expiry, the list, an older store ------------------------

def _token_cli(app_url, monkeypatch, *args, env=None):
    from abordo.cli import main

    monkeypatch.setenv("ABORDO_APP_URL", app_url)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(main, ["users", *args])


@pytest.fixture
def two_agents(app_url):
    add_user(app_url, "agente", "agent", "agente-secret")
    add_user(app_url, "agente2", "agent", "agente2-secret")
    return app_url


def _id(token: str) -> str:
    return token.split("_")[1]


def test_cli_revoke_refuses_another_users_token(two_agents, monkeypatch):
    from assistant.users import issue_token, list_tokens, verify_token

    token = issue_token(two_agents, "agente")
    res = _token_cli(two_agents, monkeypatch, "token", "agente2", "--revoke", _id(token))
    assert res.exit_code != 0
    assert f"token {_id(token)} is not agente2's" in res.output and "nothing revoked" in res.output
    assert [t.revoked for t in list_tokens(two_agents)] == [None]
    assert verify_token(two_agents, token).name == "agente"


def test_owner_revokes_own_token(two_agents, monkeypatch):
    from assistant.users import issue_token, revoke_token, verify_token

    token = issue_token(two_agents, "agente")
    res = _token_cli(two_agents, monkeypatch, "token", "agente", "--revoke", _id(token))
    assert res.exit_code == 0, res.output
    assert f"token {_id(token)} of agente revoked" in res.output
    assert verify_token(two_agents, token) is None
    again = _token_cli(two_agents, monkeypatch, "token", "agente", "--revoke", _id(token))
    assert again.exit_code != 0 and "already revoked" in again.output
    # The library call checks the owner too when given one.
    other = issue_token(two_agents, "agente")
    assert not revoke_token(two_agents, _id(other), owner="agente2")
    assert verify_token(two_agents, other).name == "agente"
    assert revoke_token(two_agents, _id(other), owner="agente")
    assert verify_token(two_agents, other) is None


def test_admin_revokes_any_token_only_with_any_user(two_agents, monkeypatch):
    from assistant.users import issue_token, verify_token

    token = issue_token(two_agents, "agente")
    res = _token_cli(two_agents, monkeypatch, "revoke-token", _id(token))
    assert res.exit_code == 2 and "--any-user" in res.output
    assert verify_token(two_agents, token).name == "agente"
    res = _token_cli(two_agents, monkeypatch, "revoke-token", _id(token), "--any-user")
    assert res.exit_code == 0 and f"token {_id(token)} of agente revoked (admin)" in res.output
    assert verify_token(two_agents, token) is None
    assert _token_cli(two_agents, monkeypatch, "revoke-token", "0123456789ab", "--any-user").exit_code == 2


def test_expired_token_is_refused(two_agents):
    from assistant.users import get_token, issue_token, verify_token

    made = dt.datetime(2026, 1, 1, 12, 0)
    token = issue_token(two_agents, "agente", days=1, now=made)
    assert get_token(two_agents, _id(token)).expires == made + dt.timedelta(days=1)
    assert verify_token(two_agents, token, now=made + dt.timedelta(hours=23)).name == "agente"
    assert verify_token(two_agents, token, now=made + dt.timedelta(days=1)) is None
    assert verify_token(two_agents, token) is None          # the real clock: long past
    fresh = issue_token(two_agents, "agente")
    assert verify_token(two_agents, fresh).name == "agente"
    assert verify_token(two_agents, fresh, now=dt.datetime.now(dt.UTC).replace(tzinfo=None)
                        + dt.timedelta(days=91)) is None
    with pytest.raises(UserError, match="1 to 3650 days"):
        issue_token(two_agents, "agente", days=0)


def test_default_lifetime_comes_from_the_setting(two_agents, monkeypatch, tmp_path):
    from assistant.users import DEFAULT_TOKEN_DAYS, get_token
    from db.errors import ConfigError
    from db.settings import load_settings

    assert load_settings(env={}).token_days == DEFAULT_TOKEN_DAYS == 90
    assert load_settings(env={"ABORDO_TOKEN_DAYS": "7"}).token_days == 7
    cfg = tmp_path / "abordo.toml"
    cfg.write_text("token_days = 30\n", encoding="utf-8")
    assert load_settings(env={"ABORDO_CONFIG": str(cfg)}).token_days == 30
    with pytest.raises(ConfigError, match="token_days"):
        load_settings(env={"ABORDO_TOKEN_DAYS": "0"})
    res = _token_cli(two_agents, monkeypatch, "token", "agente", env={"ABORDO_TOKEN_DAYS": "7"})
    assert res.exit_code == 0, res.output
    t = get_token(two_agents, _id(res.output.strip()))
    assert t.expires - t.created == dt.timedelta(days=7)


def test_days_option_overrides_the_setting(two_agents, monkeypatch):
    from assistant.users import get_token

    res = _token_cli(two_agents, monkeypatch, "token", "agente", "--days", "3", env={"ABORDO_TOKEN_DAYS": "7"})
    assert res.exit_code == 0, res.output
    t = get_token(two_agents, _id(res.output.strip()))
    assert t.expires - t.created == dt.timedelta(days=3)
    assert _token_cli(two_agents, monkeypatch, "token", "agente", "--days", "0").exit_code == 2
    assert _token_cli(two_agents, monkeypatch, "token", "agente", "--days", "3", "--list").exit_code == 2


def test_list_shows_expiry_and_state_never_the_secret(two_agents, monkeypatch):
    from assistant.users import issue_token, revoke_token

    active = issue_token(two_agents, "agente", days=10)
    expired = issue_token(two_agents, "agente", days=1, now=dt.datetime(2026, 1, 1))
    revoked = issue_token(two_agents, "agente")
    assert revoke_token(two_agents, _id(revoked), owner="agente")
    issue_token(two_agents, "agente2")
    res = _token_cli(two_agents, monkeypatch, "token", "agente", "--list")
    assert res.exit_code == 0, res.output
    lines = {line.split()[0]: line for line in res.output.splitlines()}
    assert set(lines) == {_id(active), _id(expired), _id(revoked)}     # only agente's
    assert "expires 2026-01-02 00:00 UTC" in lines[_id(expired)] and lines[_id(expired)].endswith("expired")
    assert "expires" in lines[_id(active)] and lines[_id(active)].endswith("active")
    assert "revoked" in lines[_id(revoked)]
    for token in (active, expired, revoked):
        assert token.split("_", 2)[2] not in res.output
    assert _token_cli(two_agents, monkeypatch, "token", "rosa", "--list").output.strip() == "no tokens for rosa"


def test_an_older_store_gets_the_expires_column(tmp_path, monkeypatch):
    """A store made before tokens had an expiry: the column is added on open, and its tokens lapse at
    created + the default lifetime instead of never."""
    import hashlib
    import secrets

    from assistant.users import list_tokens, verify_token

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = sa.MetaData()
    old_users = sa.Table("users", old, sa.Column("name", sa.Text, primary_key=True),
                         sa.Column("role", sa.Text, nullable=False), sa.Column("salt", sa.LargeBinary, nullable=False),
                         sa.Column("password_hash", sa.LargeBinary, nullable=False),
                         sa.Column("params", sa.Text, nullable=False), sa.Column("created", sa.DateTime, nullable=False))
    old_tokens = sa.Table("api_tokens", old, sa.Column("token_id", sa.Text, primary_key=True),
                          sa.Column("user_name", sa.Text, sa.ForeignKey("users.name"), nullable=False, index=True),
                          sa.Column("token_hash", sa.LargeBinary, nullable=False),
                          sa.Column("created", sa.DateTime, nullable=False), sa.Column("revoked", sa.DateTime))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    tokens = {}
    engine = sa.create_engine(url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(old_users.insert().values(name="agente", role="agent", salt=b"s" * 16, password_hash=b"h" * 32,
                                               params="16384,8,1", created=now))
        for label, age in (("recent", 10), ("old", 100)):
            token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
            conn.execute(old_tokens.insert().values(token_id=token_id, user_name="agente", created=now - dt.timedelta(days=age),
                                                    token_hash=hashlib.sha256(secret.encode()).digest()))
            tokens[label] = f"abordo_{token_id}_{secret}"
    assert "expires" not in {c["name"] for c in sa.inspect(engine).get_columns("api_tokens")}

    assert verify_token(url, tokens["recent"]).name == "agente"
    assert verify_token(url, tokens["old"]) is None
    assert verify_token(url, tokens["recent"], legacy_days=5) is None
    assert "expires" in {c["name"] for c in sa.inspect(engine).get_columns("api_tokens")}
    listed = {t.token_id: t for t in list_tokens(url, "agente")}
    assert all(t.expiry_assumed for t in listed.values())
    assert listed[_id(tokens["recent"])].expires == now - dt.timedelta(days=10) + dt.timedelta(days=90)
    res = _token_cli(url, monkeypatch, "token", "agente", "--list")
    assert "assumed" in res.output and "expired" in res.output and "active" in res.output
    engine.dispose()
