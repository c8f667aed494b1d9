"""The API's gate under the loads an independent probe used (issue 23), on a real `abordo serve` process:

A. memory: the server's RSS over 1,000 record look-ups that each name another `today`, against the same
   1,000 look-ups on one date (the baseline, same run);
B. `/healthz` latency while the app store is locked by another writer and anonymous and signed-in
   requests pile up on it, against the same probe with the store free;
C. an anonymous flood: 1,000 requests without a token from one address, and the audit rows they leave.

    .venv/bin/python benchmarks/api_gate.py [--lookups 1000] [--probes 200]

No model is loaded (look-ups are cards; the model seam is scripted). Loopback only. Writes
benchmarks/results/api-gate.json.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, pct, write_result  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(home: Path, db: Path, **env_extra):
    import httpx

    port = _port()
    env = {**os.environ, "ABORDO_HOME": str(home), "ABORDO_DATABASE_URL": f"sqlite:///{db}",
           "ABORDO_TEST_CHAT_MODEL": "tests.fakes:scripted_from_env", "PYTHONPATH": str(ROOT),
           "ABORDO_API_RATE_PER_MINUTE": "1000000", **env_extra}
    log = open(home / f"serve-{port}.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "abordo", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.25)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _token(home: Path, name: str = "agente") -> str:
    env = {**os.environ, "ABORDO_HOME": str(home)}
    code = ("from assistant.users import ensure_demo_users, issue_token; from db.settings import load_settings; "
            f"s = load_settings(); ensure_demo_users(s.app_url); print(issue_token(s.app_url, {name!r}))")
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def memory(db: Path, locator: str, n: int) -> list[dict]:
    import httpx

    rows = []
    for label, distinct in (("one date (baseline)", False), ("a new date each time", True)):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            token = _token(home)
            with _serve(home, db) as (url, pid), httpx.Client(base_url=url, timeout=30,
                                                              headers={"Authorization": f"Bearer {token}"}) as http:
                marks = {}
                for i in range(n):
                    day = dt.date(2026, 1, 1) + dt.timedelta(days=i if distinct else 0)
                    r = http.post("/v1/ask", json={"question": locator, "today": day.isoformat()})
                    assert r.status_code == 200, r.text
                    if i + 1 in (100, n // 2, n):
                        marks[i + 1] = _rss_mib(pid)
            rows.append({"run": label, **{f"rss_mib_after_{k}": round(v, 1) for k, v in marks.items()},
                         "growth_mib_after_warmup": round(marks[n] - marks[100], 1)})
    return rows


def health_under_lock(db: Path, probes: int) -> list[dict]:
    import httpx

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        token = _token(home)
        with _serve(home, db, ABORDO_API_ANON_RATE_PER_MINUTE="1000000") as (url, _pid):
            store = home / "app.sqlite"
            for label, locked in (("store free (baseline)", False), ("store locked, 12 clients waiting on it", True)):
                stop = threading.Event()
                lock = None
                if locked:
                    lock = sqlite3.connect(store, timeout=5)
                    lock.execute("BEGIN EXCLUSIVE")

                def pile(anonymous: bool) -> None:
                    h = {} if anonymous else {"Authorization": f"Bearer {token}"}
                    with httpx.Client(timeout=60) as http:
                        while not stop.is_set():
                            with contextlib.suppress(httpx.HTTPError):
                                if anonymous:
                                    http.post(url + "/v1/ask", json={"question": "x"}, headers=h)
                                else:
                                    http.post(url + "/v1/feedback", json={"question": "q", "rating": 1}, headers=h)

                threads = [threading.Thread(target=pile, args=(i % 3 != 0,), daemon=True) for i in range(12)]
                for t in threads:
                    t.start()
                time.sleep(1.0)
                times = []
                with httpx.Client(timeout=30) as http:
                    for _ in range(probes):
                        started = time.perf_counter()
                        assert http.get(url + "/healthz").status_code == 200
                        times.append((time.perf_counter() - started) * 1000)
                        time.sleep(0.01)
                stop.set()
                if lock is not None:
                    lock.rollback()
                    lock.close()
                for t in threads:
                    t.join(60)
                rows.append({"run": label, "probes": probes, "p50_ms": round(pct(times, 0.5), 2),
                             "p95_ms": round(pct(times, 0.95), 2), "max_ms": round(max(times), 2)})
    base = rows[0]["p95_ms"] or 1e-9
    rows[1]["p95_vs_free"] = round(rows[1]["p95_ms"] / base, 2)
    return rows


def anonymous_flood(db: Path, n: int) -> dict:
    import httpx

    from sql_tools.audit import get_audit_log

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        _token(home)
        with _serve(home, db) as (url, _pid):
            before = get_audit_log(f"sqlite:///{home / 'app.sqlite'}").count()
            started = time.perf_counter()
            statuses: dict[int, int] = {}
            with httpx.Client(timeout=30) as http:
                for _ in range(n):
                    s = http.post(url + "/v1/ask", json={"question": "x"}).status_code
                    statuses[s] = statuses.get(s, 0) + 1
            took = time.perf_counter() - started
            rows = get_audit_log(f"sqlite:///{home / 'app.sqlite'}").count() - before
    return {"requests": n, "statuses": statuses, "audit_rows": rows, "seconds": round(took, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lookups", type=int, default=1000)
    ap.add_argument("--probes", type=int, default=200)
    args = ap.parse_args()
    from seed_data.loaders import seed_database

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.sqlite"
        seed_database(f"sqlite:///{db}", passengers=300, progress=False)
        with sqlite3.connect(db) as conn:
            locator = conn.execute("SELECT record_locator FROM bookings LIMIT 1").fetchone()[0]
        mem = memory(db, locator, args.lookups)
        health = health_under_lock(db, args.probes)
        flood = anonymous_flood(db, 1000)
    print("\nA. RSS of abordo serve over record look-ups (MiB)")
    for r in mem:
        print(f"  {r['run']:<24} " + "  ".join(f"{k.removeprefix('rss_mib_')}: {v}" for k, v in r.items()
                                                 if k.startswith("rss")) + f"  growth: {r['growth_mib_after_warmup']}")
    print("\nB. /healthz latency (ms)")
    for r in health:
        print(f"  {r['run']:<40} p50 {r['p50_ms']:>7}  p95 {r['p95_ms']:>7}  max {r['max_ms']:>7}"
              + (f"  (p95 x{r['p95_vs_free']} the free store's)" if "p95_vs_free" in r else ""))
    print(f"\nC. anonymous flood: {flood['requests']} requests in {flood['seconds']} s -> {flood['statuses']}, "
          f"{flood['audit_rows']} audit rows")
    write_result("api-gate", {"machine": machine(), "memory": mem, "healthz": health, "anonymous_flood": flood})


if __name__ == "__main__":
    main()
