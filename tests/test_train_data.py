"""`abordo train data`: generated pairs on real seeded databases, the shipped demo dataset, overlap
with the evaluation sets, and another catalog."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from abordo.cli import main
from db.catalog import load_catalog
from train.data import generate, read_dataset, write_dataset
from train.errors import TrainingDataError
from train.overlap import overlap

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "train" / "demo-data"
EVAL = ROOT / "tests" / "data" / "eval"


@pytest.fixture(scope="module")
def seeded_sqlite(seeded_demo) -> str:
    """The demo as `abordo seed` makes it (5,000 passengers), shared with the session."""
    return f"sqlite:///{seeded_demo(5000)}"


@pytest.fixture
def seeded_pg(seeded_demo) -> str:
    """The same demo on PostgreSQL."""
    return seeded_demo(5000, postgres=True)


def _run(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql.replace(":", r"\:")))]
    finally:
        engine.dispose()


def test_pairs_are_bilingual_varied_and_run(seeded_sqlite):
    report = generate(load_catalog(), seeded_sqlite, n=150, seed=7, dialects=("sqlite",))
    pairs = report.pairs
    assert len(pairs) == 150
    langs = Counter(p.lang for p in pairs)
    assert langs["es"] > 50 and langs["en"] > 50, langs
    shapes = Counter(p.shape for p in pairs)
    assert len(shapes) >= 9, shapes
    assert len({p.question for p in pairs}) == len(pairs)
    for p in pairs:
        assert p.messages[0]["role"] == "system" and "SQLite" in p.messages[0]["content"]
        assert p.messages[1]["content"].endswith(f"Q: {p.question}\nSQL:")
        if p.sql != "REFUSE":
            assert _run(seeded_sqlite, p.sql), p      # every gold query returns rows


def test_same_seed_same_pairs(seeded_sqlite):
    a = generate(load_catalog(), seeded_sqlite, n=30, seed=3, dialects=("sqlite",))
    b = generate(load_catalog(), seeded_sqlite, n=30, seed=3, dialects=("sqlite",))
    assert [(p.question, p.sql) for p in a.pairs] == [(p.question, p.sql) for p in b.pairs]


def test_dated_questions_carry_the_linkers_dates(seeded_sqlite):
    pairs = generate(load_catalog(), seeded_sqlite, n=120, seed=11, dialects=("sqlite",)).pairs
    dated = [p for p in pairs if "date(" in p.sql]
    assert len(dated) > 10
    for p in dated:
        hint = next(line for line in p.messages[1]["content"].splitlines() if "date(col)" in line)
        resolved = hint.split("date(col)", 1)[1].strip()
        assert resolved in p.sql, (p.question, hint, p.sql)


@pytest.mark.postgres
def test_pairs_agree_on_sqlite_and_postgres(seeded_sqlite, seeded_pg):
    report = generate(load_catalog(), seeded_sqlite, n=80, seed=5, verify_on=[seeded_pg])
    assert Counter(p.dialect for p in report.pairs).keys() == {"sqlite", "postgres"}
    for p in report.pairs:
        if p.sql == "REFUSE":
            continue
        if p.shape == "timing" and ("strftime" in p.sql or "EXTRACT" in p.sql):
            continue                                # written for its own dialect; checked by the generator
        lite, pg = _run(seeded_sqlite, p.sql), _run(seeded_pg, p.sql)
        norm = lambda rows: sorted(tuple(round(float(v), 2) if isinstance(v, (float, int)) or
                                         type(v).__name__ == "Decimal" else str(v) for v in r) for r in rows)
        assert norm(lite) == norm(pg), p


def test_write_and_read_back(tmp_path, seeded_sqlite):
    report = generate(load_catalog(), seeded_sqlite, n=40, seed=2, dialects=("sqlite",))
    manifest = write_dataset(report, tmp_path / "d", seed=2, meta={"catalog": "passengers"})
    train, valid, again = read_dataset(tmp_path / "d")
    assert len(train) + len(valid) == 40 == manifest["pairs"] == sum(
        n for by_lang in manifest["by_shape"].values() for n in by_lang.values())
    assert again["data_hash"] == manifest["data_hash"]
    (tmp_path / "d" / "train.jsonl").write_text("\n".join(json.dumps(r) for r in train[1:]) + "\n")
    with pytest.raises(TrainingDataError, match="does not match its manifest"):
        read_dataset(tmp_path / "d")
    with pytest.raises(TrainingDataError, match="not a training dataset"):
        read_dataset(tmp_path / "nothing")


def test_cli_writes_a_dataset(tmp_path, seeded_sqlite):
    result = CliRunner().invoke(main, ["train", "data", "--db", seeded_sqlite, "--out", str(tmp_path / "d"),
                                       "-n", "25", "--no-feedback"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["pairs"] == 25
    bad = CliRunner().invoke(main, ["train", "data", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}",
                                    "--out", str(tmp_path / "e")])
    assert bad.exit_code == 2 and "run `abordo seed` first" in bad.output
    assert not (tmp_path / "e").exists()


def test_feedback_pairs_join_the_data(tmp_path, seeded_sqlite):
    from assistant.feedback import Feedback, add_feedback
    from train.data import feedback_pairs

    app = f"sqlite:///{tmp_path / 'app.sqlite'}"
    add_feedback(app, Feedback(user="ana", role="agent", question="¿cuántos aeropuertos hay?",
                               sql="SELECT COUNT(*) FROM airports", rating=1))
    add_feedback(app, Feedback(user="ana", role="agent", question="mal", sql="SELECT 1", rating=-1))
    add_feedback(app, Feedback(user="ana", role="agent", question="roto", sql="SELECT nope FROM airports", rating=1))
    staff = feedback_pairs(app)
    assert [q for q, _s in staff] == ["roto", "¿cuántos aeropuertos hay?"]
    report = generate(load_catalog(), seeded_sqlite, n=10, seed=1, dialects=("sqlite",), feedback=staff)
    sources = Counter(p.source for p in report.pairs)
    assert sources["feedback"] == 1 and report.dropped["feedback_guard:unknown_column"] == 1


def test_another_catalog_gets_its_own_pairs(tmp_path):
    """A drafted catalog of a database the generator has never seen: Spider's flight_1, with no glossary."""
    import yaml

    from db.catalog import parse_catalog
    from db.introspect import draft_catalog

    db = ROOT.parent / "shared" / "eval-data" / "spider-aviation" / "database" / "flight_1" / "flight_1.sqlite"
    if not db.is_file():
        pytest.fail(f"the Spider aviation fixture is expected at {db}")
    url = f"sqlite:///{db}"
    catalog = parse_catalog(yaml.safe_load(draft_catalog(url)), "flight_1")
    report = generate(catalog, url, n=40, seed=4, dialects=("sqlite",))
    assert len(report.pairs) == 40
    tables = {t for p in report.pairs for t in catalog.exposed_tables if t.lower() in p.sql.lower()}
    assert len(tables) >= 2
    for p in report.pairs:
        if p.sql != "REFUSE":
            assert _run(url, p.sql)


def test_shipped_demo_dataset_is_intact_and_covers_the_shapes():
    train, valid, manifest = read_dataset(DEMO_DATA)
    assert manifest["pairs"] == len(train) + len(valid) >= 1500
    assert manifest["by_lang"]["es"] > 600 and manifest["by_lang"]["en"] > 600
    assert set(manifest["by_dialect"]) == {"sqlite", "postgres"}
    assert {"count", "count_by", "measure", "top_n", "distinct", "rate", "lookup", "person", "timing",
            "having", "country"} <= set(manifest["by_shape"])


@pytest.mark.parametrize("name", ["dev", "staff", "fresh", "postgrespro"])
def test_overlap_with_the_evaluation_sets(name, capsys):
    """Reported figures; a copied evaluation question fails the test."""
    train, valid, _m = read_dataset(DEMO_DATA)
    questions = [json.loads(line)["question"] for line in (EVAL / f"{name}-questions.jsonl").read_text().splitlines()
                 if line.strip()]
    result = overlap([r["question"] for r in train + valid], questions)
    with capsys.disabled():
        print(f"\n{name}: {result.with_shared}/{result.questions} questions share a 5-gram with the training "
              f"questions ({result.shared_ngrams} distinct 5-grams), {result.copies} copies")
    assert result.copies == 0
    assert result.share < 0.25


@pytest.mark.postgres
@pytest.mark.slow
def test_the_shipped_dataset_regenerates_byte_for_byte(seeded_sqlite, seeded_pg, tmp_path):
    """The command in the manifest, on the seeded demo as `abordo seed` makes it, gives the shipped data
    (same hash)."""
    _train, _valid, manifest = read_dataset(DEMO_DATA)
    report = generate(load_catalog(), seeded_sqlite, n=manifest["pairs"], seed=manifest["seed"],
                      verify_on=[seeded_pg], dialects=tuple(manifest["dialects"]))
    again = write_dataset(report, tmp_path / "again", seed=manifest["seed"], meta={})
    assert again["data_hash"] == manifest["data_hash"]
