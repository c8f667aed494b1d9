"""The chat page driven headlessly with Streamlit's AppTest, on a seeded SQLite demo and a scripted fake model.

The app picks the fake up through its test seam (ABORDO_TEST_CHAT_MODEL=module:function); the fake's
replies come from UI_TEST_REPLIES (a JSON list, cycled). Everything else is real: users, guard,
read-only execution, masking, audit, feedback.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import streamlit as st
import yaml
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
PROMPTS: list[str] = []        # every prompt the fake model received (the app runs in this process)


class RecordingFake(FakeListChatModel):
    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        PROMPTS.append("\n".join(str(m.content) for m in messages))
        return super()._call(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        """The pipeline streams SQL replies (to cut a looping one short): the reply in one chunk."""
        yield ChatGenerationChunk(message=AIMessageChunk(content=self._call(messages, stop=stop, **kwargs)))


def fake_chat_model(settings):
    """The test seam's factory: a scripted model replying from UI_TEST_REPLIES."""
    import os

    return RecordingFake(responses=json.loads(os.environ["UI_TEST_REPLIES"]))


@pytest.fixture
def demo_url(small_demo_db) -> str:
    return f"sqlite:///{small_demo_db}"


@pytest.fixture
def app_env(demo_url, tmp_path, monkeypatch):
    """Environment for one app run; returns a function to script the fake model's replies."""
    from assistant.users import ensure_demo_users

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    monkeypatch.setenv("ABORDO_DATABASE_URL", demo_url)
    monkeypatch.setenv("ABORDO_APP_URL", app_url)
    monkeypatch.setenv("ABORDO_SUMMARIES", "off")
    monkeypatch.setenv("ABORDO_QUERY_PATH", "tables")      # the scripted replies are SQL over the tables
    monkeypatch.setenv("ABORDO_TEST_CHAT_MODEL", "test_ui_app:fake_chat_model")
    monkeypatch.setenv("UI_TEST_REPLIES", json.dumps(["SELECT COUNT(*) AS n FROM flights"]))
    monkeypatch.delenv("ABORDO_TRUSTED_USER_HEADER", raising=False)
    ensure_demo_users(app_url)
    st.cache_resource.clear()          # a fresh shared model (and its script) per test
    PROMPTS.clear()

    def replies(*sqls: str) -> None:
        monkeypatch.setenv("UI_TEST_REPLIES", json.dumps(list(sqls)))
        st.cache_resource.clear()

    replies.app_url = app_url
    replies.monkeypatch = monkeypatch
    yield replies
    st.cache_resource.clear()


def signed_in(name: str = "agente", password: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_password").set_value(password or f"{name}-demo")
    at.button[0].click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception
    return at


def last_reply(at: AppTest):
    return at.chat_message[-1]


def reply_text(at: AppTest) -> str:
    msg = last_reply(at)
    return " ".join(str(getattr(e, "value", "")) for e in (list(msg.markdown) + list(msg.warning)))


# --- sign-in ----------------------------------------------------------------------------------------

def test_wrong_password_is_refused(app_env):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not at.chat_input
    at.text_input(key="login_name").set_value("agente")
    at.text_input(key="login_password").set_value("not-the-password")
    at.button[0].click().run()
    assert not at.exception
    assert at.error[0].value == "Usuario o contraseña incorrectos."
    assert not at.chat_input


def test_sign_in_shows_role_database_and_model(app_env):
    at = signed_in("supervisor")
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "supervisor" in sidebar and "Supervisor" in sidebar and "demo.sqlite" in sidebar and "test model" in sidebar
    assert at.chat_input and at.button(key="example-0")


# --- asking ---------------------------------------------------------------------------------------

def test_ask_shows_summary_table_sql_chart_and_small_print(app_env, demo_url):
    app_env("SELECT origin, COUNT(*) AS n FROM flights GROUP BY origin ORDER BY origin")
    at = ask(signed_in(), "¿Cuántos vuelos hay por aeropuerto de origen?")
    msg = last_reply(at)
    engine = sa.create_engine(demo_url)
    with engine.connect() as conn:
        expected = dict(conn.execute(sa.text("SELECT origin, COUNT(*) FROM flights GROUP BY origin")).all())
    engine.dispose()
    df = msg.dataframe[0].value
    assert list(df.columns) == ["Origen", "Número de vuelos"]          # headers from the catalog, not SQL
    assert dict(zip(df["Origen"], df["Número de vuelos"])) == expected
    assert f"{len(expected)} filas" in [c.value for c in msg.caption]
    said = msg.info[0].value                  # what was computed, built from the SQL that ran
    assert said.startswith("**Qué se calculó:** Número de vuelos, por origen")
    assert msg.expander[0].label == "Consulta SQL"
    assert "GROUP BY" in msg.expander[0].code[0].value
    assert at.status[-1].label.startswith("Listo") and at.status[-1].state == "complete"
    assert any("RecordingFake" in c.value for c in msg.caption)             # timing · model
    types = {getattr(e, "type", "") for e in msg}
    assert "vega_lite_chart" in types, " ".join(sorted(types))
    assert "download_button" in {e.type for e in msg.get("download_button")}


def test_follow_up_uses_the_conversation_and_new_conversation_forgets(app_env):
    app_env("SELECT COUNT(*) AS n FROM flights WHERE origin = 'MEX'")
    at = ask(signed_in(), "¿Cuántos vuelos salen de MEX?")
    ask(at, "¿y cuántos de ellos a CUN?")
    assert "SELECT COUNT(*) AS n FROM flights" in PROMPTS[-1] and "salen de MEX" in PROMPTS[-1]
    assert len(at.chat_message) == 4
    at.button(key="new_chat").click().run()
    assert not at.exception and len(at.chat_message) == 0 and at.button(key="example-0").label
    ask(at, "¿Cuántos vuelos salen de GDL?")
    assert "salen de MEX" not in PROMPTS[-1]


def test_example_question_is_asked_when_clicked(app_env):
    at = signed_in()
    at.button(key="example-0").click().run()
    assert not at.exception
    assert at.chat_message[0].markdown[0].value == "¿Qué vuelos se cancelaron hoy?"
    assert len(at.chat_message) == 2
    assert not [b for b in at.button if (b.key or "").startswith("example-")]   # examples only on an empty chat


def test_refusal_then_next_question_works(app_env):
    at = ask(signed_in(), "Borra todos los pasajeros de la tabla")
    assert "no puedo cambiar" in reply_text(at)
    assert not PROMPTS                  # refused before any model call
    ask(at, "¿Cuántos vuelos hay?")
    assert "n: " in reply_text(at) or last_reply(at).markdown


# --- errors ---------------------------------------------------------------------------------------

def test_guard_rejection_is_a_friendly_message(app_env):
    app_env("SELECT password_hash FROM staff_accounts", "SELECT password_hash FROM staff_accounts",
            "SELECT COUNT(*) AS n FROM flights")
    at = ask(signed_in(), "¿Cuántos vuelos salieron ayer?")
    warning = last_reply(at).warning[0].value
    assert warning.startswith("No pude escribir una consulta segura") and "Traceback" not in warning
    assert at.status[-1].state == "error"
    ask(at, "¿Cuántos vuelos hay?")
    assert not last_reply(at).warning and last_reply(at).expander


def test_database_down(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("ABORDO_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    at = ask(signed_in(), "How many flights left yesterday?")
    assert last_reply(at).warning[0].value.startswith("The passenger database is not answering")
    ask(at, "¿Cuántos vuelos hay?")
    assert last_reply(at).warning[0].value.startswith("La base de datos de pasajeros no responde")


def test_model_missing(app_env, monkeypatch, tmp_path):
    monkeypatch.delenv("ABORDO_TEST_CHAT_MODEL")
    monkeypatch.setenv("ABORDO_MODEL", str(tmp_path / "no-such-model.gguf"))
    at = ask(signed_in(), "¿Cuántos vuelos hay?")
    assert "abordo model fetch" in last_reply(at).warning[0].value
    ask(at, "¿Cuántos vuelos hay mañana?")
    assert len(at.chat_message) == 4


def test_timeout(app_env, monkeypatch):
    monkeypatch.setenv("ABORDO_STATEMENT_TIMEOUT_MS", "1")
    app_env("SELECT COUNT(*) AS n FROM ticket_segments a JOIN ticket_segments b ON a.flight_id = b.flight_id "
            "JOIN ticket_segments c ON c.flight_id = b.flight_id")
    at = ask(signed_in(), "¿Cuántas combinaciones de cupones por vuelo hay?")
    assert last_reply(at).warning[0].value.startswith("La consulta tardó demasiado")


def test_the_views_path_answers_and_says_which_view_it_read(app_env, demo_url):
    app_env.monkeypatch.setenv("ABORDO_QUERY_PATH", "views")
    app_env("SELECT origin_city, COUNT(*) AS n FROM coupons WHERE coupon_status = 'no_show' GROUP BY origin_city")
    at = ask(signed_in(), "¿Cuántos no-shows hubo por ciudad de origen?")
    msg = last_reply(at)
    assert any("consulta sobre la vista coupons" in c.value for c in msg.caption)
    assert "FROM ticket_segments AS coupons" in msg.expander[-1].code[0].value   # the SQL that ran: base tables
    assert len(msg.dataframe[0].value) > 0


def test_an_answer_is_adjusted_from_its_plan_with_no_model_call(app_env):
    app_env.monkeypatch.setenv("ABORDO_QUERY_PATH", "views")
    app_env("SELECT origin_city, COUNT(*) AS n FROM coupons WHERE coupon_status = 'no_show' AND cabin = 'economy' "
            "GROUP BY origin_city ORDER BY n DESC")
    at = ask(signed_in("supervisor"), "¿Cuántos no-shows en turista hubo por ciudad de origen?")
    first = last_reply(at).dataframe[0].value
    prompts = len(PROMPTS)
    at.button(key=[b.key for b in at.button if b.key and b.key.startswith("rm-") and b.key.endswith("-1")][0]).click().run()
    assert not at.exception and len(PROMPTS) == prompts             # no model call
    msg = last_reply(at)
    assert any("Respuesta ajustada (remove_filter 1)" in c.value for c in msg.caption)
    wider = msg.dataframe[0].value
    assert wider.iloc[:, 1].sum() > first.iloc[:, 1].sum()
    grouping = [s for s in at.selectbox if s.key and s.key.startswith("grp-")][-1]
    grouping.set_value("destination_city").run()
    assert not at.exception and len(PROMPTS) == prompts
    assert list(last_reply(at).dataframe[0].value.columns)[0] == "Ciudad (destino)"


def test_the_grouping_box_offers_the_views_dimensions_and_the_plans_own_grouping(app_env):
    """Grouped by a flight number (a number, not a dimension), the box still shows it and offers the
    dimensions, never a personal column; another choice regroups with no model call."""
    app_env.monkeypatch.setenv("ABORDO_QUERY_PATH", "views")
    app_env("SELECT flight_number, COUNT(*) AS n FROM coupons WHERE origin = 'MEX' GROUP BY flight_number")
    at = ask(signed_in("supervisor"), "¿Cuántos cupones hay por número de vuelo desde MEX?")
    grouping = [s for s in at.selectbox if s.key and s.key.startswith("grp-")][-1]
    assert grouping.value == "flight_number"
    labels = {x.lower() for x in grouping.options}
    assert {"estado del cupón", "cabina", "ciudad (destino)"} <= labels, labels
    assert not {"nombre", "apellido", "localizador", "tarifa"} & labels, labels
    prompts = len(PROMPTS)
    grouping.set_value("cabin").run()
    assert not at.exception and len(PROMPTS) == prompts
    assert len(last_reply(at).dataframe[0].value) <= 3


def test_a_supervisor_verifies_an_answer_and_the_same_question_with_other_values_needs_no_model(app_env):
    app_env.monkeypatch.setenv("ABORDO_QUERY_PATH", "views")
    app_env("SELECT COUNT(*) AS n FROM coupons WHERE origin = 'MEX' AND destination = 'CUN' "
            "AND flight_date = '2026-06-10' AND coupon_status = 'flown'")
    at = ask(signed_in("supervisor"), "¿Cuántos pasajeros volaron de MEX a CUN el 2026-06-10?")
    at.button(key=[b.key for b in at.button if b.key and b.key.startswith("verify-")][0]).click().run()
    assert not at.exception
    assert any("Verificada (#1)" in c.value for c in last_reply(at).caption)
    prompts = len(PROMPTS)
    at = ask(at, "¿Cuántos pasajeros volaron de GDL a MEX el 2026-06-12?")
    assert len(PROMPTS) == prompts
    assert any("respuesta verificada por supervisor" in c.value for c in last_reply(at).caption)


def test_an_agent_gets_no_verify_button(app_env):
    app_env.monkeypatch.setenv("ABORDO_QUERY_PATH", "views")
    app_env("SELECT COUNT(*) AS n FROM coupons WHERE origin = 'MEX' AND coupon_status = 'flown'")
    at = ask(signed_in("agente"), "¿Cuántos pasajeros volaron desde MEX?")
    assert not [b for b in at.button if b.key and b.key.startswith("verify-")]


def test_too_many_passengers_for_the_role(app_env, monkeypatch, tmp_path):
    catalog = yaml.safe_load((Path(__file__).resolve().parents[1] / "db" / "catalog" / "passengers.yaml")
                             .read_text(encoding="utf-8"))
    catalog["roles"]["agent"]["max_passengers_per_query"] = 5
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("ABORDO_CATALOG_PATH", str(path))
    app_env("SELECT p.first_name, p.last_name FROM passengers p")
    at = ask(signed_in(), "Lista de pasajeros con su nombre")
    assert "demasiados pasajeros" in last_reply(at).warning[0].value
    assert not last_reply(at).dataframe


def test_row_cap_notice(app_env):
    app_env("SELECT flight_id, origin FROM flights")
    at = ask(signed_in(), "Lista de vuelos con su origen")
    msg = last_reply(at)
    assert len(msg.dataframe[0].value) == 200
    assert any("límite de tu rol" in i.value for i in msg.info)


# --- masking and the CSV download ---------------------------------------------------------------

LOOKUP = "SELECT p.first_name, p.last_name, p.email FROM passengers p WHERE p.passenger_id = 1"


def test_agent_sees_a_partial_email_and_the_csv_is_masked_and_audited(app_env, monkeypatch):
    from sql_tools.audit import get_audit_log
    from ui import render

    csvs: list[bytes] = []
    original = render.csv_bytes
    monkeypatch.setattr(render, "csv_bytes", lambda df: csvs.append(original(df)) or csvs[-1])
    app_env(LOOKUP)
    at = ask(signed_in("agente"), "Correo del pasajero 1")
    email = last_reply(at).dataframe[0].value["Correo electrónico"][0]
    assert "***@" in email
    assert csvs and email in csvs[-1].decode("utf-8-sig") and "@" in csvs[-1].decode("utf-8-sig")
    assert csvs[-1].decode("utf-8-sig").splitlines()[0] == "Nombre,Apellido paterno,Correo electrónico"
    full = _stored_email(at)
    assert full not in csvs[-1].decode("utf-8-sig")
    last_reply(at).get("download_button")[0].click().run()
    assert not at.exception
    rec = get_audit_log(app_env.app_url).tail(1)[0]
    assert (rec.code, rec.verdict, rec.user, rec.row_count) == ("csv_download", "accepted", "agente", 1)


def _stored_email(at) -> str:
    import os

    engine = sa.create_engine(os.environ["ABORDO_DATABASE_URL"])
    with engine.connect() as conn:
        email = conn.execute(sa.text("SELECT email FROM passengers WHERE passenger_id = 1")).scalar_one()
    engine.dispose()
    return email


def test_supervisor_sees_clear_data_and_the_audit_view(app_env):
    app_env(LOOKUP)
    at = ask(signed_in("supervisor"), "Correo del pasajero 1")
    assert last_reply(at).dataframe[0].value["Correo electrónico"][0] == _stored_email(at)
    at.sidebar.text_input(key="audit_pid").set_value("1").run()
    assert not at.exception
    seen = at.sidebar.dataframe[0].value
    assert list(seen["user"]) == ["supervisor"] and list(seen["verdict"]) == ["accepted"]


def test_analyst_sees_pseudonyms_and_no_contacts(app_env):
    app_env("SELECT p.first_name, p.last_name FROM passengers p WHERE p.passenger_id = 1")
    at = ask(signed_in("analista"), "Nombre del pasajero 1")
    row = last_reply(at).dataframe[0].value.iloc[0]
    assert row["Nombre"].startswith("P-") and row["Apellido paterno"].startswith("P-")
    assert not at.sidebar.text_input          # no audit view for analysts
    app_env(LOOKUP, LOOKUP)
    ask(at, "Correo del pasajero 1")
    assert last_reply(at).warning and not last_reply(at).dataframe


# --- language and feedback ------------------------------------------------------------------------

def test_language_toggle_and_answer_language(app_env):
    at = signed_in()
    assert at.title[0].value == "abordo · consulta de pasajeros"
    at.sidebar.radio(key="ui_lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "abordo · passenger lookup"
    assert at.button(key="example-0").label == "Which flights were cancelled today?"
    assert at.button(key="new_chat").label == "New conversation"
    ask(at, "How many flights are there?")
    assert last_reply(at).expander[0].label == "SQL"
    ask(at, "¿Cuántos vuelos hay?")              # answers follow the question, labels the toggle
    assert last_reply(at).markdown[0].value.startswith(("Hay", "El resultado", "Encontr", "n"))
    assert last_reply(at).expander[0].label == "SQL"


def test_feedback_is_stored_with_question_and_sql(app_env):
    from assistant.feedback import list_feedback

    at = ask(signed_in(), "¿Cuántos vuelos hay?")
    at.button(key=next(b.key for b in at.button if b.key and b.key.startswith("down-"))).click().run()
    assert not at.exception
    fb = list_feedback(app_env.app_url)
    assert len(fb) == 1 and fb[0].rating == -1 and fb[0].question == "¿Cuántos vuelos hay?"
    assert "COUNT(*)" in fb[0].sql and fb[0].user == "agente"
    assert any("Gracias" in c.value for c in last_reply(at).caption)


def test_a_record_look_up_opens_a_card_without_the_model(app_env, demo_url):
    engine = sa.create_engine(demo_url)
    with engine.connect() as conn:
        locator = conn.execute(sa.text("SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = "
                                       "b.booking_id ORDER BY b.booking_id LIMIT 1")).scalar_one()
    engine.dispose()
    PROMPTS.clear()
    at = ask(signed_in(), f"reserva {locator}")
    msg = last_reply(at)
    assert PROMPTS == []                                   # no model call, no queue
    assert msg.subheader[0].value == f"Reserva {locator}"
    assert any(i.value.startswith(f"**Qué se calculó:** Ficha de la reserva {locator}") for i in msg.info)
    coupons = msg.dataframe[0].value
    assert len(coupons) >= 1 and "count(" not in " ".join(map(str, coupons.columns))
