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
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "ui", "--db", f"sqlite:///{db}",
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
def server(tmp_path_factory):
    """`abordo ui` on a seeded demo (1000 passengers) with the real model; yields (url, db_path, log_path)."""
    from assistant.errors import ModelNotFound
    from assistant.models import locate
    from assistant.users import ensure_demo_users
    from seed_data.loaders import seed_database

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/ensure-browser")
    try:
        locate("qwen2.5-coder-1.5b")
    except ModelNotFound as exc:
        pytest.fail(f"the local model is needed: run `abordo model fetch` ({exc})")
    home = tmp_path_factory.mktemp("ui-browser")
    db = home / "demo.sqlite"
    seed_database(f"sqlite:///{db}", passengers=1000, progress=False)
    app_url = f"sqlite:///{home / 'app.sqlite'}"
    ensure_demo_users(app_url)
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "ui-server.log"
    with _ui_server(home, db, app_url, log_path) as url:
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
    reply.locator('[data-testid="stCaptionContainer"]').last.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=ANSWER_TIMEOUT_MS)
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


def test_spanish_question_answered_with_table_sql_and_screenshot(server, browser):
    url, db, _log = server
    page = _sign_in(browser, url)
    _ask(page, QUESTION)
    reply = _wait_answer(page)
    reply.locator('[data-testid="stDataFrame"]').wait_for(timeout=30_000)
    reply.get_by_text("Consulta SQL").click()                  # open the SQL expander for the screenshot
    sql = reply.locator("code").last.inner_text()
    assert sql.upper().startswith(("SELECT", "WITH"))
    rows = _download_csv(page, reply)
    # The table is exactly what the SQL that ran returns on the database...
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    direct = conn.execute(re.sub(r"\s*;\s*$", "", sql)).fetchall()
    conn.close()
    assert [tuple(r.values()) for r in rows] == [tuple("" if v is None else str(v) for v in d) for d in direct]
    # ...and it answers the question: one number, the count of those passengers.
    assert len(rows) == 1 and len(rows[0]) == 1, rows
    # ...and the number is right: the README's headline question, with the real model (temperature 0).
    answer = int(float(next(iter(rows[0].values()))))
    print(f"headline question: answered {answer}, reference {sorted(_expected_counts(db))}, SQL: {sql}")
    assert answer in _expected_counts(db), (answer, sql)
    assert "Traceback" not in page.content()
    shot = ARTIFACTS / "screenshot-chat.png"
    page.screenshot(path=str(shot), full_page=True)
    (ROOT / "docs").mkdir(exist_ok=True)
    shutil.copyfile(shot, ROOT / "docs" / "screenshot-chat.png")
    page.context.close()


def test_many_sessions_share_one_model_fairly(server, browser):
    """12 sessions at once: one model question holds the queue while 11 record-locator lookups (fast path,
    still queued) wait behind it. Every session gets its own booking; queue positions are shown."""
    url, db, log_path = server
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    locators = [r[0] for r in conn.execute(
        "SELECT b.record_locator FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id "
        "JOIN ticket_segments s ON s.ticket_number = t.ticket_number "
        "GROUP BY b.record_locator HAVING COUNT(*) BETWEEN 1 AND 20 ORDER BY b.record_locator LIMIT 11")]
    expected = {loc: conn.execute(
        "SELECT COUNT(*) FROM bookings b JOIN tickets t ON t.booking_id = b.booking_id JOIN ticket_segments s "
        "ON s.ticket_number = t.ticket_number WHERE b.record_locator = ?", (loc,)).fetchone()[0] for loc in locators}
    conn.close()
    assert len(locators) == 11
    pages = [_sign_in(browser, url) for _ in range(12)]
    _ask(pages[0], "¿Cuántos vuelos salieron de Monterrey la semana pasada por día?")
    pages[0].get_by_text("Escribiendo la consulta SQL").wait_for(timeout=ANSWER_TIMEOUT_MS)  # holds the model
    for page, loc in zip(pages[1:], locators):
        _ask(page, f"reserva {loc}")
    replies = [_wait_answer(p) for p in pages]
    assert "Traceback" not in "".join(p.content() for p in pages)
    small_print = [r.locator('[data-testid="stCaptionContainer"]').all_inner_texts() for r in replies]
    queued = [i for i, texts in enumerate(small_print) if any("esperó en la cola" in t for t in texts)]
    assert len(queued) >= 5, small_print
    for page, reply, loc in zip(pages[1:], replies[1:], locators):
        rows = _download_csv(page, reply)
        assert {r["record_locator"] for r in rows} == {loc}, (loc, rows[:2])   # its own answer, no other's
        assert len(rows) == expected[loc]
    assert re.search(r"queue: ticket \d+ waits at position [2-9]", log_path.read_text())
    pages[1].screenshot(path=str(ARTIFACTS / "screenshot-queue.png"), full_page=True)
    for p in pages:
        p.context.close()


def test_single_sign_on_header_from_a_trusted_proxy(browser, tmp_path):
    """With ABORDO_TRUSTED_USER_HEADER set, the proxy's header signs a known user in (role from abordo's
    store, no password form); an unknown name gets a clear message and no chat. No model is needed."""
    from assistant.users import ensure_demo_users
    from seed_data.loaders import seed_database

    db = tmp_path / "demo.sqlite"
    seed_database(f"sqlite:///{db}", passengers=100, progress=False)
    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    ARTIFACTS.mkdir(exist_ok=True)
    with _ui_server(tmp_path, db, app_url, ARTIFACTS / "ui-server-sso.log",
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
