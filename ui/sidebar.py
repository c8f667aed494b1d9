"""The sidebar: language, who is signed in and with which role, database and model, a new conversation,
and for supervisors the audit view (who saw a passenger, recent questions)."""
from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from ui.auth import sign_out
from ui.runtime import database_label, model_label, warmup
from ui.texts import ROLE_NAMES, language_from_header, t

log = logging.getLogger("abordo.ui")


def language() -> str:
    """The UI language from the toggle; first default from the browser's Accept-Language, else Spanish."""
    if "ui_lang" not in st.session_state:
        header = (getattr(st.context, "headers", None) or {}).get("Accept-Language")
        st.session_state["ui_lang"] = language_from_header(header)
    return st.sidebar.radio("Idioma · Language", ["es", "en"], key="ui_lang", horizontal=True,
                            format_func=lambda code: {"es": "Español", "en": "English"}[code])


def new_conversation() -> None:
    st.session_state["messages"] = []
    memory = st.session_state.get("memory")
    if memory is not None:
        memory.clear()


def show(settings, user, lang: str) -> None:
    sb = st.sidebar
    sb.markdown(t("signed_in_as", lang, user=user.name))
    sb.markdown(f"**{t('role', lang)}:** {ROLE_NAMES[user.role][lang]}")
    sb.markdown(f"**{t('database', lang)}:** {database_label(settings)}")
    sb.markdown(f"**{t('model', lang)}:** {model_label(settings)}")
    with sb:
        model_status(warmup(settings), lang)
    sb.button(t("new_chat", lang), on_click=new_conversation, key="new_chat")
    sb.button(t("sign_out", lang), on_click=sign_out, key="sign_out")
    if user.role == "supervisor":
        _audit(settings, lang)


def model_status(warm, lang: str) -> None:
    """While the model warms up, a notice that refreshes itself every two seconds until it is ready."""
    if warm is None:
        return
    if warm.busy:
        _warming(warm, lang)
    elif warm.state == "failed":
        st.caption(t("model_failed", lang))
    else:
        st.caption(f"✓ {t('model_ready', lang)}")


@st.fragment(run_every=2)
def _warming(warm, lang: str) -> None:
    if warm.busy:
        st.info(t("model_warming", lang, secs=round(warm.elapsed())), icon="⏳")
    else:
        st.caption(f"✓ {t('model_ready', lang)}" if warm.state == "ready" else t("model_failed", lang))


def _audit(settings, lang: str) -> None:
    from sql_tools.audit import get_audit_log

    sb = st.sidebar
    sb.divider()
    sb.subheader(t("audit", lang))
    pid = sb.text_input(t("who_saw", lang), key="audit_pid").strip()
    try:
        audit = get_audit_log(settings.app_url)
        if pid:
            seen = audit.who_saw(pid)
            if seen:
                sb.dataframe(_records(seen), hide_index=True)
            else:
                sb.caption(t("nobody_saw", lang))
        sb.caption(t("recent", lang))
        sb.dataframe(_records(audit.tail(15)), hide_index=True)
    except Exception:
        log.exception("audit view failed")
        sb.warning(t("audit_down", lang))


def _records(records) -> pd.DataFrame:
    return pd.DataFrame([{"ts": r.ts, "user": r.user, "role": r.role, "verdict": r.verdict, "code": r.code,
                          "rows": r.row_count, "question": r.question} for r in records])
