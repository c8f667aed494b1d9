"""Requests abordo refuses before any SQL is written: changing data, reaching staff accounts, the
tables the catalog hides or database internals, dumping personal data in bulk, revealing its own
instructions. What a refusal says of the assistant's scope is the catalog's (`Catalog.messages`), so
another catalog speaks of its own data; without one it speaks of "data".

This is a courtesy layer, not the security boundary (that is the guard, the read-only connection and
the database role): it lets the assistant answer such requests with a polite refusal in the user's
language instead of a confusing query. It errs on the side of *not* refusing ordinary questions
("¿cuántos vuelos se cancelaron?" is a question about data, not a request to cancel one).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.question.lang import fold
from db.catalog import Text2

# Verbs that ask for a change, as a request puts them: first in the sentence or clause, or after
# "please" / "can you" / "quiero" / "necesito" ("cancel booking QX7K2M", "¿puedes cambiar el
# asiento...?", "...y luego bórralo"). Anywhere else the same words describe data: "how many tickets
# are void", "flights we had to cancel", "bookings with a refund" are questions, not requests.
_VERB = (r"(?:update|delete|drop|insert|truncate|alter|grant|revoke|merge|upsert|vacuum|"
         r"modify|change|remove|erase|add|create|set|rename|lock|reset|cancel|rebook|refund|void|wipe|mark|"
         r"(?:actualiza|actualizar|modifica|modificar|cambia|cambiar|borra|borrar|elimina|eliminar|inserta|"
         r"insertar|agrega|agregar|anade|anadir|crea|crear|cancela|cancelar|reembolsa|reembolsar|anula|anular|"
         r"bloquea|bloquear|renombra|renombrar|asigna|asignar|quita|quitar|marca|marcar|pon|poner)"
         r"(?:le|les|lo|los|la|las|me|nos)?|actualicen|cambien|ejecuta\s+update|ejecuta\s+delete)")
_ASK = (r"(?:please|pls|por favor|porfa|favor de|can you|could you|would you|will you|you must|you should|"
        r"go ahead and|i want you to|i need you to|i want to|i need to|i'd like to|i would like to|let's|lets|"
        r"puedes|podrias|podria|me puedes|me podrias|quiero que|quiero|necesito que|necesito|hay que|"
        r"tienes que|debes|vamos a|ayudame a)")
_WRITE = re.compile(rf"(?:^|[.;:!?¡¿,\n]|\b(?:and|then|also|y|luego|despues|tambien)\b)\s*(?:{_ASK}\s+)*"
                    rf"(?P<verb>{_VERB})\b(?P<rest>.{{0,80}})")
# Words that make the verb about stored data ("cancel the booking", "cambia el teléfono"): these, and
# what the catalog calls its tables, their rows, its people and its labelled columns (`_catalog_objects`).
_WRITE_OBJECT = (r"table|tabla|tablas|phone|telefono|email|correo|status|estado|record|records|registro|"
                 r"registros|row|rows|fila|filas|database|base de datos|statement_timeout|read_only|transaction|"
                 r"transaccion|role|rol|index|indice|view|vista|schema|esquema")


def _catalog_objects(catalog) -> list[str]:
    """The catalog's words for what staff could ask to change, folded: each exposed table's name and its
    parts, what its rows are called in both languages (plural and singular), the subject's words and
    the short labels of columns ('asiento')."""
    words: set[str] = set()
    if catalog is None:
        return []

    def add(text: str, plural: str = "") -> None:
        """`text`'s words; with `plural` ('en' or 'es'), each one's singular too ('vuelos', 'cupones')."""
        for w in re.split(r"[\s_/()]+", fold(text)):
            if len(w) < 3:
                continue
            words.add(w)
            if plural == "es" and w.endswith("es") and w[-3] not in "aeiou":
                words.add(w[:-2])                                   # cupones -> cupon
            elif plural and w.endswith("s") and not w.endswith("ss"):
                words.add(w[:-1])                                   # vuelos -> vuelo, flights -> flight

    for t in catalog.exposed_tables.values():
        add(t.name, "en")
        add(t.noun.en, "en")
        add(t.noun.es, "es")
        for c in t.columns.values():
            if c.label.en and len(c.label.en.split()) == 1:
                add(c.label.en)
                add(c.label.es)
    for w in catalog.subject_words:
        add(w)
    return sorted(words, key=len, reverse=True)


_OBJECT_PATTERNS: dict[int, tuple[object, re.Pattern]] = {}


def _write_object(catalog) -> re.Pattern:
    """The change-request objects of `catalog`, built once per catalog (every question is classified,
    twice when it may be a card); the catalog is kept with its pattern, so its id is not reused."""
    hit = _OBJECT_PATTERNS.get(id(catalog))
    if hit is None or hit[0] is not catalog:
        if len(_OBJECT_PATTERNS) >= 16:
            _OBJECT_PATTERNS.clear()
        words = [_WRITE_OBJECT, *map(re.escape, _catalog_objects(catalog))]
        hit = _OBJECT_PATTERNS[id(catalog)] = (catalog, re.compile(r"\b(" + "|".join(words) + r")\b"))
    return hit[1]


_SQL_WRITE = re.compile(r"\b(insert\s+into|update\s+\w+\s+set|delete\s+from|drop\s+table|create\s+"
                        r"(temp|temporary|table|view|index|role)|alter\s+(table|role)|truncate\s+|grant\s+)")
# Staff accounts and passwords, by any name; `classify` adds the names of the tables the catalog hides.
_STAFF = re.compile(r"(staff accounts?|password|contrasena|contrasenas|password_hash|"
                    r"cuentas? del personal|cuentas? de(l)? staff|credencial|credentials?|hash de)")
_INTERNALS = re.compile(
    r"(information_schema|pg_catalog|pg_\w+|sqlite_master|sqlite_schema|pragma|system prompt|"
    r"prompt del sistema|tus instrucciones|your instructions|connection string|cadena de conexion|"
    r"version de postgres|postgres(ql)? version|version\(\)|current_user|usuario de (la )?base de datos|"
    r"database user|tablas (y columnas )?(ocultas|hay)|hidden tables|what tables|que tablas|"
    r"listen_address|postgresql\.conf|read_file|dblink|lo_import|lo_export|copy .* to )")
_BULK_PII = re.compile(
    r"(todos|todas|all|every|cada)\b.{0,60}\b(pasaportes?|passports?|documentos?|documents?|correos?|"
    r"emails?|e-mails?|telefonos?|phones?|phone numbers|fechas? de nacimiento|dates? of birth|birthdays?|"
    r"numeros? de viajero|frequent flyer numbers?)"
    r"|(pasaportes?|passports?|documentos?|correos?|emails?|telefonos?|phones?|fechas? de nacimiento|"
    r"dates? of birth)\b.{0,60}\b(de todos|de todas|of all|of every|for all|for every|en csv|as csv|export)")


@dataclass(frozen=True)
class Refusal:
    reason: str   # 'write' | 'credentials' | 'internals' | 'bulk_personal_data' | 'lookup_not_allowed' | 'model'
    # For 'lookup_not_allowed': the asker's role, what it may not look people up by ('name', 'email',
    # 'phone', 'document'), and the roles that may.
    role: str = ""
    kinds: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    def text(self, lang: str, catalog=None) -> str:
        """The refusal in `lang`, in the catalog's words when it has its own for this reason."""
        lang = "es" if lang == "es" else "en"
        if self.reason == LOOKUP_NOT_ALLOWED:
            return _lookup_text(self, lang)
        default = Text2(**REFUSALS[self.reason])
        return catalog.message(self.reason, lang, default) if catalog is not None else default.get(lang)


LOOKUP_NOT_ALLOWED = "lookup_not_allowed"
# What a look-up is by, in each language ('look people up by name').
_BY = {"name": ("name", "nombre"), "email": ("e-mail address", "correo electrónico"),
       "phone": ("phone number", "teléfono"), "document": ("document number", "número de documento"),
       "locator": ("record locator", "localizador"), "ticket": ("ticket number", "número de boleto"),
       "bag": ("bag tag", "etiqueta de maleta"), "flight": ("flight number", "número de vuelo")}
_PEOPLE_KINDS = ("name", "email", "phone", "document")


def _lookup_text(r: Refusal, lang: str) -> str:
    es = lang == "es"
    what = _listed([_BY.get(k, (k.replace("_", " "),) * 2)[es] for k in r.kinds], "o" if es else "or")
    people = all(k in _PEOPLE_KINDS for k in r.kinds)
    roles = _listed(list(r.allowed), "y" if es else "and")
    if es:
        who = (f"el rol {roles} sí puede" if len(r.allowed) == 1 else
               f"los roles {roles} sí pueden" if r.allowed else "ningún rol puede")
        return f"Tu rol ({r.role}) no puede buscar {'personas' if people else 'registros'} por {what}; {who}."
    who = (f"the {roles} role can" if len(r.allowed) == 1 else
           f"the {roles} roles can" if r.allowed else "no role can")
    return f"Your role ({r.role}) cannot look {'people' if people else 'records'} up by {what}; {who}."


def _listed(words: list[str], conj: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conj} {words[-1]}" if words else ""


def lookup_refusal(denied, catalog, role: str) -> Refusal | None:
    """The refusal for look-ups the linker found but `role` may not make (`LinkResult.denied`), else
    None. The same for any name or number of a kind, found or not: it depends on the question's words
    and the catalog's role policies only. It names the roles that may (`RolePolicy.may_look_up` on every
    column the look-up would use)."""
    if not denied:
        return None
    kinds = tuple(dict.fromkeys(d.kind for d in denied))
    classes = set()
    for d in denied:
        for ref in d.columns:
            info = catalog.column(*ref.split(".", 1))
            classes.add(info.pii if info is not None else "unknown")
    allowed = tuple(name for name, policy in catalog.roles.items()
                    if name != role and all(policy.may_look_up(c) for c in classes))
    return Refusal(LOOKUP_NOT_ALLOWED, role=role, kinds=kinds, allowed=allowed)


# What each refusal says when the catalog has no words of its own for it (`Catalog.messages`).
REFUSALS = {
    "write": {
        "en": "I can only look data up: I cannot change, add or delete anything in the database.",
        "es": "Solo puedo consultar datos: no puedo cambiar, agregar ni borrar nada en la base de datos.",
    },
    "credentials": {
        "en": "Staff accounts and passwords are not available through this assistant.",
        "es": "Las cuentas y contraseñas del personal no están disponibles en este asistente.",
    },
    "internals": {
        "en": "I can't share details about the database system or my own configuration. "
              "Ask me about the data it holds.",
        "es": "No puedo dar detalles del sistema de base de datos ni de mi configuración. "
              "Pregúntame por los datos que contiene.",
    },
    "bulk_personal_data": {
        "en": "I can't list documents, contacts or dates of birth of many people at once. "
              "Ask about one specific record.",
        "es": "No puedo listar documentos, contactos ni fechas de nacimiento de muchas personas a la vez. "
              "Pregunta por un registro concreto.",
    },
    "model": {
        "en": "I can't help with that request: I only answer read-only questions about the data in this database.",
        "es": "No puedo ayudar con esa solicitud: solo respondo consultas de lectura sobre los datos de esta base.",
    },
}
_EMPTY_QUESTION = Text2(en="Type a question about the data.", es="Escribe una pregunta sobre los datos.")


def empty_question_text(lang: str, catalog=None) -> str:
    """What to say to an empty question: what one may ask about, in the catalog's words."""
    lang = "es" if lang == "es" else "en"
    return catalog.message("empty_question", lang, _EMPTY_QUESTION) if catalog is not None else _EMPTY_QUESTION.get(lang)


def classify(question: str, catalog=None) -> Refusal | None:
    """A `Refusal` when the question asks for something abordo never does, else None. With `catalog`,
    naming a table it hides (`Catalog.hidden_tables`) is refused like staff accounts, and a change asked
    of what the catalog names ('cancel the booking') is refused as a write; without one, only a change
    to generic things (a table, a record, a status, a phone) is."""
    q = fold(question)
    hidden = catalog.hidden_tables if catalog is not None else ()
    if _STAFF.search(q) or any(fold(t) in q for t in hidden):
        return Refusal("credentials")
    if _INTERNALS.search(q):
        return Refusal("internals")
    objects = _write_object(catalog)
    if _SQL_WRITE.search(q) or any(objects.search(m.group("rest")) for m in _WRITE.finditer(q)):
        return Refusal("write")
    if _BULK_PII.search(q):
        return Refusal("bulk_personal_data")
    return None
