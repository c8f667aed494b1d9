"""1, 5 and 20 simultaneous users through the UI's queue (assistant.queue.FairQueue, one slot: the one
shared model). Each user is a thread with its own `Assistant` (as a UI session has), all sharing ONE chat
model; every `ask` waits for its turn in the queue, as the UI does. The workload is mostly fast-path
lookups (a record locator or ticket number typed alone: no model call for the SQL) plus a share of
model questions from the dev set. Reports throughput (answers/s) and queue wait p50/p95 per level, and
writes benchmarks/results/concurrency.json.

    flock /tmp/abordo-model.lock .venv/bin/python benchmarks/concurrency.py [--users 1,5,20] [--per-user 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, pct, write_result

MODEL_QUESTIONS = ("dev-005", "dev-036", "dev-041", "dev-046", "dev-006")


def _queue():
    try:
        from assistant.queue import FairQueue

        return FairQueue(slots=1), "assistant.queue.FairQueue(slots=1)"
    except ImportError:
        lock = threading.Lock()

        class LockQueue:
            def turn(self):
                return lock

        return LockQueue(), "threading.Lock (assistant.queue not available)"


def workload(db_url: str, n: int, model_every: int) -> list[str]:
    """n questions: lookups of sampled locators/tickets, every `model_every`-th a dev-set model question."""
    import sqlite3

    from db.engines import sqlite_path
    from evaluation.questions import question_lines

    conn = sqlite3.connect(f"file:{sqlite_path(db_url)}?mode=ro", uri=True)
    locs = [r[0] for r in conn.execute("SELECT record_locator FROM bookings ORDER BY booking_id LIMIT 400")]
    tickets = [r[0] for r in conn.execute("SELECT ticket_number FROM tickets ORDER BY ticket_number LIMIT 400")]
    conn.close()
    dev = {q["id"]: q["question"] for _, q in question_lines(ROOT / "tests/data/eval/dev-questions.jsonl")}
    out = []
    for i in range(n):
        if model_every and i % model_every == model_every - 1:
            out.append(dev[MODEL_QUESTIONS[(i // model_every) % len(MODEL_QUESTIONS)]])
        elif i % 2:
            out.append(f"reserva {locs[(i * 37) % len(locs)].lower()}")
        else:
            t = tickets[(i * 53) % len(tickets)]
            out.append(f"ticket {t[:3]}-{t[3:]}")
    return out


def run_level(users: int, per_user: int, settings, chat, queue, model_every: int) -> dict:
    from assistant.pipeline import Assistant

    questions = workload(settings.database_url, users * per_user, model_every)
    assistants = [Assistant(settings, chat_model=chat, role="agent", user=f"bench-user-{u}") for u in range(users)]
    for a in assistants:
        a.system_prompt  # noqa: B018 - build the schema text before the clock starts
    waits, totals, services, fast, calls = [], [], [], [], []
    lock = threading.Lock()
    start_gate = threading.Barrier(users)

    def user(u: int):
        start_gate.wait()
        for k in range(per_user):
            q = questions[u * per_user + k]
            t0 = time.perf_counter()
            with queue.turn():
                t1 = time.perf_counter()
                ans = assistants[u].ask(q)
                t2 = time.perf_counter()
            with lock:
                waits.append(t1 - t0)
                services.append(t2 - t1)
                totals.append(t2 - t0)
                fast.append(ans.fast_path)
                calls.append(ans.llm_calls)

    threads = [threading.Thread(target=user, args=(u,)) for u in range(users)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {"users": users, "answers": len(totals), "wall_s": round(wall, 2),
            "throughput_per_s": round(len(totals) / wall, 3),
            "wait_p50_s": round(pct(waits, .5), 3), "wait_p95_s": round(pct(waits, .95), 3),
            "latency_p50_s": round(pct(totals, .5), 3), "latency_p95_s": round(pct(totals, .95), 3),
            "service_p50_s": round(pct(services, .5), 3), "fast_path_share": round(sum(fast) / len(fast), 3),
            "model_calls": sum(calls)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="1,5,20")
    ap.add_argument("--per-user", type=int, default=3)
    ap.add_argument("--model-every", type=int, default=5, help="every N-th question needs the model (0: none)")
    ap.add_argument("--db", help="demo SQLite URL (default: a fresh 5,000-passenger demo)")
    args = ap.parse_args()

    from db.settings import load_settings
    from evaluation.cli import make_chat

    queue, queue_name = _queue()
    with tempfile.TemporaryDirectory(prefix="abordo-conc-") as tmp:
        db = args.db
        if not db:
            from seed_data.loaders import seed_database

            db = f"sqlite:///{tmp}/demo.sqlite"
            seed_database(db, passengers=5000, progress=False)
        settings = load_settings().replace(database_url=db, app_url=f"sqlite:///{tmp}/app.sqlite")
        chat = make_chat(settings)
        from assistant.pipeline import Assistant

        Assistant(settings, chat_model=chat, role="agent").warm()
        levels = [run_level(int(u), args.per_user, settings, chat, queue, args.model_every)
                  for u in args.users.split(",")]
    print(f"queue: {queue_name}; {args.per_user} questions per user; every {args.model_every}th needs the model")
    print(f"{'users':>6}{'answers':>9}{'wall s':>9}{'answers/s':>11}{'wait p50':>10}{'wait p95':>10}"
          f"{'latency p95':>13}{'fast path':>11}{'model calls':>13}")
    for r in levels:
        print(f"{r['users']:>6}{r['answers']:>9}{r['wall_s']:>9.1f}{r['throughput_per_s']:>11.2f}"
              f"{r['wait_p50_s']:>9.2f}s{r['wait_p95_s']:>9.2f}s{r['latency_p95_s']:>12.2f}s"
              f"{r['fast_path_share'] * 100:>10.0f}%{r['model_calls']:>13}")
    write_result("concurrency", {"queue": queue_name, "per_user": args.per_user, "model_every": args.model_every,
                                 "levels": levels, "machine": machine(settings)})


if __name__ == "__main__":
    main()
