"""abordo's chat page, in Streamlit's canonical chat shape: history in st.session_state["messages"],
a re-render loop, then `if prompt := st.chat_input()`. Everything else is imported from ui/*.

Start it with `abordo ui [--db URL] [--port N]` (settings arrive as ABORDO_* environment variables).
"""
from __future__ import annotations

import uuid

import streamlit as st

from assistant.memory import Memory
from db.errors import DbError
from ui import auth, render, runtime, sidebar
from ui.texts import EXAMPLES, t

st.set_page_config(page_title="abordo", page_icon="✈️", layout="wide")
lang = sidebar.language()
try:
    settings = runtime.settings()
except DbError as exc:
    st.error(t("config_error", lang, detail=str(exc)))
    st.stop()

runtime.warmup(settings)   # the model and its prompt prefix get ready from the first page view, before anyone asks
st.title(t("title", lang))
user = auth.current_user(settings.app_url, lang, settings.trusted_user_header)
if user is None:
    st.stop()
sidebar.show(settings, user, lang)

st.session_state.setdefault("messages", [])
st.session_state.setdefault("memory", Memory())

for msg in st.session_state["messages"]:
    with st.chat_message(msg["role"]):
        if msg["role"] == "user":
            st.markdown(msg["content"])
        else:
            render.show_reply(msg["reply"], key=msg["key"], ui_lang=lang, settings=settings,
                              user=user.name, role=user.role)

examples = st.empty()
if not st.session_state["messages"]:
    with examples.container():
        st.caption(t("examples", lang))
        for i, example in enumerate(EXAMPLES[lang]):
            st.button(example, key=f"example-{i}", on_click=st.session_state.__setitem__, args=("picked", example))

if prompt := (st.chat_input(t("chat_placeholder", lang)) or st.session_state.pop("picked", None)):
    examples.empty()
    st.session_state["messages"].append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        status = st.status(t("stage_start", lang), expanded=False)
        stream_box = st.empty()
        streamed: list[str] = []

        def on_token(token: str) -> None:
            streamed.append(token)
            stream_box.markdown("".join(streamed) + "▌")

        reply = runtime.ask(
            prompt, s=settings, role=user.role, user=user.name, memory=st.session_state["memory"],
            on_stage=lambda stage: status.update(label=t(f"stage_{stage}", lang), state="running"),
            on_queue=lambda n: status.update(label=t("stage_queue", lang, n=n), state="running"),
            on_token=on_token)
        stream_box.empty()
        if reply.error and not reply.refused:
            status.update(label=t("stage_failed", lang), state="error")
        else:
            status.update(label=t("stage_done", lang, secs=reply.seconds), state="complete")
        key = uuid.uuid4().hex[:12]
        # Kept before it is drawn: a question typed while this one is still drawing stops this run
        # (Streamlit reruns at the next element), and the answer must still be in the history then.
        st.session_state["messages"].append({"role": "assistant", "reply": reply, "key": key})
        render.show_reply(reply, key=key, ui_lang=lang, settings=settings, user=user.name, role=user.role)
