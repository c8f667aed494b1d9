"""The chat UI in a real browser: Debian's Chromium driven by Playwright, against `abordo ui` started on a
seeded demo database with the REAL local model.

Run it holding the model lock (two model processes on two cores slow each other down badly):
    flock /tmp/abordo-model.lock .venv/bin/python -m pytest -m browser
Artifacts (server log, screenshots) go to artifacts/; the chat screenshot is copied to
docs/screenshot-chat.png for the README.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update"]
QUESTION = "¿Cuántos pasajeros volaron de la Ciudad de México a Cancún ayer?"
ANSWER_TIMEOUT_MS = 300_000           # a cold model on two cores: load, prefix, SQL, summary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _ui_server(home: Path, db: Path, app_url: str, log_path: Path, **env_extra: str):
    """`abordo ui` on `db` in its own process group; yields its URL once the health check answers."""
    port = _free_port()
    env = {**os.environ, "ABORDO_HOME": str(home), "ABORDO_APP_URL": app_url, **env_extra}
    env.pop("ABORDO_TEST_CHAT_MODEL", None)
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "abordo", "ui", "--db", f"sqlite:///{db}",
                                 "--port", str(port), "--host", "127.0.0.1"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                pytest.fail(f"abordo ui exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("abordo ui did not answer its health check in 60 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)   # the CLI and the Streamlit server it started
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def server(seeded_demo, tmp_path_factory, _session_prefix_dir):
    """`abordo ui` on a seeded demo (1000 passengers) with the real model; yields (url, db_path, log_path).
    Module-scoped, so set up before the per-test environment: the session's prefix folder is passed on."""
    from assistant.errors import ModelNotFound
    from assistant.llm.models import locate
    from assistant.users import ensure_demo_users

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/ensure-browser")
    try:
        locate("qwen2.5-coder-1.5b")
    except ModelNotFound as exc:
        pytest.fail(f"the local model is needed: run `abordo model fetch` ({exc})")
    home = tmp_path_factory.mktemp("ui-browser")
    db = seeded_demo(1000)
    app_url = f"sqlite:///{home / 'app.sqlite'}"
    ensure_demo_users(app_url)
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "ui-server.log"
    with _ui_server(home, db, app_url, log_path, ABORDO_PREFIX_DIR=str(_session_prefix_dir)) as url:
        yield url, db, log_path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


def _sign_in(browser, url: str, user: str = "agente", password: str = "agente-demo"):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="es-MX", accept_downloads=True)
    page = ctx.new_page()
    page.goto(url)
    page.get_by_label("Usuario").fill(user)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
    return page


def _ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def _wait_answer(page, n: int = 1):
    """The n-th assistant message once its answer is drawn (table or message, plus the small print)."""
    reply = page.locator('[data-testid="stChatMessage"]').nth(2 * n - 1)
    try:
        reply.locator('[data-testid="stCaptionContainer"]').last.wait_for(timeout=ANSWER_TIMEOUT_MS)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"screenshot-wait-{n}.png"), full_page=True)
        raise
    return reply


def _download_csv(page, reply) -> list[dict]:
    with page.expect_download(timeout=30_000) as info:
        reply.locator('[data-testid="stDownloadButton"] button').click()
    text = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _expected_counts(db: Path) -> set[int]:
    """Passengers who flew Mexico City -> Cancún 'yesterday' (the demo's today is 2026-06-15), under
    the two readings staff use: flown coupons (the project's convention for "passengers flew") and
    distinct people (when someone flew the route twice that day they differ)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        base = ("FROM ticket_segments s JOIN tickets t ON t.ticket_number = s.ticket_number JOIN flights f ON "
                "f.flight_id = s.flight_id WHERE f.origin = 'MEX' AND f.destination = 'CUN' AND "
                "f.scheduled_departure >= '2026-06-14' AND f.scheduled_departure < '2026-06-15' AND s.status = 'flown'")
        return {conn.execute(f"SELECT COUNT(*) {base}").fetchone()[0],
                conn.execute(f"SELECT COUNT(DISTINCT t.passenger_id) {base}").fetchone()[0]}
    finally:
        conn.close()


LOST_BAGS = "¿Cuántas maletas se perdieron o se retrasaron en junio por aeropuerto de destino?"
NAMESAKES = "dame el correo y pasaporte de José Pérez"


def _restatement(reply) -> str:
    """The 'what was computed' note of a reply, without its icon's ligature text."""
    note = reply.locator('[data-testid="stAlertContentInfo"]')
    assert note.count(), f"no restatement under: {reply.inner_text()}"
    text = note.first.inner_text()
    return text[text.find("Qué se calculó"):]


def _a_locator(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
                            "JOIN ticket_segments s ON s.ticket_number = t.ticket_number JOIN baggage g ON "
                            "g.segment_id = s.segment_id ORDER BY b.booking_id LIMIT 1").fetchone()[0]
    finally:
        conn.close()


def _namesakes(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM passengers WHERE search_name >= 'jose perez' AND "
                            "search_name < 'jose perez!'").fetchone()[0]
    finally:
        conn.close()


def test_three_questions_and_a_look_up_say_what_they_computed(server, browser):
    """A grouped count, the headline question, a name two passengers share and a record look-up, as a
    new agent would try them: each answer carries its restatement, the tables have human headers (the
    CSV's), a grouped result shows its groups, namesakes are told apart and the look-up is a card. The
    page is the README's screenshot."""
    url, db, _log = server
    page = _sign_in(browser, url)
    _ask(page, LOST_BAGS)
    reply = _wait_answer(page, 1)
    said = _restatement(reply)
    assert "maletas" in said and "por " in said and "jun 2026" in said, said
    if reply.locator('[data-testid="stDownloadButton"]').count():
        grouped = _download_csv(page, reply)
        assert grouped and len(grouped[0]) >= 2, grouped      # the groups are shown beside their counts
        assert not any("(" in h for h in grouped[0]), grouped[0]   # human headers, not count(*)

    _ask(page, QUESTION)
    reply = _wait_answer(page, 2)
    reply.locator('[data-testid="stDataFrame"]').wait_for(timeout=30_000)
    reply.get_by_text("Consulta SQL").click()                  # open the SQL expander for the screenshot
    sql = reply.locator("code").last.inner_text()
    assert sql.upper().startswith(("SELECT", "WITH"))
    said = _restatement(reply)
    assert said.startswith("Qué se calculó:") and ("pasajeros" in said or "cupones" in said), said
    assert "MEX (Ciudad de México)" in said and "14 jun 2026" in said, said
    rows = _download_csv(page, reply)
    # The table is exactly what the SQL that ran returns on the database, under a human header...
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    direct = conn.execute(re.sub(r"\s*;\s*$", "", sql)).fetchall()
    conn.close()
    assert [tuple(r.values()) for r in rows] == [tuple("" if v is None else str(v) for v in d) for d in direct]
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    header = next(iter(rows[0]))
    assert header.startswith("Número de") and "(" not in header, header
    # ...and the number is right: the README's headline question, with the real model (temperature 0).
    answer = int(float(next(iter(rows[0].values()))))
    print(f"headline question: answered {answer}, reference {sorted(_expected_counts(db))}, SQL: {sql}")
    assert answer in _expected_counts(db), (answer, sql)

    _ask(page, NAMESAKES)
    reply = _wait_answer(page, 3)
    shared = _namesakes(db)
    assert shared >= 2
    reply.get_by_text(f"corresponde a {shared} pasajeros distintos").first.wait_for(timeout=30_000)
    assert "••••" in reply.inner_text()                       # the document as its last 4, for an agent

    locator = _a_locator(db)
    _ask(page, f"reserva {locator.lower()}")
    reply = _wait_answer(page, 4)
    reply.get_by_text(f"Reserva {locator}").first.wait_for(timeout=30_000)
    said = _restatement(reply)
    assert said.startswith(f"Qué se calculó: Ficha de la reserva {locator}"), said
    reply.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)     # the coupons
    assert "Traceback" not in page.content()
    # The chat scrolls inside the page: a tall window shows the whole conversation in one picture.
    page.set_viewport_size({"width": 1400, "height": 4200})
    page.wait_for_timeout(1500)
    shot = ARTIFACTS / "screenshot-chat.png"
    page.screenshot(path=str(shot), full_page=True)
    (ROOT / "docs").mkdir(exist_ok=True)
    shutil.copyfile(shot, ROOT / "docs" / "screenshot-chat.png")
    page.context.close()


def test_look_ups_do_not_wait_behind_the_model(server, browser):
    """12 sessions at once: one model question holds the shared model while 11 record-locator look-ups
    are asked. Each look-up is a card with no model call, so none waits in the model's queue, and every
    session gets its own booking."""
    url, db, log_path = server
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    locators = [r[0] for r in conn.execute(
        "SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
        "JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
        "GROUP BY b.record_locator HAVING COUNT(*) BETWEEN 1 AND 20 ORDER BY b.record_locator LIMIT 11")]
    conn.close()
    assert len(locators) == 11
    before = log_path.read_text().count("waits at position")
    pages = [_sign_in(browser, url) for _ in range(12)]
    _ask(pages[0], "¿Cuántos vuelos salieron de Monterrey la semana pasada por día?")
    pages[0].get_by_text("Escribiendo la consulta SQL").wait_for(timeout=ANSWER_TIMEOUT_MS)  # holds the model
    for page, loc in zip(pages[1:], locators):
        _ask(page, f"reserva {loc}")
    replies = [_wait_answer(p) for p in pages]
    assert "Traceback" not in "".join(p.content() for p in pages)
    for reply, loc in zip(replies[1:], locators):
        reply.get_by_text(f"Reserva {loc}").first.wait_for(timeout=30_000)     # its own card, no other's
        texts = " ".join(reply.locator('[data-testid="stCaptionContainer"]').all_inner_texts())
        assert "esperó en la cola" not in texts, texts
    assert log_path.read_text().count("waits at position") == before       # nobody queued behind the model
    pages[1].screenshot(path=str(ARTIFACTS / "screenshot-card.png"), full_page=True)
    for p in pages:
        p.context.close()


def test_a_restarted_page_restores_the_saved_prompt_prefix(server, browser, seeded_demo, tmp_path):
    """The module's server has read and saved the prompt prefix. A new `abordo ui` on the same database
    restores it at start (its background `abordo model warm` finds it ready, the page's warm-up loads it),
    the sidebar says the model is ready, and the first question reads only its own tokens."""
    from assistant.users import ensure_demo_users

    _url, db, _log = server
    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    log_path = ARTIFACTS / "ui-server-restart.log"
    with _ui_server(tmp_path, db, app_url, log_path) as url:
        page = _sign_in(browser, url)
        page.locator('[data-testid="stSidebar"]').get_by_text("Modelo listo").wait_for(timeout=ANSWER_TIMEOUT_MS)
        _ask(page, "¿Cuántos vuelos salen hoy de MEX?")
        reply = _wait_answer(page)
        assert "Traceback" not in page.content()
        assert reply.locator('[data-testid="stCaptionContainer"]').count() > 0
        said = log_path.read_text()
        assert "prompt prefix restored" in said, said[-3000:]
        warmed = (tmp_path / "cache" / "warm.log").read_text()
        assert "prefix state: ready" in warmed or "prefix state: restored" in warmed, warmed   # never read again
        page.context.close()


def test_single_sign_on_header_from_a_trusted_proxy(browser, small_demo_db, tmp_path):
    """With ABORDO_TRUSTED_USER_HEADER set, the proxy's header signs a known user in (role from abordo's
    store, no password form); an unknown name gets a clear message and no chat. No model is needed."""
    from assistant.users import ensure_demo_users

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    ARTIFACTS.mkdir(exist_ok=True)
    with _ui_server(tmp_path, small_demo_db, app_url, ARTIFACTS / "ui-server-sso.log",
                    ABORDO_TRUSTED_USER_HEADER="X-Forwarded-User",
                    ABORDO_MODEL=str(tmp_path / "no-model.gguf")) as url:
        ctx = browser.new_context(locale="es-MX", extra_http_headers={"X-Forwarded-User": "supervisor"})
        page = ctx.new_page()
        page.goto(url)
        page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
        assert page.get_by_label("Contraseña").count() == 0
        page.get_by_text("Supervisor", exact=False).first.wait_for(timeout=10_000)
        ctx.close()

        ctx = browser.new_context(locale="es-MX", extra_http_headers={"X-Forwarded-User": "mallory"})
        page = ctx.new_page()
        page.goto(url)
        page.get_by_text("mallory").first.wait_for(timeout=60_000)
        assert page.get_by_test_id("stChatInputTextArea").count() == 0
        assert "Traceback" not in page.content()
        ctx.close()


def _open_adjust(reply) -> None:
    """Open a reply's 'Ajustar esta respuesta' expander (again if a redraw folded it)."""
    for _ in range(5):
        reply.get_by_text("Ajustar esta respuesta").click()
        try:
            reply.get_by_text("Agrupar por").wait_for(timeout=3_000)
            return
        except Exception:
            continue
    raise AssertionError("the adjust controls did not open")


def _flown_routes(db: Path) -> list[tuple[str, str]]:
    """(origin, day) pairs with flown coupons in more than one cabin, busiest first."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT f.origin, date(f.scheduled_departure) AS day FROM ticket_segments s JOIN flights f "
            "ON f.flight_id = s.flight_id WHERE s.status = 'flown' GROUP BY 1, 2 HAVING COUNT(DISTINCT s.cabin) > 1 "
            "ORDER BY COUNT(*) DESC, 1, 2 LIMIT 2").fetchall()
    finally:
        conn.close()


def test_a_verified_question_comes_back_at_once_and_its_plan_is_edited_in_one_click(
        server, browser, tmp_path, _session_prefix_dir):
    """A supervisor verified 'passengers flown per cabin from X on day D'. Asked again in the browser with
    another airport and day, it is answered from the verified query (no model call: its small print says
    who verified it). Then one click removes a filter, and the grouping box (the view's dimensions,
    filtered by typing) changes the grouping: each a new turn with the table changed, with no model
    call; the regrouped table counts the same coupons."""
    from assistant.pipeline import Assistant
    from assistant.users import ensure_demo_users
    from db.settings import Settings

    _url, db, _log = server
    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    (o1, d1), (o2, d2) = _flown_routes(db)
    question = "¿Cuántos pasajeros volaron por cabina desde {o} el {d}?"
    sql = ("SELECT cabin, COUNT(*) AS n FROM coupons WHERE origin = '{o}' AND flight_date = '{d}' "
           "AND coupon_status = 'flown' GROUP BY cabin")
    Assistant(Settings(database_url=f"sqlite:///{db}", app_url=app_url), role="supervisor", user="supervisor") \
        .verify(question.format(o=o1, d=d1), sql.format(o=o1, d=d1), "views")
    log_path = ARTIFACTS / "ui-server-verified.log"
    with _ui_server(tmp_path, db, app_url, log_path, ABORDO_PREFIX_DIR=str(_session_prefix_dir)) as url:
        page = _sign_in(browser, url, "supervisor", "supervisor-demo")
        started = time.perf_counter()
        _ask(page, question.format(o=o2, d=d2))
        reply = _wait_answer(page)
        reply.get_by_text(re.compile("respuesta verificada por supervisor")).wait_for(timeout=30_000)
        seconds = time.perf_counter() - started
        (ARTIFACTS / "verified-answer-seconds.txt").write_text(f"{seconds:.2f}\n")
        first = _download_csv(page, reply)

        # While the model warms up the page redraws itself every second, which folds an expander opened
        # meanwhile: the verified answer above came before the model was ready; the edits wait for it.
        page.locator('[data-testid="stSidebar"]').get_by_text("Modelo listo").wait_for(timeout=ANSWER_TIMEOUT_MS)
        try:
            _open_adjust(reply)
            reply.get_by_role("button", name=re.compile("Quitar el filtro: Estado del cupón")).click()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "screenshot-edit-failed.png"), full_page=True)
            raise
        edited = page.locator('[data-testid="stChatMessage"]').nth(2)
        edited.get_by_text("Respuesta ajustada").wait_for(timeout=60_000)
        wider = _download_csv(page, edited)
        assert wider != first and list(wider[0])[0] == "Cabina"

        # The grouping: the box offers the view's dimensions; typing filters them, a click picks one.
        try:
            _open_adjust(edited)
            box = edited.locator('[data-testid="stSelectbox"]').filter(has_text="Agrupar por")
            box.locator("input").click()
            box.locator("input").press_sequentially("Estado del cup", delay=50)
            page.get_by_role("option", name="Estado del cupón", exact=True).click(timeout=30_000)
            regrouped = page.locator('[data-testid="stChatMessage"]').nth(3)
            regrouped.get_by_text(re.compile("Respuesta ajustada .set_grouping coupon_status")).wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "screenshot-regroup-failed.png"), full_page=True)
            raise
        by_status = _download_csv(page, regrouped)
        assert list(by_status[0])[0] == "Estado del cupón" and {r["Estado del cupón"] for r in by_status} > {"flown"}
        assert sum(int(r[list(r)[-1]]) for r in by_status) == sum(int(r[list(r)[-1]]) for r in wider)
        _open_adjust(regrouped)                    # the README's picture shows the controls
        regrouped.get_by_text(re.compile("Quitar el filtro: Fecha del vuelo")).wait_for(timeout=30_000)
        shot = ARTIFACTS / "screenshot-edit.png"
        page.set_viewport_size({"width": 1400, "height": 1800})    # the whole turn on screen: its grid paints
        regrouped.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)
        regrouped.screenshot(path=str(shot))
        shutil.copyfile(shot, ROOT / "docs" / "screenshot-edit.png")      # the README's
        assert "Traceback" not in page.content()
        page.context.close()
