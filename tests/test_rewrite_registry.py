"""The rewrites as a registry of passes over one parse (issue 24): one rule per module, each (tree,
Context) -> tree or None, run in the order of `RULES` on copies; the trace of what fired travels with the
answer and its audit record; and a question on the path without repair is parsed at most five times."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect

import pytest
from sqlglot.dialects.dialect import Dialect

from assistant.pipeline import Assistant
from assistant.question.asked import read_asked
from assistant.rewrite import RULE_NAMES, RULES, Context, parse, rewrite
from db.settings import Settings
from sql_tools.audit import get_audit_log
from tests.fakes import ScriptedChat

PER_CODE = ("¿Cuántas solicitudes especiales hay por código?", "SELECT COUNT(*) FROM special_service_requests")
MOST_BAGS = ("¿Qué vuelo tiene más maletas?",
             "SELECT f.flight_number, COUNT(*) FROM baggage b JOIN ticket_segments s ON s.segment_id = b.segment_id "
             "JOIN flights f ON f.flight_id = s.flight_id GROUP BY f.flight_number")
PLAIN = ("¿Cuántos vuelos salen de MEX?", "SELECT COUNT(*) FROM flights WHERE origin = 'MEX'")


@pytest.fixture
def settings(small_demo_db, tmp_path) -> Settings:
    return Settings(query_path="tables", database_url=f"sqlite:///{small_demo_db}", app_url=f"sqlite:///{tmp_path / 'app.sqlite'}")


def test_one_rule_per_module_named_by_what_it_does():
    for rule in RULES:
        module = importlib.import_module(rule.__module__)
        assert rule.__module__ == f"assistant.rewrite.{rule.__name__}", rule
        assert [n for n, f in inspect.getmembers(module, inspect.isfunction)
                if f.__module__ == module.__name__ and not n.startswith("_")
                and n in RULE_NAMES] == [rule.__name__]
        assert list(inspect.signature(rule).parameters) == ["tree", "ctx"]
    assert len(set(RULE_NAMES)) == len(RULES) == 16


def test_no_rule_can_read_the_question():
    """What the words ask for comes in `Context.asked`; the context has no question to re-read."""
    fields = {f.name for f in dataclasses.fields(Context)}
    assert "question" not in fields and "asked" in fields
    for rule in RULES:
        tree = ast.parse(inspect.getsource(importlib.import_module(rule.__module__)))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)} | {
            a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
        assert not {n for n in names if "question" in n.lower()}, rule


def test_rewrite_runs_on_copies_and_traces_what_fired():
    tree = parse(PER_CODE[1], "sqlite")
    before = tree.sql()
    words = {"special_service_requests": {"code": frozenset({"codigo", "code"})}}
    out, trace = rewrite(tree, Context("sqlite", asked=read_asked(PER_CODE[0]), grouping_words=words))
    assert tree.sql() == before                           # the caller's tree is left as it was
    assert trace == ("requested_grouping", "grouping_columns_first")[:len(trace)] and trace[0] == "requested_grouping"
    assert "GROUP BY" in out.sql()
    out2, trace2 = rewrite(tree, Context("sqlite", asked=read_asked(PER_CODE[0]), grouping_words=words),
                           skip={"requested_grouping"})
    assert "requested_grouping" not in trace2 and "GROUP BY" not in out2.sql()


@pytest.mark.parametrize(("question", "sql", "fired"), [(*PER_CODE, "requested_grouping"),
                                                        (*MOST_BAGS, "top_of_groups"), (*PLAIN, None)])
def test_the_trace_is_in_the_answer_and_the_audit_record(settings, question, sql, fired):
    ans = Assistant(settings, chat_model=ScriptedChat([sql]), role="agent").ask(question)
    assert ans.error is None, ans.error
    assert ans.to_dict()["trace"] == list(ans.trace)
    record = get_audit_log(settings.app_url).tail(1)[0]
    if fired:
        assert fired in ans.trace and record.trace.split(",") == list(ans.trace)
    else:
        assert ans.trace == () and record.trace is None
        assert record.sql_in == sql               # nothing fired: the guard gets the model's own text


@pytest.mark.parametrize(("question", "sql"), [PER_CODE, MOST_BAGS, PLAIN])
def test_a_question_is_parsed_at_most_five_times(settings, monkeypatch, question, sql):
    """Once after the model answers (checks and rules share it), twice in the guard, twice in the
    restatement: it was about 20, one per rewrite."""
    Assistant(settings, chat_model=ScriptedChat([sql]), role="agent").ask(question)   # schema read, caches warm
    assistant = Assistant(settings, chat_model=ScriptedChat([sql]), role="agent")
    assistant.rewrite_facts                                                          # noqa: B018 - read once
    parses = []
    original = Dialect.parse

    def counted(self, text, **opts):
        parses.append(text)
        return original(self, text, **opts)

    monkeypatch.setattr(Dialect, "parse", counted)
    ans = assistant.ask(question)
    assert ans.error is None and ans.llm_calls == 1
    assert len(parses) <= 5, parses
