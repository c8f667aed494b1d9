"""Sign-in: a user name and password checked against assistant.users, or a trusted SSO header.

The header (setting `trusted_user_header`, e.g. X-Forwarded-User) is OFF by default: trusting it is only
safe behind a reverse proxy that authenticates users and strips the header from client requests. Even
then the user must exist in abordo's store, which is where the role comes from.
"""
from __future__ import annotations

import logging

import streamlit as st

from assistant.users import User, get_user, verify
from ui.texts import t

log = logging.getLogger("abordo.ui")


def _header(name: str) -> str | None:
    return (getattr(st.context, "headers", None) or {}).get(name)


def current_user(app_url: str, lang: str, trusted_header: str = "") -> User | None:
    """The signed-in user, showing the sign-in form (and returning None) when there is none."""
    user = st.session_state.get("user")
    if user is not None:
        return user
    header = trusted_header.strip()
    if header:
        name = (_header(header) or "").strip()
        if name:
            try:
                user = get_user(app_url, name)
            except Exception:
                log.exception("user store unavailable")
                st.error(t("user_store_down", lang))
                return None
            if user is None:
                st.error(t("unknown_sso", lang, name=name))
                return None
            st.session_state["user"] = user
            return user
    _form(app_url, lang)
    return None


def _form(app_url: str, lang: str) -> None:
    st.subheader(t("sign_in", lang))
    st.caption(t("sign_in_intro", lang))
    with st.form("sign-in"):
        name = st.text_input(t("username", lang), key="login_name")
        password = st.text_input(t("password", lang), type="password", key="login_password")
        submitted = st.form_submit_button(t("sign_in", lang))
    if submitted:
        try:
            user = verify(app_url, name, password)
        except Exception:
            log.exception("user store unavailable")
            st.error(t("user_store_down", lang))
            return
        if user is None:
            log.info("failed sign-in for %r", name)
            st.error(t("bad_login", lang))
            return
        st.session_state["user"] = user
        st.rerun()


def sign_out() -> None:
    for key in ("user", "messages", "memory", "rated"):
        st.session_state.pop(key, None)
