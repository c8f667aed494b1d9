"""Configuration, read in one place.

Environment variables with the ``ABORDO_`` prefix win over an optional TOML file
(``ABORDO_CONFIG`` or ``<user config dir>/abordo.toml``), which wins over the defaults below.
The resulting frozen `Settings` object is passed down; nothing deeper re-reads the environment.
Every setting is listed in `SETTINGS` with its help text, and the README documents each one
(a test checks that).
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import platformdirs

from db.errors import ConfigError

APP_NAME = "abordo"
DEFAULT_TODAY = date(2026, 6, 15)


def user_data_dir() -> Path:
    return Path(os.environ.get("ABORDO_HOME") or platformdirs.user_data_dir(APP_NAME))


def user_cache_dir() -> Path:
    home = os.environ.get("ABORDO_HOME")
    return Path(home) / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))


@dataclass(frozen=True)
class Setting:
    name: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "SQLAlchemy URL of the passenger database (sqlite:///... or postgresql://...)."),
    Setting("reader_url", "URL the guarded executor connects with on PostgreSQL; default: database_url with "
                          "the user replaced by the role's login (abordo_agent, abordo_analyst, ...)."),
    Setting("app_url", "SQLAlchemy URL of abordo's own writable store (audit log, users, feedback)."),
    Setting("catalog_path", "Catalog YAML: descriptions, synonyms, PII classes, roles. Default: the demo catalog."),
    Setting("today", "The date 'today' means (YYYY-MM-DD). Default 2026-06-15, the demo's today."),
    Setting("role", "Default role for the CLI: agent, supervisor or analyst."),
    Setting("statement_timeout_ms", "Time limit for one SQL statement, in milliseconds."),
    Setting("pseudonym_key", "Secret key for the analyst role's stable pseudonyms (keyed hash)."),
    Setting("summaries", "'model': short model-written summaries of multi-row results (checked against the rows); "
                         "'off': deterministic sentences only (no extra model call)."),
    Setting("model", "Name of a fetched model (qwen2.5-coder-1.5b, qwen2.5-coder-0.5b) or a path to any GGUF."),
    Setting("chat_format", "llama.cpp chat format for a GGUF path (e.g. llama-2); empty: the GGUF's template."),
    Setting("n_ctx", "Context size for the local model (tokens)."),
    Setting("n_threads", "Threads for the local model."),
    Setting("query_path", "'auto' (default): 'views' when the catalog's views were reviewed, 'tables' while they are "
                          "as `abordo catalog init` drafted them (views_drafted: true); 'views': the model writes SQL "
                          "over ONE of the catalog's semantic views, expanded into the joins, with the tables' path "
                          "behind it when that fails (a catalog without views answers on the tables); 'tables': SQL "
                          "over the tables, joins and all."),
    Setting("prefix_cache", "'on': the evaluated prompt prefix is saved beside the models and restored by every new "
                            "process (the first answer in seconds); 'off': every process reads it again."),
    Setting("adapter", "LoRA adapter for the local model: 'demo' (the one shipped for the demo catalog), a path "
                       "to an adapter .gguf made by 'abordo train', or 'none'."),
    Setting("examples", "Worked examples shown with each question: the N verified (question, SQL) pairs nearest it "
                        "from example_pairs; 0 = none (costs new prompt tokens per question)."),
    Setting("example_pairs", "The verified pairs to draw examples from: 'demo' (train/demo-data, generated for the "
                             "demo catalog) or the path of an `abordo train data` directory or train.jsonl."),
    Setting("openai_base_url", "OpenAI-compatible endpoint (llama.cpp server, vLLM, hosted); replaces the local model."),
    Setting("openai_model", "Model name sent to the OpenAI-compatible endpoint."),
    Setting("openai_api_key", "API key for the OpenAI-compatible endpoint."),
    Setting("trusted_user_header", "UI single sign-on: name of a header set by an authenticating reverse proxy "
                                   "(e.g. X-Forwarded-User); empty (default) = password sign-in only."),
    Setting("api_rate_per_minute", "`abordo serve`: requests one user may make in any minute, per worker (429 past it)."),
    Setting("api_anon_rate_per_minute", "`abordo serve`: requests without a valid token one client address may make "
                                        "in any minute, per worker (each audited; past it 429, audited once a minute)."),
    Setting("api_max_body_bytes", "`abordo serve`: largest request body accepted, in bytes (413 past it, before the "
                                  "body is read)."),
    Setting("queue_timeout_s", "Seconds a question may wait for the model (the chat page and `abordo serve`); past it "
                               "the asker is told the model is busy and to try again."),
    Setting("model_slots", "`abordo serve` and the chat page with openai_base_url: questions sent to the model "
                           "server at once (its --parallel slots); the in-process model always takes one."),
    Setting("token_days", "Days an API token from `abordo users token` stays valid (1-3650; `--days` overrides it "
                          "per token). A token made before tokens had an expiry lapses this long after it was made."),
)


def _default_database_url() -> str:
    return f"sqlite:///{user_data_dir() / 'demo.sqlite'}"


def _default_app_url() -> str:
    return f"sqlite:///{user_data_dir() / 'app.sqlite'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    reader_url: str = ""
    app_url: str = field(default_factory=_default_app_url)
    catalog_path: str = ""
    today: date = DEFAULT_TODAY
    role: str = "agent"
    statement_timeout_ms: int = 3000
    pseudonym_key: str = "abordo-demo-pseudonym-key"
    summaries: str = "off"
    model: str = "qwen2.5-coder-1.5b"
    chat_format: str = ""
    n_ctx: int = 6144
    n_threads: int = 2
    query_path: str = "auto"
    prefix_cache: str = "on"
    adapter: str = "none"
    examples: int = 0
    example_pairs: str = "demo"
    openai_base_url: str = ""
    openai_model: str = ""
    openai_api_key: str = ""
    trusted_user_header: str = ""
    api_rate_per_minute: int = 60
    api_anon_rate_per_minute: int = 30
    api_max_body_bytes: int = 65536
    model_slots: int = 4
    queue_timeout_s: int = 600
    token_days: int = 90

    @property
    def queue_slots(self) -> int:
        """Questions the model takes at once: a model server's slots, or one for the in-process model."""
        return max(1, self.model_slots) if self.openai_base_url else 1

    def replace(self, **changes) -> Settings:
        """A copy with some settings changed; `None` values (unset CLI options) are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, raw, target_type):
    try:
        if target_type is date or target_type == "date":
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        if target_type is int or target_type == "int":
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        return str(raw)
    except ValueError:
        raise ConfigError(f"setting {name!r}: {raw!r} is not a valid {getattr(target_type, '__name__', target_type)}")


def load_settings(env: Mapping[str, str] | None = None, config_file: str | Path | None = None) -> Settings:
    """Read the config file then the ABORDO_* environment into a validated `Settings`."""
    env = os.environ if env is None else env
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, object] = {}
    path = Path(config_file or env.get("ABORDO_CONFIG") or Path(platformdirs.user_config_dir(APP_NAME)) / "abordo.toml")
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        for key, raw in data.items():
            if key not in fields:
                raise ConfigError(f"config file {path}: unknown setting {key!r} (known: {', '.join(fields)})")
            values[key] = raw
    elif config_file or env.get("ABORDO_CONFIG"):
        raise ConfigError(f"config file {path} does not exist")
    for name in fields:
        raw = env.get(f"ABORDO_{name.upper()}")
        if raw not in (None, ""):
            values[name] = raw
    typed = {k: _coerce(k, v, fields[k].type) for k, v in values.items()}
    if typed.get("role", "agent") not in ("agent", "supervisor", "analyst"):
        raise ConfigError(f"setting 'role': {typed['role']!r} is not one of agent, supervisor, analyst")
    if typed.get("summaries", "off") not in ("model", "off"):
        raise ConfigError(f"setting 'summaries': {typed['summaries']!r} is not one of model, off")
    if typed.get("query_path", "auto") not in ("auto", "tables", "views"):
        raise ConfigError(f"setting 'query_path': {typed['query_path']!r} is not one of auto, tables, views")
    if typed.get("prefix_cache", "on") not in ("on", "off"):
        raise ConfigError(f"setting 'prefix_cache': {typed['prefix_cache']!r} is not one of on, off")
    if not 1 <= typed.get("token_days", 90) <= 3650:
        raise ConfigError(f"setting 'token_days': {typed['token_days']!r} is not between 1 and 3650")
    return Settings(**typed)
