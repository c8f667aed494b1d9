"""How long the first answer takes in a new process, with and without the saved prompt prefix.

Each figure is a new process, as a user meets it:

* `abordo ask` one-shot on the dev set's first N questions, after `abordo model warm` (the state `make demo`
  leaves), against the same command with `ABORDO_PREFIX_CACHE=off` on the first `--cold` of them (every
  process reads the ~3,250-token prefix again);
* `abordo serve` from start to its first `/v1/ask` answer, restoring the saved state and reading it afresh;
* `abordo model serve` (llama-server) from start to the prefix being in its slot, the first start (read and
  saved) and the next (restored), then the first answer through it;
* `abordo ui` from start to the first answer in Chromium (`--ui`), restoring the saved state.

Saved states go to a temporary folder (ABORDO_PREFIX_DIR), so "cold" is cold and the user's cache is untouched.

`--baseline REV` asks the same questions, one process each, with another commit's code too (a git worktree
of REV on this venv), alternating which goes first, so a change is measured paired in one run; both
restore the same saved states. `--restarts N` restarts `abordo serve` / `abordo ui` once for each of the
dev set's first N questions and measures each first answer.

    .venv/bin/python benchmarks/first_answer.py                  # the 1.5B, 10 questions, 3 cold
    .venv/bin/python benchmarks/first_answer.py --ui --server    # plus the chat page and llama-server
    .venv/bin/python benchmarks/first_answer.py --parts ask --cold 0 --baseline eb8f6fb
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from common import ROOT, machine, write_result

DEV = ROOT / "tests" / "data" / "eval" / "dev-questions.jsonl"
ABORDO = [sys.executable, "-m", "abordo"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_shot(question: str, env: dict, tree: Path | None = None) -> dict:
    """`abordo ask --json QUESTION` in a new process: this checkout's code, or `tree`'s (a worktree)."""
    if tree is not None:
        env = {**env, "PYTHONPATH": str(tree)}        # found before the venv's editable install
    started = time.perf_counter()
    out = subprocess.run([*ABORDO, "ask", "--json", question], env=env, capture_output=True, text=True, timeout=900,
                         cwd=tree or ROOT)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"abordo ask failed: {out.stderr[-1500:]}")
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    return {"question": question, "wall_s": round(wall, 2), "answer_s": answer["timings"]["total"],
            "new_prompt_tokens": answer.get("new_prompt_tokens"), "sql": answer.get("sql")}


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} not ready in {timeout:.0f} s")


@contextlib.contextmanager
def process(cmd: list[str], env: dict, log: Path):
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def api_first_answer(env: dict, token: str, question: str, work: Path, label: str) -> dict:
    port = free_port()
    started = time.perf_counter()
    with process([*ABORDO, "serve", "--port", str(port)], env, work / f"serve-{label}.log") as proc:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/readyz", proc)
        ready = time.perf_counter() - started
        req = urllib.request.Request(f"{base}/v1/ask", data=json.dumps({"question": question}).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=900) as r:
            body = json.loads(r.read())
        done = time.perf_counter() - started
        return {"ready_s": round(ready, 2), "first_answer_s": round(done, 2), "question_to_answer_s": round(done - ready, 2),
                "question": question, "sql": body.get("sql")}


def model_server(env: dict, work: Path, label: str, question: str) -> dict:
    port = free_port()
    started = time.perf_counter()
    log = work / f"model-serve-{label}.log"
    with process([*ABORDO, "model", "serve", "--port", str(port), "--parallel", "1"], env, log) as proc:
        deadline = time.monotonic() + 900
        while "ABORDO_OPENAI_BASE_URL=" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"abordo model serve did not get ready: {log.read_text()[-1500:]}")
            time.sleep(0.25)
        ready = time.perf_counter() - started
        how = next((line for line in log.read_text().splitlines() if "prompt prefix is in" in line), "")
        client = {**env, "ABORDO_OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "ABORDO_MODEL_SLOTS": "1"}
        answer = one_shot(question, client)
        first, _, behind = how.partition("; ")
        return {"prefix_in_slot_s": round(ready, 2), "how": first.split(", ")[-1] if how else "?",
                "fallback": behind.split(", ")[-1] if behind else None,
                "first_answer_s": round(time.perf_counter() - started, 2), "ask_wall_s": answer["wall_s"],
                "new_prompt_tokens": answer["new_prompt_tokens"]}


def ui_first_answer(env: dict, work: Path, question: str) -> dict:
    from playwright.sync_api import sync_playwright

    port = free_port()
    started = time.perf_counter()
    with process([*ABORDO, "ui", "--port", str(port), "--host", "127.0.0.1"], env, work / "ui.log") as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_stcore/health", proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
            page = browser.new_page(locale="es-MX")
            page.goto(url)
            page.get_by_label("Usuario").fill("agente")
            page.get_by_label("Contraseña").fill("agente-demo")
            page.get_by_role("button", name="Iniciar sesión").click()
            box = page.get_by_test_id("stChatInputTextArea")
            box.wait_for(timeout=120_000)
            signed_in = time.perf_counter() - started
            asked = time.perf_counter()
            box.fill(question)
            box.press("Enter")
            reply = page.locator('[data-testid="stChatMessage"]').nth(1)
            reply.locator('[data-testid="stCaptionContainer"]').last.wait_for(timeout=900_000)
            page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=900_000)
            done = time.perf_counter()
            browser.close()
    return {"signed_in_s": round(signed_in, 2), "question_to_answer_s": round(done - asked, 2),
            "start_to_answer_s": round(done - started, 2), "question": question}


@contextlib.contextmanager
def worktree(rev: str, work: Path):
    """A checkout of `rev` beside this one (removed afterwards): the baseline's code on the same venv."""
    path = work / f"baseline-{rev}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True,
                   capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)


def summary(rows: list[dict]) -> dict:
    walls = [r["wall_s"] for r in rows]
    return {"n": len(rows), "p50_s": round(statistics.median(walls), 2), "max_s": max(walls), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--questions", type=int, default=10, help="dev questions asked one process each, saved prefix")
    ap.add_argument("--cold", type=int, default=3, help="of those, asked again with prefix_cache=off")
    ap.add_argument("--ui", action="store_true", help="also `abordo ui` to the first answer in Chromium")
    ap.add_argument("--parts", default="ask,serve", help="which of ask, serve (plus --server, --ui) to run")
    ap.add_argument("--server", action="store_true", help="also `abordo model serve` (llama-server)")
    ap.add_argument("--baseline", default="", help="a commit whose one-shot asks are measured beside these, paired")
    ap.add_argument("--restarts", type=int, default=1, help="serve/ui: restarts, one for each of the first N questions")
    ap.add_argument("--prefix-dir", default="", help="where saved states go (default: a new temporary folder; "
                                                     "the machine's cache measures a machine that ran `make demo`)")
    args = ap.parse_args()

    from assistant.users import ensure_demo_users, issue_token
    from db.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="abordo-first-answer-"))
    env = {**os.environ, "ABORDO_MODEL": args.model, "ABORDO_PREFIX_DIR": args.prefix_dir or str(work / "prefix"),
           "ABORDO_APP_URL": f"sqlite:///{work / 'app.sqlite'}"}
    env.pop("ABORDO_OPENAI_BASE_URL", None)
    settings = load_settings(env)
    ensure_demo_users(settings.app_url)
    token = issue_token(settings.app_url, "agente")
    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines()
                 if line.strip()][: args.questions]

    started = time.perf_counter()
    warm = subprocess.run([*ABORDO, "model", "warm"], env=env, capture_output=True, text=True, timeout=1800)
    if warm.returncode != 0:
        raise SystemExit(warm.stderr)
    warm_s = time.perf_counter() - started
    print(f"abordo model warm (once per machine): {warm_s:.1f} s — {warm.stdout.strip()}")

    parts = set(args.parts.split(",")) | ({"server"} if args.server else set()) | ({"ui"} if args.ui else set())
    result: dict = {"machine": machine(settings), "model": args.model, "parts": sorted(parts),
                    "warm_s": round(warm_s, 1), "warm_said": warm.stdout.strip()}
    cold_env = {**env, "ABORDO_PREFIX_CACHE": "off"}
    if "ask" in parts:
        with contextlib.ExitStack() as stack:
            base = stack.enter_context(worktree(args.baseline, work)) if args.baseline else None
            saved, baseline = [], []
            runs = [(saved, None)] + ([(baseline, base)] if base else [])
            for i, q in enumerate(questions):
                for rows, tree in (runs if i % 2 == 0 else runs[::-1]):    # which goes first alternates
                    rows.append(one_shot(q, env, tree))
            for row, old in zip(saved, baseline or [None] * len(saved)):
                then = f"  (baseline {old['wall_s']:6.1f} s)" if old else ""
                print(f"  saved  {row['wall_s']:6.1f} s{then}  ({row['new_prompt_tokens']} new prompt tokens)  "
                      f"{row['question'][:60]}")
        cold = [one_shot(q, cold_env) for q in questions[: args.cold]]
        for row in cold:
            print(f"  cold   {row['wall_s']:6.1f} s  ({row['new_prompt_tokens']} new prompt tokens)  {row['question'][:60]}")
        result["ask_saved"] = summary(saved)
        if baseline:
            result["ask_baseline"] = summary(baseline) | {"rev": args.baseline}
            result["same_sql_baseline"] = f"{sum(a['sql'] == b['sql'] for a, b in zip(saved, baseline))}/{len(saved)}"
            result["ask_vs_baseline"] = round(result["ask_saved"]["p50_s"] / result["ask_baseline"]["p50_s"], 2)
            print(f"one-shot ask p50 {result['ask_saved']['p50_s']} s vs {result['ask_baseline']['p50_s']} s at "
                  f"{args.baseline} ({result['ask_vs_baseline']}x), same SQL {result['same_sql_baseline']}")
        if cold:
            same = [a["sql"] == b["sql"] for a, b in zip(saved, cold)]
            result["ask_cold"] = summary(cold)
            result["same_sql_saved_vs_cold"] = f"{sum(same)}/{len(same)}"
            result["ask_speedup"] = round(result["ask_cold"]["p50_s"] / result["ask_saved"]["p50_s"], 1)
    steps = []
    restarts = questions[: max(1, args.restarts)]
    if "serve" in parts:
        steps += [(f"serve_saved_{i}", lambda q=q, i=i: api_first_answer(env, token, q, work, f"saved-{i}"))
                  for i, q in enumerate(restarts)]
        if args.cold:
            steps += [("serve_cold", lambda: api_first_answer(cold_env, token, questions[0], work, "cold"))]
    if "server" in parts:
        steps += [("model_server_first_start", lambda: model_server(env, work, "first", questions[0])),
                  ("model_server_restart", lambda: model_server(env, work, "restart", questions[0]))]
    if "ui" in parts:
        steps += [(f"ui_restart_saved_{i}", lambda q=q: ui_first_answer(env, work, q)) for i, q in enumerate(restarts)]
    for name, step in steps:          # one failing part is recorded, the others still measured
        try:
            result[name] = step()
        except (Exception, SystemExit) as exc:
            result[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        print(name, result[name])

    print(json.dumps({k: v for k, v in result.items() if k not in ("machine",)}, indent=1, default=str)[:4000])
    write_result(f"first-answer-{args.model}" + ("" if parts >= {"ask", "serve"} else "-" + "-".join(sorted(parts))),
                 result)


if __name__ == "__main__":
    main()
