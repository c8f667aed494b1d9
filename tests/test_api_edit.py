"""Editing an answer over HTTP (issue 27): `POST /v1/answers/{id}/edit` changes the kept plan with no
model call, through the same guard and audit; ids are per user; a bad edit is a 422 problem. Real HTTP
on a loopback port, the real seeded demo, a scripted model that would show any call it got."""
from __future__ import annotations

import httpx
import pytest

from sql_tools.audit import get_audit_log
from tests.fakes import ScriptedChat
from tests.test_api_gate import _make, auth, last

NO_SHOWS = ("SELECT origin_city, COUNT(*) AS n FROM coupons WHERE coupon_status = 'no_show' "
            "GROUP BY origin_city ORDER BY n DESC LIMIT 3")


@pytest.fixture(scope="module")
def env(small_demo_db, tmp_path_factory):
    e = _make(small_demo_db, tmp_path_factory.mktemp("edit"), api_rate_per_minute=100_000, query_path="views",
              chat=ScriptedChat([NO_SHOWS]))
    yield e
    e.server.stop()


def post(env, path: str, body: dict, role: str = "supervisor") -> httpx.Response:
    return httpx.post(env.url + path, json=body, headers=auth(env, role), timeout=60)


def asked(env, role: str = "supervisor") -> dict:
    env.chat.script(NO_SHOWS)
    r = post(env, "/v1/ask", {"question": "Which three origin cities had the most no-shows?"}, role)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_answer_is_edited_by_its_id_with_no_model_call_and_audited(env):
    first = asked(env)
    assert first["answer_id"].startswith("a_") and first["plan"]["editable"]
    calls = len(env.chat.prompts)
    r = post(env, f"/v1/answers/{first['answer_id']}/edit", {"kind": "set_grouping", "columns": ["destination_city"]})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert len(env.chat.prompts) == calls
    assert edited["plan"]["groupings"] == ["destination_city"] and edited["edited_from"] == first["answer_id"]
    assert edited["answer_id"] not in (None, first["answer_id"])
    assert last(env).trace.startswith("views,edit: set_grouping destination_city")
    r = post(env, f"/v1/answers/{edited['answer_id']}/edit", {"kind": "set_limit", "limit": 5})
    assert r.status_code == 200 and len(r.json()["rows"]) == 5 and r.json()["plan"]["limit"] == 5


def test_another_users_answer_is_not_found_and_a_bad_edit_is_a_problem(env):
    first = asked(env, "supervisor")
    r = post(env, f"/v1/answers/{first['answer_id']}/edit", {"kind": "set_limit", "limit": 1}, role="analyst")
    assert r.status_code == 404 and r.json()["code"] == "answer_not_found"
    r = post(env, f"/v1/answers/{first['answer_id']}/edit", {"kind": "add_filter", "columns": ["password_hash"],
                                                              "values": ["x"]})
    assert r.status_code == 422 and r.json()["code"] == "edit_invalid" and "password_hash" in r.json()["detail"]
    r = post(env, f"/v1/answers/{first['answer_id']}/edit", {"kind": "drop_table"})
    assert r.status_code == 422
    r = post(env, "/v1/answers/a_nope/edit", {"kind": "set_limit", "limit": 1})
    assert r.status_code == 404
    r = post(env, "/v1/answers/'; DROP TABLE x/edit", {"kind": "set_limit", "limit": 1})
    assert r.status_code in (404, 422)


def test_each_user_keeps_a_bounded_number_of_plans(env, monkeypatch):
    from assistant import answer_plans

    monkeypatch.setattr(answer_plans, "KEEP_PER_USER", 3)
    ids = [answer_plans.keep(env.app_url, "someone", "agent", "q", NO_SHOWS) for _ in range(5)]
    assert [answer_plans.find(env.app_url, i, "someone") is not None for i in ids] == [False, False, True, True, True]
    assert answer_plans.find(env.app_url, ids[-1], "someone else") is None


def test_a_supervisor_verifies_an_answer_and_others_get_it_for_other_values_at_once(env):
    q1 = "¿Cuántos pasajeros volaron de MEX a CUN el 2026-06-10?"
    env.chat.script("SELECT COUNT(*) AS n FROM coupons WHERE origin = 'MEX' AND destination = 'CUN' "
                    "AND flight_date = '2026-06-10' AND coupon_status = 'flown'")
    agent_answer = post(env, "/v1/ask", {"question": q1}, role="agent").json()
    r = post(env, f"/v1/answers/{agent_answer['answer_id']}/verify", {}, role="agent")
    assert r.status_code == 403
    first = post(env, "/v1/ask", {"question": q1}).json()
    r = post(env, f"/v1/answers/{first['answer_id']}/verify", {})
    assert r.status_code == 201, r.text
    assert r.json()["verified"]["verified_by"] == "supervisor"
    assert any(r.code == "verified" for r in get_audit_log(env.app_url).tail(3))
    calls = len(env.chat.prompts)
    again = post(env, "/v1/ask", {"question": "¿Cuántos pasajeros volaron de GDL a MEX el 2026-06-12?"},
                 role="agent").json()
    assert len(env.chat.prompts) == calls and again["llm_calls"] == 0
    assert again["path"] == "verified" and again["verified"]["by"] == "supervisor"
    assert "'GDL'" in again["sql_generated"]


def test_a_thumbs_down_with_a_correction_waits_for_a_supervisor_and_is_never_verified(env):
    from assistant import verified as vq
    from assistant.feedback import review_queue

    before = len(vq.entries(env.app_url))
    r = post(env, "/v1/feedback", {"question": "¿Cuántos no-shows por ciudad?", "rating": -1,
                                   "sql": NO_SHOWS, "comment": "debió ser por ciudad de destino"}, role="agent")
    assert r.status_code == 201
    queued = review_queue(env.app_url)
    assert queued[0].comment == "debió ser por ciudad de destino" and queued[0].user == "agente"
    assert len(vq.entries(env.app_url)) == before


def test_an_older_store_gets_the_correction_column_and_keeps_its_ratings(tmp_path):
    import sqlalchemy as sa

    from assistant.feedback import Feedback, add_feedback, list_feedback

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:        # the feedback table as the first release made it
        conn.exec_driver_sql("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, ts DATETIME NOT NULL, "
                             "user_name TEXT NOT NULL, role TEXT NOT NULL, question TEXT NOT NULL, sql TEXT, "
                             "rating INTEGER NOT NULL, lang TEXT, model TEXT, error TEXT)")
        conn.exec_driver_sql("INSERT INTO feedback (ts, user_name, role, question, rating) "
                             "VALUES ('2026-01-01 00:00:00', 'ana', 'agent', 'old one', 1)")
    engine.dispose()
    add_feedback(url, Feedback(user="ana", role="agent", question="new one", sql=None, rating=-1, comment="por destino"))
    assert [(f.question, f.comment) for f in list_feedback(url)] == [("new one", "por destino"), ("old one", None)]
