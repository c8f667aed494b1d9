"""How staff really type: no accents, lower-case codes, 'pax', 'dame', tú and usted, small typos.

Applied to a generated question before it is linked, so the hints the model trains on are the ones
the linker gives for text typed that way (the same as at inference).
"""
from __future__ import annotations

import re
import unicodedata
from random import Random

ES_OPENERS = ("", "", "", "dame ", "dime ", "me dices ", "me puedes decir ", "me podría decir ", "necesito saber ",
              "quiero saber ", "oye, ", "por favor, ", "consulta: ", "muéstrame ", "busca ")
EN_OPENERS = ("", "", "", "show me ", "tell me ", "can you tell me ", "i need ", "please give me ", "quick one: ",
              "could you check ", "find ", "list ")


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _typo(word: str, rng: Random) -> str:
    """One slip of the finger in a long word: two letters swapped, one doubled or one dropped."""
    if len(word) < 6 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1:]


def opener(lang: str, rng: Random) -> str:
    return rng.choice(ES_OPENERS if lang == "es" else EN_OPENERS)


def roughen(text: str, lang: str, rng: Random, protect: tuple[str, ...] = ()) -> str:
    """A typed version of a clean question. `protect` are spans (names, codes) that keep their letters
    apart from case: the linker must still find them, as it does for staff who type them right."""
    out = text
    if lang == "es" and rng.random() < 0.35:
        out = strip_accents(out)
    if rng.random() < 0.3:
        out = out.replace("¿", "")
    if rng.random() < 0.3:
        out = out.rstrip("?").rstrip()
    if lang == "es" and rng.random() < 0.25:
        out = re.sub(r"\bpasajeros\b", "pax", out)
    if lang == "en" and rng.random() < 0.15:
        out = re.sub(r"\bpassengers\b", "pax", out)
    if rng.random() < 0.1:
        words = out.split(" ")
        spans = " ".join(protect).lower()
        candidates = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha() and w.lower() not in spans]
        if candidates:
            i = rng.choice(candidates)
            words[i] = _typo(words[i], rng)
            out = " ".join(words)
    if rng.random() < 0.45:
        out = out.lower()
    elif rng.random() < 0.5 and out:
        out = out[0].upper() + out[1:]
    return re.sub(r"\s+", " ", out).strip()
