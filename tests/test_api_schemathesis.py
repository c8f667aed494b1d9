"""schemathesis against the real `abordo serve` (issue 23): every check, a fixed seed, bounded examples,
a scripted model behind /v1/ask, zero failures. The OpenAPI document is the contract: what it declares
(statuses, problem documents, lengths, enums, the stream's events) is what the server does."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_api import ROOT, abordo_serve

pytestmark = pytest.mark.slow
ST = Path(sys.executable).with_name("st")


def test_schemathesis_finds_nothing(tmp_path, small_demo_db):
    from assistant.users import ensure_demo_users, issue_token

    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    ensure_demo_users(app_url)
    token = issue_token(app_url, "supervisor")
    env = {**os.environ, "ABORDO_DATABASE_URL": f"sqlite:///{small_demo_db}", "ABORDO_APP_URL": app_url,
           "ABORDO_TEST_CHAT_MODEL": "tests.fakes:scripted_from_env", "ABORDO_API_RATE_PER_MINUTE": "1000000",
           "ABORDO_API_ANON_RATE_PER_MINUTE": "1000000"}
    with abordo_serve(tmp_path, env) as (url, _proc):
        run = subprocess.run(
            [str(ST), "--config-file", str(ROOT / "tests/data/schemathesis.toml"), "run", f"{url}/openapi.json",
             "--checks", "all", "--seed", "20261206", "--max-examples", "60", "-H", f"Authorization: Bearer {token}",
             "--no-color"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    summary = run.stdout[-3000:]
    print(summary)
    assert run.returncode == 0, summary
    assert " passed" in summary and "failure" not in summary.split("SUMMARY")[-1]
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]
