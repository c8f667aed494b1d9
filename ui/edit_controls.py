"""An answer's plan as controls (issue 27): each filter a chip that removes it or changes its value,
the grouping a choice among the view's dimensions, the number of rows. A change runs the edited plan at
once with no model call (`runtime.edit`: the same guard, masking and audit) and arrives as a new turn,
so the answer it came from stays above it to compare.

Only the view's dimensions are offered as a grouping (`assistant.plan.choices`: never a personal
column, a look-up key, a timestamp or a number), plus the plan's own; values come from the column's
stored values when it is a short enumeration.
"""
from __future__ import annotations

import uuid

import streamlit as st

from assistant.plan.choices import grouping_choices
from assistant.plan.edit import Edit
from ui import runtime
from ui.texts import t

LIMITS = (None, 3, 5, 10, 20, 50, 100)


def show_edit_controls(reply, *, key: str, ui_lang: str, settings, user: str, role: str) -> None:
    plan = reply.plan
    try:
        assistant = runtime.assistant_for(settings, role, user)
    except Exception:            # the page still shows the answer; only the controls are lost
        return
    view = assistant.catalog.views.get(plan["view"])
    if view is None:
        return
    args = (reply, settings, role, user)
    with st.expander(t("edit_title", ui_lang), icon=":material/tune:"):
        for i, f in enumerate(plan["filters"]):
            what = _filter_text(f, view, ui_lang)
            left, right = st.columns([3, 2])
            left.button(t("edit_remove", ui_lang, what=what), key=f"rm-{key}-{i}", icon=":material/close:",
                        on_click=_apply, args=(*args, Edit("remove_filter", index=i)))
            if f["op"] in ("=", "<>") and len(f["values"]) == 1:
                _value_control(right, f, i, view, assistant, key=key, ui_lang=ui_lang, args=args)
        if plan["measures"] and len(plan["groupings"]) <= 1:
            current = plan["groupings"][0] if plan["groupings"] else ""
            schema = assistant.schema
            options = ["", *grouping_choices(view, assistant.catalog, schema.types, assistant.dialect)]
            if current not in options:          # grouped by a number (a flight number): still offered back
                options.append(current)
            st.selectbox(t("edit_group", ui_lang), options, index=options.index(current), key=f"grp-{key}",
                         format_func=lambda n: _label(view, n, ui_lang, assistant.words) if n
                         else t("edit_no_group", ui_lang),
                         on_change=_changed, args=(*args, f"grp-{key}", "set_grouping"))
        limit = plan.get("limit")
        limits = list(LIMITS) if limit in LIMITS else [*LIMITS, limit]
        st.selectbox(t("edit_limit", ui_lang), limits, index=limits.index(limit), key=f"lim-{key}",
                     format_func=lambda n: t("edit_all", ui_lang) if n is None else str(n),
                     on_change=_changed, args=(*args, f"lim-{key}", "set_limit"))


def _value_control(container, f: dict, i: int, view, assistant, *, key: str, ui_lang: str, args) -> None:
    """A choice among the column's stored values when it has few, else a text box; applied at once."""
    col = view.column(f["column"])
    values = []
    if col is not None and not col.derived:
        values = list(assistant.schema.stored_values.get((view.table_of(col.source), col.column), ()))
    label = t("edit_value", ui_lang, what=_label(view, f["column"], ui_lang))
    state = f"val-{key}-{i}"
    if values and f["values"][0] in values:
        container.selectbox(label, values, index=values.index(f["values"][0]), key=state,
                            on_change=_changed, args=(*args, state, "set_filter", i))
    else:
        container.text_input(label, value=str(f["values"][0]), key=state,
                             on_change=_changed, args=(*args, state, "set_filter", i))


def _changed(reply, settings, role: str, user: str, state: str, kind: str, index: int | None = None) -> None:
    value = st.session_state.get(state)
    if kind == "set_grouping":
        change = Edit("set_grouping", columns=(value,) if value else ())
    elif kind == "set_limit":
        change = Edit("set_limit", limit=value)
    else:
        old = reply.plan["filters"][index]
        typed = type(old["values"][0])
        try:
            value = typed(value) if typed in (int, float) else value
        except ValueError:
            pass                       # the edit then says what is wrong with it
        change = Edit("set_filter", index=index, operator=old["op"], values=(value,))
    _apply(reply, settings, role, user, change)


def _apply(reply, settings, role: str, user: str, change: Edit) -> None:
    """Run the edit and keep the result as a new assistant turn (drawn by the rerun that follows)."""
    new = runtime.edit(reply, change, s=settings, role=role, user=user)
    st.session_state.setdefault("messages", []).append(
        {"role": "assistant", "reply": new, "key": uuid.uuid4().hex[:12]})


def _label(view, name: str, lang: str, words=None) -> str:
    """The view column's label; else its table column's ('Cabina'), with the join it comes through
    ('Estado (reserva)'), as the answer's own headers say it; else the name."""
    col = view.column(name)
    label = (col.label or {}).get(lang) if col is not None else None
    if not label and col is not None and not col.derived and words is not None:
        label = words.label(view.table_of(col.source), col.column, lang)
        join = view.joins.get(col.source)
        if join is not None and join.label:
            label = f"{label} ({join.label.get(lang)})"
    return label or name.replace("_", " ")


def _filter_text(f: dict, view, lang: str) -> str:
    values = ", ".join(str(v) for v in f["values"])
    op = f["op"].lower() if f["op"] in ("IN", "NOT IN", "BETWEEN", "IS NULL", "IS NOT NULL") else f["op"]
    return f"{_label(view, f['column'], lang)} {op} {values}".strip()
