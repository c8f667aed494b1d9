"""`abordo eval` without the real model: loading, placeholder filling, scoring rules, a whole run with a
fake chat model (exact accuracy figures), --compare, and bad input."""
from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import unicodedata
from decimal import Decimal

import pytest
from click.testing import CliRunner
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

from abordo.cli import main
from evaluation import cli as eval_cli
from evaluation.compare import compare_results, has_top_level_order_by, normalise
from evaluation.errors import EvalError
from evaluation.placeholders import PlaceholderFiller, placeholders_of
from evaluation.questions import load_questions, question_lines
from evaluation.readonly_db import ReadOnlyDB
from tests.conftest import SHARED

DEV = SHARED / "eval" / "dev-questions.jsonl"
SPIDER = SHARED / "eval-data" / "spider-aviation"


@pytest.fixture(scope="module")
def rodb(small_demo_db):
    db = ReadOnlyDB(f"sqlite:///{small_demo_db}")
    yield db
    db.close()


def _plain(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).lower()


# ---------------------------------------------------------------- loading

def test_loads_both_formats():
    dev = load_questions(DEV)
    assert len(dev) == 60 and {q.lang for q in dev} == {"es", "en"}
    assert all(q.gold.get("sqlite") and q.gold.get("postgres") for q in dev)
    spider = load_questions(SPIDER / "questions.jsonl")
    assert len(spider) == 258 and {q.db_id for q in spider} == {"flight_1", "flight_4", "aircraft",
                                                                 "flight_company", "pilot_record"}
    assert spider[0].gold_sql("sqlite") == "SELECT count(*) FROM Aircraft" and spider[0].category == "flight_1"


def test_question_lines_is_the_one_reader(tmp_path):
    """Numbered objects, blank lines skipped; what the benchmarks read is what `abordo eval` reads."""
    f = tmp_path / "q.jsonl"
    f.write_text('{"id": "a", "question": "uno"}\n\n{"question": "dos", "sql": "SELECT 1", "db_id": "x"}\n')
    assert [(n, q["question"]) for n, q in question_lines(f)] == [(1, "uno"), (3, "dos")]
    assert [q.question for q in load_questions(DEV)] == [q["question"] for _, q in question_lines(DEV)]


def test_postgrespro_questions_load():
    from pathlib import Path

    qs = load_questions(Path(__file__).parent / "data" / "eval" / "postgrespro-questions.jsonl")
    assert 10 <= len(qs) <= 15 and {q.lang for q in qs} == {"es", "en"}


def test_postgrespro_gold_runs(tmp_path):
    import gzip
    import shutil
    from pathlib import Path

    db = tmp_path / "pp.sqlite"
    with gzip.open(SHARED / "eval-data" / "postgrespro-demo" / "demo-2025-generated.sqlite.gz") as src, \
            open(db, "wb") as dst:
        shutil.copyfileobj(src, dst)
    ro = ReadOnlyDB(f"sqlite:///{db}")
    for q in load_questions(Path(__file__).parent / "data" / "eval" / "postgrespro-questions.jsonl"):
        _, rows = ro.run(q.gold_sql("sqlite"))
        assert rows, q.id
    ro.close()


# ---------------------------------------------------------------- placeholders

def test_placeholder_filling_is_deterministic_and_satisfies_constraints(rodb, small_demo_db):
    qs = [q for q in load_questions(DEV) if placeholders_of(q)]
    assert len(qs) == 6
    first = [PlaceholderFiller(rodb).fill(q) for q in qs]
    again = [PlaceholderFiller(rodb).fill(q) for q in qs]
    assert [(q.question, q.gold) for q in first] == [(q.question, q.gold) for q in again]
    conn = sqlite3.connect(small_demo_db)
    names = [" ".join(filter(None, r)) for r in
             conn.execute("SELECT first_name, last_name, second_last_name FROM passengers")]
    for q in first:
        assert "{" not in q.question and all("{" not in s for s in q.gold.values()), q.id
        f = q.fill
        if "PASSENGER_ID" in f:
            full = f.get("PASSENGER_FULL_NAME") or f["PASSENGER_FULL_NAME_PLAIN"]
            assert sum(_plain(n) == _plain(full) for n in names) == 1, q.id     # unique, accent-insensitive
            if "PASSENGER_FULL_NAME_PLAIN" in f:
                assert f["PASSENGER_FULL_NAME_PLAIN"] == _plain(f["PASSENGER_FULL_NAME_PLAIN"]).title() or \
                    _plain(f["PASSENGER_FULL_NAME_PLAIN"]) == f["PASSENGER_FULL_NAME_PLAIN"].lower()
        if "FLIGHT_DESIGNATOR_LOOSE" in f:
            assert re.fullmatch(r"xa\d{4}", f["FLIGHT_DESIGNATOR_LOOSE"])
        if "FLIGHT_DESIGNATOR_SPACED" in f:
            assert f["FLIGHT_DESIGNATOR_SPACED"] == f"XA {f['FLIGHT_NUMBER']}"
        if "FLIGHT_DATE" in f:   # the flight departs on that UTC date
            assert conn.execute("SELECT COUNT(*) FROM flights WHERE carrier_code='XA' AND flight_number=? AND "
                                "date(scheduled_departure)=?", (int(f["FLIGHT_NUMBER"]), f["FLIGHT_DATE"])).fetchone()[0]
        if "TICKET_NUMBER_DASHED" in f:
            assert f["TICKET_NUMBER_DASHED"].replace("-", "") == f["TICKET_NUMBER"]
            assert f["TICKET_NUMBER_DASHED"][3] == "-"
        if "RECORD_LOCATOR_LC" in f:
            assert f["RECORD_LOCATOR_LC"] == f["RECORD_LOCATOR"].lower()
        assert rodb.run(q.gold_sql("sqlite"))[1], q.id     # the gold answer is not empty
    by_id = {q.id: q for q in first}
    # notes-driven conditions: a late flight; a ticket with two coupons; a passenger on today's flight
    late = by_id["dev-030"].fill
    row = conn.execute("SELECT actual_departure > scheduled_departure FROM flights WHERE carrier_code='XA' AND "
                       "flight_number=? AND date(scheduled_departure)=?",
                       (int(late["FLIGHT_NUMBER"]), late["FLIGHT_DATE"])).fetchone()
    assert row[0] == 1
    tn = by_id["dev-028"].fill["TICKET_NUMBER"]
    assert conn.execute("SELECT COUNT(*) FROM ticket_segments WHERE ticket_number=?", (tn,)).fetchone()[0] == 2
    conn.close()


def test_unknown_placeholder_is_an_error(rodb):
    from evaluation.questions import Question

    q = Question("x-1", "en", "who has {SEAT_MAP}?", {"sqlite": "SELECT 1"})
    with pytest.raises(EvalError, match="SEAT_MAP"):
        PlaceholderFiller(rodb).fill(q)


# ---------------------------------------------------------------- comparison rules

def test_order_matters_only_with_top_level_order_by():
    assert has_top_level_order_by("SELECT a FROM t ORDER BY a")
    assert not has_top_level_order_by("SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3) s")
    assert not has_top_level_order_by("SELECT 'order by' FROM t")
    assert not has_top_level_order_by("SELECT a, ROW_NUMBER() OVER (ORDER BY b) FROM t")
    assert compare_results([(1,), (2,)], [(2,), (1,)], ordered=False).correct
    res = compare_results([(1,), (2,)], [(2,), (1,)], ordered=True)
    assert not res.correct and res.reason == "order_mismatch"
    assert compare_results([(1,), (1,), (2,)], [(1,), (2,), (2,)], ordered=False).reason == "value_mismatch"


def test_numbers_nulls_timestamps_and_column_names():
    assert compare_results([(1.004, None)], [(Decimal("1.0"), None)], ordered=False).correct
    assert not compare_results([(1.01,)], [(1.0,)], ordered=False).correct
    assert compare_results([(3,)], [(3.0,)], ordered=False).correct
    assert compare_results([("2026-06-15 10:00:00",)], [(dt.datetime(2026, 6, 15, 10, 0),)], ordered=False).correct
    assert compare_results([("2025-02-01 10:00:00+00:00",)], [("2025-02-01T10:00:00",)], ordered=False).correct
    assert compare_results([("2026-06-15",)], [(dt.date(2026, 6, 15),)], ordered=False).correct
    assert normalise(None) is None and normalise("abc") == "abc"
    res = compare_results([(1,), (2,)], [(1,)], ordered=False)
    assert res.reason == "row_count" and "gold 2 rows" in res.detail
    assert compare_results([(1, 2)], [(1,)], ordered=False).reason == "column_count"


def test_row_cap_of_the_role():
    gold = [(i,) for i in range(10)]
    assert compare_results(gold, [(i,) for i in range(5)], ordered=True, cap=5).correct
    assert compare_results(gold, [(i,) for i in (9, 3, 1, 0, 2)], ordered=False, cap=5).correct
    assert not compare_results(gold, [(i,) for i in (11, 3, 1, 0, 2)], ordered=False, cap=5).correct


# ---------------------------------------------------------------- a whole run with a fake model

class QuestionFake(FakeListChatModel):
    """Answers according to the question found in the conversation's user messages (a repair call's
    last message is only the error; the question is in its first turn)."""

    model_name: str = "fake"
    rules: list = Field(default_factory=list)

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        text = "\n".join(m.content for m in messages if isinstance(m, HumanMessage))
        for needle, reply in self.rules:
            if needle in text:
                return reply(text) if callable(reply) else reply
        return "SELECT 1"

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        """The pipeline streams SQL replies (to cut a looping one short): the reply in one chunk."""
        yield ChatGenerationChunk(message=AIMessageChunk(content=self._call(messages, stop=stop, **kwargs)))


def _write(path, items):
    path.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")


def _run(args, env=None):
    return CliRunner().invoke(main, args, env={"ABORDO_SUMMARIES": "off", "ABORDO_QUERY_PATH": "tables", **(env or {})})


@pytest.fixture
def fake_run(small_demo_db, tmp_path, monkeypatch):
    dev = {q["id"]: q for q in map(json.loads, DEV.read_text(encoding="utf-8").splitlines())}
    chosen = [dev[i] for i in ("dev-003", "dev-002", "dev-005", "dev-027", "dev-010")]
    qfile = tmp_path / "q.jsonl"
    _write(qfile, chosen)
    loc = lambda t: re.search(r"booking (\w{6})", t).group(1).upper()
    rules = [
        (dev["dev-003"]["question"], dev["dev-003"]["sql_sqlite"]),                       # right
        (dev["dev-002"]["question"], "SELECT last_name, first_name FROM passengers WHERE nationality = 'AR'"),  # wrong
        (dev["dev-005"]["question"], dev["dev-005"]["sql_sqlite"]),                       # right
        ("Who is travelling on booking", lambda t: dev["dev-027"]["sql_sqlite"].replace("{RECORD_LOCATOR}", loc(t))),
        (dev["dev-010"]["question"], "SELECT nothing FROM nowhere"),                      # rejected twice
    ]
    fake = QuestionFake(responses=["unused"], rules=rules)
    monkeypatch.setattr(eval_cli, "make_chat", lambda settings: fake)
    return qfile, chosen


def test_whole_run_with_fake_model(fake_run, small_demo_db, tmp_path):
    qfile, chosen = fake_run
    out = tmp_path / "run.json"
    res = _run(["eval", "--questions", str(qfile), "--db", f"sqlite:///{small_demo_db}", "--json", str(out),
                "--no-progress"])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    s = data["systems"]["abordo"]["summary"]
    recs = {r["id"]: r for r in data["systems"]["abordo"]["records"]}
    assert not any(r["fast_path"] for r in recs.values())
    assert (s["questions"], s["correct"], s["accuracy"]) == (5, 3, 0.6)
    assert {k: recs[k]["correct"] for k in recs} == {"dev-003": True, "dev-002": False, "dev-005": True,
                                                     "dev-027": True, "dev-010": False}
    assert recs["dev-002"]["reason"] == "value_mismatch"
    assert recs["dev-010"]["reason"] not in ("", "value_mismatch")
    assert recs["dev-027"]["fill"]["RECORD_LOCATOR"]
    langs = {q["lang"] for q in chosen}
    assert set(s["by_lang"]) == langs
    assert s["llm_calls_per_q"] == pytest.approx((1 + 1 + 1 + 1 + 2) / 5)
    assert data["run"]["role"] == "supervisor" and data["machine"]["cores"]
    assert "accuracy" in res.output and "== failures: abordo ==" in res.output
    assert "dev-002" in res.output and "predicted:" in res.output and "gold:" in res.output


def test_an_eval_counts_verified_questions_only_when_told(fake_run, small_demo_db, tmp_path):
    """By default the run's store has no verified question (held-out figures are the model's); with
    `--verified FILE` (an export) a question of a verified shape is answered from it, with no model call."""
    from assistant import verified
    from assistant.pipeline import Assistant
    from db.settings import Settings

    qfile, _ = fake_run
    store = f"sqlite:///{tmp_path / 'team.sqlite'}"
    team = Assistant(Settings(database_url=f"sqlite:///{small_demo_db}", app_url=store, query_path="tables"),
                     role="supervisor", user="supervisor")
    team.verify("dame nombre y apellido de los pasajeros con nacionalidad peruana",
                "SELECT first_name, last_name FROM passengers WHERE nationality = 'PE'", "tables")
    export = tmp_path / "verified.jsonl"
    export.write_text("\n".join(verified.export_lines(store)) + "\n", encoding="utf-8")
    runs = {}
    for name, extra in (("plain", []), ("told", ["--verified", str(export)])):
        out = tmp_path / f"{name}.json"
        res = _run(["eval", "--questions", str(qfile), "--db", f"sqlite:///{small_demo_db}", "--json", str(out),
                    "--no-progress", *extra])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads(out.read_text())
    plain, told = ({r["id"]: r for r in runs[n]["systems"]["abordo"]["records"]} for n in ("plain", "told"))
    assert runs["plain"]["run"]["verified_questions"] == 0 and runs["told"]["run"]["verified_questions"] == 1
    assert not plain["dev-002"]["correct"] and plain["dev-002"]["path"] != "verified"
    assert told["dev-002"]["correct"] and told["dev-002"]["path"] == "verified" and told["dev-002"]["llm_calls"] == 0
    assert {k: r["correct"] for k, r in told.items() if k != "dev-002"} == \
        {k: r["correct"] for k, r in plain.items() if k != "dev-002"}


def test_compare_shows_better_and_worse(fake_run, small_demo_db, tmp_path):
    qfile, _ = fake_run
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    assert _run(["eval", "--questions", str(qfile), "--db", f"sqlite:///{small_demo_db}", "--json", str(old),
                 "--no-progress"]).exit_code == 0
    data = json.loads(old.read_text())
    for r in data["systems"]["abordo"]["records"]:
        if r["id"] == "dev-002":
            r["correct"] = True         # pretend the old run had it right ...
        if r["id"] == "dev-010":
            r["correct"] = False
    data["systems"]["abordo"]["records"] = [r for r in data["systems"]["abordo"]["records"]]
    new.write_text(json.dumps(data))
    data2 = json.loads(old.read_text())
    for r in data2["systems"]["abordo"]["records"]:
        if r["id"] == "dev-010":
            r["correct"] = True         # ... and the new one gets dev-010 right
    data2["systems"]["abordo"]["summary"]["accuracy"] = 0.8
    old.write_text(json.dumps(data))
    new.write_text(json.dumps(data2))
    res = _run(["eval", "--compare", str(old), str(new)])
    assert res.exit_code == 0, res.output
    assert "better (1): dev-010" in res.output
    assert "worse (1): dev-002" in res.output
    assert "accuracy" in res.output and "+" in res.output


def test_spider_run_with_drafted_catalogs(tmp_path, monkeypatch):
    items = [json.loads(line) for line in (SPIDER / "questions.jsonl").read_text().splitlines()]
    pick = [next(i for i in items if i["db_id"] == "pilot_record"), next(i for i in items if i["db_id"] == "flight_1")]
    qfile = tmp_path / "spider.jsonl"
    _write(qfile, pick)
    rules = [(pick[0]["question"], pick[0]["sql"]), (pick[1]["question"], "SELECT 12345")]
    monkeypatch.setattr(eval_cli, "make_chat", lambda s: QuestionFake(responses=["x"], rules=rules))
    out = tmp_path / "s.json"
    res = _run(["eval", "--questions", str(qfile), "--db-dir", str(SPIDER / "database"), "--json", str(out),
                "--no-progress"])
    assert res.exit_code == 0, res.output
    s = json.loads(out.read_text())["systems"]["abordo"]["summary"]
    assert (s["correct"], s["questions"]) == (1, 2)
    assert set(s["by_category"]) == {"pilot_record", "flight_1"}


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("content,needle", [(None, "does not exist"), ('{"id": "a", "question": \n', "not valid JSON"),
                                            ('{"id": "a"}\n', "no 'question'")])
def test_bad_input_is_one_line_exit_2(tmp_path, small_demo_db, content, needle):
    f = tmp_path / "q.jsonl"
    if content is not None:
        f.write_text(content)
    res = _run(["eval", "--questions", str(f), "--db", f"sqlite:///{small_demo_db}", "--no-progress"])
    assert res.exit_code == 2
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0], res.output


def test_compare_with_bad_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    res = _run(["eval", "--compare", str(bad), str(bad)])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1


# ---------------------------------------------------------------- the baseline's plumbing (fake model)

def test_baseline_records_last_sql_and_is_read_only(small_demo_db):
    pytest.importorskip("langchain_community")
    pytest.importorskip("langchain_classic")
    from evaluation.baseline import LangChainSqlAgent

    replies = ["Thought: count them\nAction: sql_db_query\nAction Input: SELECT COUNT(*) FROM passengers",
               "Thought: I know\nFinal Answer: 400"]
    agent = LangChainSqlAgent(FakeListChatModel(responses=replies), f"sqlite:///{small_demo_db}")
    ans = agent.ask("How many passengers are there?")
    assert ans.sql == "SELECT COUNT(*) FROM passengers" and ans.text == "400"
    assert ans.llm_calls == 2 and ans.queries_run == 1 and ans.error is None
    with pytest.raises(Exception, match="readonly|read-only|read only"), agent.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM passengers")
    agent.close()


def test_a_crashing_question_is_scored_wrong_not_fatal(fake_run, small_demo_db, tmp_path, monkeypatch):
    from assistant.pipeline import Assistant

    qfile, _ = fake_run
    real_ask = Assistant.ask

    def ask(self, question, **kw):
        if "argentina" in question:
            raise RuntimeError("boom")
        return real_ask(self, question, **kw)

    monkeypatch.setattr(Assistant, "ask", ask)
    out = tmp_path / "crash.json"
    res = _run(["eval", "--questions", str(qfile), "--db", f"sqlite:///{small_demo_db}", "--json", str(out),
                "--no-progress"])
    assert res.exit_code == 0, res.output
    recs = {r["id"]: r for r in json.loads(out.read_text())["systems"]["abordo"]["records"]}
    assert recs["dev-002"]["reason"] == "crash:RuntimeError" and not recs["dev-002"]["correct"]
    assert recs["dev-003"]["correct"]
    assert not (tmp_path / "crash.json.partial.jsonl").exists()


def test_prediction_beyond_the_cap_is_cut_like_the_executor(rodb):
    from evaluation.questions import Question
    from evaluation.scoring import score

    q = Question("c-1", "en", "all passengers", {"sqlite": "SELECT passenger_id FROM passengers ORDER BY passenger_id"})
    res = score(rodb, q, "SELECT passenger_id FROM passengers ORDER BY passenger_id LIMIT 11", cap=10)
    assert res.correct and res.capped and res.pred_rows == 10
