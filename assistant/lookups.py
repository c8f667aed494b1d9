"""What the pipeline answers about records and people with no model call: a look-up as a card (one
fixed, guarded, masked and audited query), and the notice that a name asked for matches several
passengers. Kept apart from the pipeline's question flow, which calls them."""
from __future__ import annotations

import time

import pandas as pd

from assistant.answer import Answer
from assistant.cards import open_card
from assistant.cards import restatement as card_restatement
from assistant.explain.namesakes import find_namesakes
from assistant.explain.namesakes import sentence as namesake_sentence
from assistant.memory import Memory
from sql_tools.errors import SqlToolError
from sql_tools.service import run_guarded


def answer_card(assistant, ans: Answer, request, question: str, memory: Memory | None, stage) -> None:
    """A record look-up as a card: one fixed, guarded, masked and audited query, no model call.
    The conversation remembers which record is on screen, so '¿y sus maletas?' stays on it."""
    stage("execute")
    t = time.perf_counter()
    try:
        card = open_card(request, settings=assistant.settings, catalog=assistant.catalog, role=assistant.role,
                         user=assistant.user, question=question)
    except SqlToolError as exc:
        assistant._fail(ans, exc)
        return
    finally:
        ans.timings["execute"] += time.perf_counter() - t
    ans.fast_path = True
    ans.card = card.to_dict()
    ans.card_text = card.text(ans.lang)
    ans.text = card.sentence(ans.lang)
    ans.restatement = card_restatement(card.kind, card.key, ans.lang)
    ans.rows, ans.row_count, ans.truncated = card.rows, len(card.rows), card.truncated
    ans.sql = card.sql[0] if card.sql else ""
    names = list(map(str, card.rows.columns))
    ans.labels_by_lang = {lang: [card.labels.get(lang, {}).get(c, c.replace("_", " ")) for c in names]
                          for lang in ("es", "en")}
    ans.column_labels = ans.labels_by_lang[ans.lang]
    if memory is not None and card.found:
        memory.add(question, "", ans.row_count, note=card.subject_line())


def tell_namesakes(assistant, ans: Answer, hints, question: str) -> None:
    """A name asked for that matches several passengers: how many, and what tells them apart
    (within the role's masking), after the answer. The look-ups are audited like any query."""
    def run(sql: str) -> pd.DataFrame:
        return run_guarded(sql, settings=assistant.settings, catalog=assistant.catalog, role=assistant.role,
                           user=assistant.user, question=question).df

    for hint in hints:
        try:
            people = find_namesakes(hint, catalog=assistant.catalog, role=assistant.role,
                                    graph=assistant.schema.join_graph, run=run)
        except SqlToolError:
            continue   # the answer stands; the notice is what is lost
        if people:
            ans.namesakes = people
            ans.text = f"{ans.text} {namesake_sentence(ans.lang, hint.text, people, hint.matches)}".strip()
            return
