"""Worked examples from verified pairs: the bank over the shipped demo pairs, and the pipeline showing the
nearest ones with a question (a scripted fake model on a real seeded SQLite database)."""
from __future__ import annotations

import json

import pytest

from assistant.examples import DEMO_PAIRS, ExampleBank, ExamplesError
from assistant.pipeline import Assistant
from assistant.question.lang import search_form
from db.settings import Settings, load_settings
from tests.fakes import RecordingChat


@pytest.fixture(scope="module")
def bank() -> ExampleBank:
    return ExampleBank.load(DEMO_PAIRS, "sqlite")


def test_the_demo_pairs_load_per_dialect():
    rows = [json.loads(line) for line in DEMO_PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for dialect in ("sqlite", "postgres"):
        bank = ExampleBank.load(DEMO_PAIRS.parent, dialect)       # a directory means its train.jsonl
        assert len(bank.pairs) == sum(r["dialect"] == dialect for r in rows) > 500


def test_the_nearest_pairs_share_the_questions_words_and_differ_in_shape(bank):
    for question in ("¿Cuántas maletas perdidas hubo ayer?", "How many passengers flew titanium to CUN?",
                     "dame los pasajeros de la reserva ABC123"):
        shots = bank.nearest(question, 3)
        assert len(shots) == 3
        words = set(search_form(question).split())
        assert all(words & set(search_form(p.question).split()) for p in shots), shots
        from assistant.examples import _sql_shape

        assert len({_sql_shape(p.sql) for p in shots}) == 3
    assert bank.nearest("¿Cuántas maletas perdidas hubo ayer?", 0) == []
    assert bank.nearest("zzz qqq", 3) == []                   # no shared word: no example rather than a random one


def test_a_missing_or_foreign_pairs_file_is_a_clear_error(tmp_path):
    with pytest.raises(ExamplesError, match="cannot read"):
        ExampleBank.load(tmp_path / "nope.jsonl", "sqlite")
    (tmp_path / "train.jsonl").write_text(json.dumps({"question": "q", "sql": "SELECT 1", "dialect": "postgres"})
                                          + "\n", encoding="utf-8")
    with pytest.raises(ExamplesError, match="no sqlite pairs"):
        ExampleBank.load(tmp_path, "sqlite")


@pytest.mark.parametrize("k", [0, 2])
def test_the_pipeline_shows_k_examples_after_the_cached_prefix(small_demo_db, tmp_path, k):
    settings = Settings(query_path="tables", database_url=f"sqlite:///{small_demo_db}", app_url=f"sqlite:///{tmp_path / 'app.sqlite'}",
                        examples=k)
    chat = RecordingChat(["SELECT COUNT(*) FROM baggage WHERE status = 'lost'"])
    assistant = Assistant(settings, chat_model=chat, role="agent", user="tester")
    ans = assistant.ask("¿Cuántas maletas perdidas hay?")
    assert ans.error is None and ans.rows.iloc[0, 0] >= 0
    (message,) = chat.user_messages
    assert message.endswith("Q: ¿Cuántas maletas perdidas hay?\nSQL:")
    assert message.count("\nSQL: ") == k and ("Verified examples" in message) == (k > 0)
    assert "Verified examples" not in chat.system_messages[0]      # the prefix, and its cache, stay the same


def test_the_settings_read_examples_from_the_environment(tmp_path):
    empty = tmp_path / "abordo.toml"
    empty.write_text("", encoding="utf-8")
    s = load_settings({"ABORDO_EXAMPLES": "3", "ABORDO_EXAMPLE_PAIRS": "/data/pairs"}, config_file=empty)
    assert (s.examples, s.example_pairs) == (3, "/data/pairs")
    assert load_settings({}, config_file=empty).examples == 0
