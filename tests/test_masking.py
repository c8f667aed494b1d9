"""Masking by role, on values and through the guard + facade (rows are masked before anyone sees them)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from db.catalog import load_catalog
from sql_tools.masking import mask_frame, partial, pseudonym, year
from sql_tools.service import run_guarded
from test_executor_support import OutputColumn, seed, settings_for


def test_value_masks():
    assert partial("ana.garcia@example.com") == "a***@example.com"
    assert partial("+525500001234") == "••••1234"
    assert partial("G00000007") == "••••0007"
    assert year(dt.date(1984, 3, 9)) == "1984" and year("1984-03-09") == "1984"
    assert pseudonym("Ana", "k") == pseudonym("Ana", "k") != pseudonym("Ana", "k2")
    assert pseudonym("Ana", "k").startswith("P-") and len(pseudonym("Ana", "k")) == 10
    assert partial(None) is None and year(None) is None


def test_mask_frame_per_role():
    cat = load_catalog()
    df = pd.DataFrame({"first_name": ["Ana"], "email": ["ana@x.com"], "dob": [dt.date(1990, 1, 2)],
                       "document_number": ["G12345678"], "n": [3]})
    cols = [OutputColumn("first_name", "passengers", "first_name", "identifier"),
            OutputColumn("email", "passengers", "email", "contact"),
            OutputColumn("dob", "passengers", "date_of_birth", "date_of_birth"),
            OutputColumn("document_number", "passengers", "document_number", "document"),
            OutputColumn("n", None, None, None)]
    agent = mask_frame(df, cols, cat.role("agent"), "k").iloc[0].tolist()
    assert agent == ["Ana", "a***@x.com", "1990", "••••5678", 3]
    assert mask_frame(df, cols, cat.role("supervisor"), "k").iloc[0].tolist() == df.iloc[0].tolist()
    analyst = mask_frame(df, cols, cat.role("analyst"), "k").iloc[0].tolist()
    assert analyst[0].startswith("P-") and analyst[1] is None and analyst[2] == "1990" and analyst[3] is None
    assert analyst[4] == 3
    # fail closed: a column the guard did not describe is treated as free text
    assert mask_frame(df, cols[:4], cat.role("analyst"), "k").iloc[0, 4] is None


@pytest.fixture
def seeded(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    seed(url)
    return settings_for(url, tmp_path)


def test_through_guard_agent_sees_masked_contacts(seeded):
    cat = load_catalog()
    r = run_guarded("SELECT first_name, email, phone, date_of_birth, document_number FROM passengers "
                    "WHERE passenger_id = 3", settings=seeded, catalog=cat, role="agent", user="u1")
    row = r.df.iloc[0].tolist()
    assert row == ["Ana3", "a***@example.com", "••••1203", "1983", "••••0003"]
    assert "ana3@example.com" not in r.df.to_string()


def test_through_guard_analyst_pseudonyms_and_hidden(seeded):
    from sql_tools.guard import GuardRejection
    cat = load_catalog()
    r = run_guarded("SELECT first_name, last_name FROM passengers WHERE passenger_id = 3", settings=seeded,
                    catalog=cat, role="analyst", user="u2")
    assert all(str(v).startswith("P-") for v in r.df.iloc[0])
    with pytest.raises(GuardRejection):
        run_guarded("SELECT email FROM passengers", settings=seeded, catalog=cat, role="analyst", user="u2")


def test_expressions_over_masked_columns_rejected_counts_untouched(seeded):
    from sql_tools.guard import GuardRejection
    cat = load_catalog()
    with pytest.raises(GuardRejection):
        run_guarded("SELECT substr(email, 1, 20) AS e FROM passengers", settings=seeded, catalog=cat,
                    role="agent", user="u3")
    r = run_guarded("SELECT nationality, count(*) AS n FROM passengers GROUP BY nationality", settings=seeded,
                    catalog=cat, role="analyst", user="u3")
    assert r.df.iloc[0].tolist() == ["MX", 12]
