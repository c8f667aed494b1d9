"""How one assistant turn looks: summary, masked table, SQL, audited CSV download, chart, small print, 👍/👎.

Used both for the turn being answered and for re-drawing the history on every rerun, so a turn looks
the same before and after the page reruns.
"""
from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from ui.runtime import Reply
from ui.texts import t

log = logging.getLogger("abordo.ui")
_MAX_BARS = 60


def choose_chart(df: pd.DataFrame) -> tuple[str, str, str] | None:
    """('bar'|'line', x, y) when the result has a chart's shape, else None.

    A category and a number -> bar chart; a date and a number -> line chart. Only two-column results
    with at least two rows: anything wider is a table, not a chart.

    >>> choose_chart(pd.DataFrame({"origin": ["MEX", "CUN"], "n": [3, 4]}))
    ('bar', 'origin', 'n')
    >>> choose_chart(pd.DataFrame({"day": ["2026-06-01", "2026-06-02"], "n": [3, 4]}))
    ('line', 'day', 'n')
    """
    if df.shape[1] != 2 or len(df) < 2:
        return None
    a, b = df.columns
    for x, y in ((a, b), (b, a)):
        if not pd.api.types.is_numeric_dtype(df[y]) or pd.api.types.is_bool_dtype(df[y]):
            continue
        if _is_date(df[x]):
            return ("line", str(x), str(y))
        if (df[x].dtype == object or isinstance(df[x].dtype, pd.StringDtype)) and len(df) <= _MAX_BARS \
                and df[x].is_unique:
            return ("bar", str(x), str(y))
    return None


def _is_date(s: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(s):
        return True
    if s.dtype != object:
        return False
    sample = s.dropna().astype(str).head(20)
    return bool(len(sample)) and sample.str.fullmatch(r"\d{4}-\d{2}(-\d{2})?([ T]\d{2}:\d{2}(:\d{2})?)?").all()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The masked table as UTF-8 CSV with a BOM (so spreadsheet programs read accents right)."""
    return df.to_csv(index=False).encode("utf-8-sig")


def _audit_download(settings, user: str, role: str, reply: Reply) -> None:
    """Record that the masked rows of `reply` left the page as a file (an accepted read, code csv_download)."""
    from sql_tools.audit import AuditRecord, get_audit_log

    try:
        get_audit_log(settings.app_url).append(AuditRecord(
            user=user, role=role, verdict="accepted", code="csv_download", question=reply.question,
            sql_out=reply.sql, row_count=len(reply.rows), reason="CSV download of the masked result"))
    except Exception:
        log.exception("could not audit a CSV download")


def _rate(settings, user: str, role: str, reply: Reply, key: str, rating: int) -> None:
    from assistant.feedback import Feedback, add_feedback

    try:
        fid = add_feedback(settings.app_url, Feedback(user=user, role=role, question=reply.question,
                                                      sql=reply.sql or None, rating=rating, lang=reply.lang,
                                                      model=reply.model, error=reply.error))
        st.session_state.setdefault("rated", {})[key] = rating
        st.session_state.setdefault("feedback_ids", {})[key] = fid
    except Exception:
        log.exception("could not store feedback")


def _correct(settings, user: str, key: str) -> None:
    """A 👎's correction, queued for a supervisor (`abordo verified queue`); never verified by itself."""
    from assistant.feedback import set_comment

    text = st.session_state.get(f"fix-{key}", "")
    fid = st.session_state.get("feedback_ids", {}).get(key)
    if not text.strip() or fid is None:
        return
    try:
        set_comment(settings.app_url, fid, user, text)
        st.session_state.setdefault("corrected", set()).add(key)
    except Exception:
        log.exception("could not store a correction")


def show_reply(reply: Reply, *, key: str, ui_lang: str, settings, user: str, role: str) -> None:
    """Draw one assistant turn inside the current chat message."""
    if reply.edited:
        st.caption(":material/tune: " + t("edited", ui_lang, edit=reply.edited))
    if reply.error and not reply.refused:
        st.warning(reply.text)
    else:
        st.markdown(_plain(reply.text))
    if reply.restatement:
        # What the query computed, built from the SQL that ran (never by the model): how staff check it.
        note = f"**{t('restatement', ui_lang)}:** {_plain(reply.restatement)}"
        if not reply.restatement_complete:
            note += f"  \n:material/warning: {t('restatement_partial', ui_lang)}"
        st.info(note, icon=":material/fact_check:")
    if reply.card:
        from ui.card_view import show_card

        show_card(reply.card, ui_lang)
    elif reply.sql and len(reply.rows.columns):
        _table(reply, key=key, ui_lang=ui_lang, settings=settings, user=user, role=role)
    if reply.namesakes:
        _namesakes(reply.namesakes, ui_lang)
    if reply.plan and reply.plan.get("editable") and not reply.error:
        from ui.edit_controls import show_edit_controls

        show_edit_controls(reply, key=key, ui_lang=ui_lang, settings=settings, user=user, role=role)
    if reply.sql:
        with st.expander(t("sql", ui_lang)):
            st.code(reply.sql, language="sql")
    bits = [t("small_print", ui_lang, secs=reply.seconds, model=reply.model or "—")]
    if reply.fast_path:
        bits.append(t("fast_path", ui_lang))
    if reply.verified:
        bits.append(t("verified_by", ui_lang, by=reply.verified.get("by"), at=reply.verified.get("at")))
    elif reply.path == "views" and reply.view:
        bits.append(t("path_views", ui_lang, view=reply.view))
    elif reply.path == "tables":
        bits.append(t("path_tables", ui_lang))
    if reply.queue_position:
        bits.append(t("queued", ui_lang, n=reply.queue_position))
    st.caption(" · ".join(bits))
    _feedback(reply, key=key, ui_lang=ui_lang, settings=settings, user=user, role=role)
    if role == "supervisor" and reply.query and not reply.error and not reply.verified:
        _verify_button(reply, key=key, ui_lang=ui_lang, settings=settings, user=user, role=role)


def _verify_button(reply: Reply, *, key: str, ui_lang: str, settings, user: str, role: str) -> None:
    done = st.session_state.get("verified", {}).get(key)
    if done:
        st.caption(":material/verified: " + (t("verified_done", ui_lang, id=done) if done.startswith("#") else done))
        return
    st.button(t("verify", ui_lang), key=f"verify-{key}", icon=":material/verified:", help=t("verify_help", ui_lang),
              on_click=_verify, args=(reply, key, settings, user, role))


def _verify(reply: Reply, key: str, settings, user: str, role: str) -> None:
    from ui.runtime import verify

    st.session_state.setdefault("verified", {})[key] = verify(reply, s=settings, role=role, user=user)


def labelled(df: pd.DataFrame, labels: dict, ui_lang: str) -> pd.DataFrame:
    """The masked table with human headers in the UI language ('Número de maletas', not `count(*)`)."""
    names = labels.get(ui_lang) or next(iter(labels.values()), None)
    if not names or len(names) != df.shape[1]:
        return df
    out = df.copy()
    out.columns = names
    return out


def _plain(text: str) -> str:
    """Answer text shown as text: values from the database ('*', '_', '$') must not turn into markdown."""
    return "".join("\\" + ch if ch in "\\`*_{}[]<>()#+!|$~" else ch for ch in text)


def _namesakes(people: list[dict], ui_lang: str) -> None:
    rows = [{t("namesake_id", ui_lang): p.get("id"),
             t("namesake_name", ui_lang): " ".join(str(v) for k, v in p.items() if k.endswith("name") and v),
             t("namesake_birth", ui_lang): p.get("date_of_birth", "—"),
             t("namesake_document", ui_lang): p.get("document_number", "—"),
             t("namesake_bookings", ui_lang): ", ".join(p.get("records", [])) or "—"} for p in people]
    st.caption(t("namesakes", ui_lang))
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def _table(reply: Reply, *, key: str, ui_lang: str, settings, user: str, role: str) -> None:
    df = labelled(reply.rows, reply.labels, ui_lang)
    st.dataframe(df, hide_index=True)
    st.caption(t("one_row", ui_lang) if reply.row_count == 1 else t("rows", ui_lang, n=reply.row_count))
    # The guard caps the query at the role's row limit, so a full page is the sign of more rows.
    if reply.truncated or (reply.max_rows and reply.row_count >= reply.max_rows):
        st.info(t("truncated", ui_lang, n=len(df)))
    chart = choose_chart(df)
    if chart:
        kind, x, y = chart
        (st.line_chart if kind == "line" else st.bar_chart)(df, x=x, y=y)
    st.download_button(t("download", ui_lang), data=csv_bytes(df), file_name="abordo.csv", mime="text/csv",
                       key=f"dl-{key}", on_click=_audit_download, args=(settings, user, role, reply))


def _feedback(reply: Reply, *, key: str, ui_lang: str, settings, user: str, role: str) -> None:
    if reply.refused or not reply.question:
        return
    rated = st.session_state.get("rated", {}).get(key)
    if rated:
        st.caption((":material/thumb_up: " if rated > 0 else ":material/thumb_down: ") + t("thanks", ui_lang))
        if rated < 0 and key not in st.session_state.get("corrected", set()):
            st.text_input(t("correction", ui_lang), key=f"fix-{key}", max_chars=2000,
                          on_change=_correct, args=(settings, user, key))
        elif rated < 0:
            st.caption(t("correction_sent", ui_lang))
        return
    up, down, _ = st.columns([1, 1, 10])
    # Material icons, not emoji: a server or kiosk without an emoji font would show empty boxes.
    up.button("", icon=":material/thumb_up:", key=f"up-{key}", help=t("good", ui_lang), on_click=_rate,
              args=(settings, user, role, reply, key, 1))
    down.button("", icon=":material/thumb_down:", key=f"down-{key}", help=t("bad", ui_lang), on_click=_rate,
                args=(settings, user, role, reply, key, -1))
