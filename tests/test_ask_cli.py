"""`abordo ask` and `abordo chat` from the command line, on the real small demo with a fake model that
records when its prompt prefix was made ready: a one-shot question restores only when it needs the
model (a card needs none), and the terminal chat restores in the background while the asker types."""
from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

import assistant.llm
from tests.fakes import PrefixChat


def warmed(chat) -> list[tuple[str, str, int]]:
    """(thread, which prefix, calls made before it) for each prefix made ready."""
    return [(thread, "views" if "CREATE VIEW" in text else "tables", calls) for thread, text, calls in chat.warmed]


@pytest.fixture
def cli(small_demo_db, tmp_path, monkeypatch):
    """Runs `abordo ...` in-process with `chat` as the configured model and its own prefix folder."""
    from abordo.cli import main

    env = {"ABORDO_DATABASE_URL": f"sqlite:///{small_demo_db}", "ABORDO_APP_URL": f"sqlite:///{tmp_path / 'app.sqlite'}",
           "ABORDO_PREFIX_DIR": str(tmp_path / "prefix"), "ABORDO_QUERY_PATH": "views"}

    def run(chat, *args, input=None):
        monkeypatch.setattr(assistant.llm, "make_chat_model", lambda settings, **kw: chat)
        return CliRunner().invoke(main, list(args), env=env, input=input)

    return run


def _saved_states(monkeypatch, header: dict) -> None:
    from assistant.pipeline import Assistant

    monkeypatch.setattr(Assistant, "saved_prefix", lambda self, messages=None: header)


@pytest.fixture
def all_saved(monkeypatch):
    """Every prefix has a saved state on this machine (what `make demo` leaves)."""
    _saved_states(monkeypatch, {"n_tokens": 1})


def test_a_one_shot_question_restores_the_prefix_it_needs_at_its_model_call(cli, all_saved):
    chat = PrefixChat(["SELECT COUNT(*) FROM bags"])
    r = cli(chat, "ask", "--json", "How many bags are there?")
    assert r.exit_code == 0, r.output
    answer = json.loads(r.output.strip().splitlines()[-1])
    assert answer["error"] is None and answer["path"] == "views" and answer["llm_calls"] == 1
    assert warmed(chat) == [("MainThread", "views", 0)]            # the views' only, before its call
    assert "reading the prompt prefix" not in r.output


def test_a_one_shot_card_restores_nothing(cli, all_saved, small_demo_db):
    import sqlite3

    with sqlite3.connect(small_demo_db) as conn:
        locator = conn.execute("SELECT record_locator FROM bookings LIMIT 1").fetchone()[0]
    chat = PrefixChat([])
    r = cli(chat, "ask", "--json", f"Booking {locator}")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["card"] and chat.warmed == []


def test_a_machine_without_saved_prefixes_reads_them_all_first_and_says_so(cli, monkeypatch):
    _saved_states(monkeypatch, {})
    chat = PrefixChat(["SELECT COUNT(*) FROM bags"])
    r = cli(chat, "ask", "How many bags are there?")
    assert r.exit_code == 0, r.output
    assert "reading the prompt prefix once for this machine" in r.output
    assert warmed(chat) == [("MainThread", "views", 0), ("MainThread", "tables", 0)]   # both, once, for later runs


def test_the_terminal_chat_restores_in_the_background_while_the_asker_types(cli, all_saved, small_demo_db):
    import sqlite3

    with sqlite3.connect(small_demo_db) as conn:
        bags = conn.execute("SELECT COUNT(*) FROM baggage").fetchone()[0]
    gate = threading.Event()
    chat = PrefixChat(["SELECT COUNT(*) FROM bags"], gate=gate)
    threading.Timer(0.5, gate.set).start()      # the restore ends only after the prompt is up
    r = cli(chat, "chat", input="How many bags are there?\nsalir\n")
    assert r.exit_code == 0, r.output
    assert "Pregunta en español o en inglés" in r.output
    # both prefixes restored on the warm-up thread, and the question's call came after them
    assert warmed(chat) == [("abordo-warm", "views", 0), ("abordo-warm", "tables", 0)]
    assert len(chat.calls) == 1 and f"{bags:,}" in r.output
