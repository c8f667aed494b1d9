"""`abordo eval`: execution accuracy of the assistant (and optionally the stock LangChain SQL agent) on a
question set, with latency, model calls and tokens; `abordo eval --compare OLD.json NEW.json`.

\b
abordo eval --questions tests/data/eval/dev-questions.jsonl --json eval.json
abordo eval --questions ../shared/eval-data/spider-aviation/questions.jsonl \\
            --db-dir ../shared/eval-data/spider-aviation/database
abordo eval --questions tests/data/eval/dev-questions.jsonl --limit 12 --baseline langchain-sql-agent
abordo eval --compare old.json new.json
"""
from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import click

from db.cli import settings_of


def make_chat(settings):
    """The chat model for the run (loaded once per process). Tests replace this function."""
    from assistant.llm import make_chat_model

    return make_chat_model(settings)


def _spider_db(db_dir: Path, db_id: str) -> Path:
    for p in (db_dir / db_id / f"{db_id}.sqlite", db_dir / f"{db_id}.sqlite"):
        if p.is_file():
            return p
    from evaluation.errors import EvalError

    raise EvalError(f"no SQLite file for db_id {db_id!r} under {db_dir} (expected {db_id}/{db_id}.sqlite)")


def _groups(settings, questions, db_url, db_dir, catalog_path, tmp: Path):
    """[(settings, catalog, questions)] : one group per database."""
    from db.catalog import load_catalog
    from db.introspect import draft_catalog
    from evaluation.errors import EvalError

    spider = [q for q in questions if q.db_id]
    if spider and len(spider) != len(questions):
        raise EvalError("the question file mixes Spider items (db_id) with shared/eval items")
    if not spider:
        s = settings.replace(database_url=db_url, catalog_path=catalog_path)
        _require_db(s.database_url)
        catalog = load_catalog(s.catalog_path or None)
        if not s.catalog_path and not _catalog_fits(catalog, s.database_url):
            # Another schema and no --catalog: draft one exactly as `abordo catalog init` would.
            cat_file = tmp / "drafted-catalog.yaml"
            cat_file.write_text(draft_catalog(s.database_url), encoding="utf-8")
            click.echo(f"eval: the demo catalog does not fit {s.database_url}; using a catalog drafted by "
                       "`abordo catalog init`", err=True)
            s = s.replace(catalog_path=str(cat_file))
            catalog = load_catalog(cat_file)
        return [(s, catalog, questions)]
    if not db_dir:
        raise EvalError("Spider questions (db_id) need --db-dir DIR holding <db_id>/<db_id>.sqlite")
    out = []
    for db_id in dict.fromkeys(q.db_id for q in spider):
        url = f"sqlite:///{_spider_db(Path(db_dir), db_id)}"
        cat_file = tmp / f"{db_id}.yaml"
        cat_file.write_text(draft_catalog(url), encoding="utf-8")   # what `abordo catalog init` writes
        s = settings.replace(database_url=url, catalog_path=str(cat_file))
        out.append((s, load_catalog(cat_file), [q for q in spider if q.db_id == db_id]))
    return out


def _catalog_fits(catalog, url: str) -> bool:
    from db.catalog import check_against_database
    from db.engines import make_engine
    from db.errors import DbError

    engine = make_engine(url)
    try:
        check_against_database(catalog, engine)
        return True
    except DbError:
        return False
    finally:
        engine.dispose()


def _require_db(url: str) -> None:
    from db.engines import dialect_of, sqlite_path
    from evaluation.errors import EvalError

    if dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        raise EvalError(f"no database at {sqlite_path(url)}: run `abordo seed` or pass --db")


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not enabled, leave=False, dynamic_ncols=True)


def run_eval(settings, questions, *, db_url=None, db_dir=None, catalog_path=None, role="supervisor",
             baseline: str | None = None, progress: bool = True, chat=None, log=None, on_record=None,
             verified_lines: list[str] | None = None) -> dict:
    """Run the question set; returns the JSON-able result (systems -> summary + records).

    The run's verified questions are none (held-out figures measure the model and the pipeline), or
    `verified_lines` (an `abordo verified export` file) when a run is meant to count them.

    `on_record(record)` is called after every scored question (the CLI streams them to OUT.partial.jsonl,
    so a long run that is interrupted still leaves its figures)."""
    from assistant.pipeline import Assistant
    from evaluation.placeholders import PlaceholderFiller
    from evaluation.readonly_db import ReadOnlyDB
    from evaluation.reports import records_to_json, summarise
    from evaluation.scoring import evaluate_answer

    log = log or (lambda msg: click.echo(msg, err=True))
    started = dt.datetime.now(dt.UTC)
    records: dict[str, list] = {"abordo": []}
    if baseline:
        records[baseline] = []
    with tempfile.TemporaryDirectory(prefix="abordo-eval-") as tmpdir:
        tmp = Path(tmpdir)
        # The run's own audit store: eval queries stay out of the real audit log, and earlier runs do not
        # count towards the role's per-hour passenger limit.
        settings = settings.replace(app_url=f"sqlite:///{tmp / 'eval-app.sqlite'}")
        if verified_lines:
            from assistant import verified

            verified.import_lines(settings.app_url, verified_lines)
        groups = _groups(settings, questions, db_url, db_dir, catalog_path, tmp)
        t0 = time.perf_counter()
        chat = chat if chat is not None else make_chat(settings)
        load_s = time.perf_counter() - t0
        dbs = []
        for gsettings, catalog, qs in groups:
            db = ReadOnlyDB(gsettings.database_url)
            dbs.append(db)
            filler = PlaceholderFiller(db)
            filled = [filler.fill(q) for q in qs]
            cap = catalog.role(role).max_rows
            assistant = Assistant(gsettings, chat_model=chat, catalog=catalog, role=role, user="eval")
            assistant.warm()
            label = Path(gsettings.database_url).stem if len(groups) > 1 else "abordo"
            bar = _progress(len(filled), label, progress)
            for q in filled:
                records["abordo"].append(evaluate_answer(db, q, _ask(assistant, q.question), cap=cap))
                if on_record:
                    on_record(records["abordo"][-1])
                bar.update(1)
            bar.close()
            if baseline:
                from evaluation.baseline import make_baseline

                agent = make_baseline(baseline, chat, gsettings.database_url)
                bar = _progress(len(filled), f"{baseline}", progress)
                try:
                    for q in filled:
                        records[baseline].append(_as_baseline(evaluate_answer(db, q, agent.ask(q.question), cap=None),
                                                              baseline))
                        if on_record:
                            on_record(records[baseline][-1])
                        bar.update(1)
                finally:
                    bar.close()
                    agent.close()
        for db in dbs:
            db.close()
    from evaluation.reports import machine_info

    return {
        "run": {"started": started.isoformat(timespec="seconds"), "role": role, "today": str(settings.today),
                "verified_questions": len([v for v in verified_lines or () if v.strip()]),
                "summaries": settings.summaries, "databases": [g[0].database_url for g in groups],
                "questions": len(questions), "model_load_s": round(load_s, 2),
                "model": getattr(chat, "model_name", None) or type(chat).__name__},
        "machine": machine_info(settings),
        "systems": {name: {"summary": summarise(rs), "records": records_to_json(rs)} for name, rs in records.items()},
    }


def _ask(assistant, question: str):
    """`Assistant.ask`; an unexpected exception is scored as a wrong answer (code crash:<Type>), not a
    crashed run: users would see an error for that question too."""
    from assistant.pipeline import Answer

    started = time.perf_counter()
    try:
        return assistant.ask(question)
    except Exception as exc:  # noqa: BLE001
        ans = Answer(question=question, lang="en", error=f"crash:{type(exc).__name__}", text=str(exc)[:200])
        ans.timings["total"] = time.perf_counter() - started
        return ans


def _as_baseline(rec, name):
    rec.system = name
    return rec


@click.command("eval")
@click.option("--questions", "questions_path", help="Question file (JSON lines): shared/eval format or Spider's.")
@click.option("--db", "db_url", help="Database URL (default: the configured/demo database).")
@click.option("--db-dir", "db_dir", help="Spider: directory with one SQLite per db_id (<db_id>/<db_id>.sqlite).")
@click.option("--catalog", "catalog_path", help="Catalog YAML for --db (default: the configured/demo catalog).")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="The date 'today' means (default 2026-06-15).")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--ids", help="Only these question ids (comma-separated).")
@click.option("--json", "json_out", help="Write every record, the summary and machine info to this file.")
@click.option("--baseline", type=click.Choice(["langchain-sql-agent"]), help="Also run this baseline, same model.")
@click.option("--role", type=click.Choice(["agent", "supervisor", "analyst"]), default="supervisor",
              show_default=True, help="Role the assistant runs as (its row cap is the LIMIT the guard injects).")
@click.option("--compare", nargs=2, metavar="OLD.json NEW.json", help="Show what got better or worse between runs.")
@click.option("--failures/--no-failures", default=True, help="Print each failure with gold and predicted SQL.")
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr.")
@click.option("--verified", "verified_path", type=click.Path(exists=True, dir_okay=False),
              help="Answer from these verified questions (an `abordo verified export` file); default: none, so "
                   "the figures are the model's and the pipeline's own.")
@click.pass_context
def eval_command(ctx, questions_path, db_url, db_dir, catalog_path, today, limit, ids, json_out, baseline, role,
                 compare, failures, progress, verified_path):
    """Execution accuracy, latency and model cost on a question set (optionally beside a baseline)."""
    from evaluation.errors import EvalError
    from evaluation.questions import load_questions
    from evaluation.reports import compare_runs, format_failures, format_side_by_side, format_summary

    if compare:
        old, new = (_read_json(p) for p in compare)
        click.echo(compare_runs(old, new))
        return
    if not questions_path:
        raise EvalError("give --questions FILE (or --compare OLD.json NEW.json)")
    questions = load_questions(questions_path)
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        missing = set(wanted) - {q.id for q in questions}
        if missing:
            raise EvalError(f"unknown question id(s): {', '.join(sorted(missing))}")
        questions = [q for q in questions if q.id in wanted]
    if limit:
        questions = questions[:limit]
    settings = settings_of(ctx).replace(today=today.date() if today else None)
    on_record = None
    if json_out:
        from dataclasses import asdict

        partial = Path(f"{json_out}.partial.jsonl")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text("", encoding="utf-8")

        def on_record(rec):
            with partial.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(rec), ensure_ascii=False, default=str) + "\n")

    verified_lines = Path(verified_path).read_text(encoding="utf-8").splitlines() if verified_path else None
    result = run_eval(settings, questions, db_url=db_url, db_dir=db_dir, catalog_path=catalog_path, role=role,
                      baseline=baseline, progress=progress, on_record=on_record, verified_lines=verified_lines)
    result["run"]["questions_file"] = str(questions_path)
    m = result["machine"]
    click.echo(f"role {role} · today {settings.today} · model {result['run']['model']} · "
               f"verified questions {result['run']['verified_questions']} · "
               f"{m.get('cpu')} ({m.get('cores')} cores) · llama_cpp {m.get('llama_cpp')}")
    systems = result["systems"]
    click.echo(format_summary(systems["abordo"]["summary"], "abordo"))
    if baseline:
        click.echo(format_summary(systems[baseline]["summary"], baseline))
        click.echo("\n== side by side ==")
        click.echo(format_side_by_side(systems["abordo"]["summary"], systems[baseline]["summary"], "abordo", baseline))
    if failures:
        from evaluation.scoring import Record

        for name, sysres in systems.items():
            recs = [Record(**r) for r in sysres["records"]]
            text = format_failures(recs)
            if text:
                click.echo(f"\n== failures: {name} ==\n{text}")
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n",
                                  encoding="utf-8")
        Path(f"{json_out}.partial.jsonl").unlink(missing_ok=True)
        click.echo(f"written {json_out}")


def _read_json(path: str) -> dict:
    from evaluation.errors import EvalError

    p = Path(path)
    if not p.is_file():
        raise EvalError(f"{path} does not exist")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path} is not an `abordo eval --json` file: {exc}") from None
    if not isinstance(data, dict) or "systems" not in data:
        raise EvalError(f"{path} is not an `abordo eval --json` file (no 'systems')")
    return data
