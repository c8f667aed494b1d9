"""Every word the UI shows, in Spanish and English, and the friendly messages for each failure.

Why one table: the language toggle must change every label at once, and a missing translation should
be a KeyError in a test, not an English word on a Spanish page. Answers themselves follow the
*question's* language (Answer.lang); these labels follow the toggle.
"""
from __future__ import annotations

LANGS = ("es", "en")

LABELS: dict[str, dict[str, str]] = {
    "title": {"es": "abordo · consulta de pasajeros", "en": "abordo · passenger lookup"},
    "language": {"es": "Idioma", "en": "Language"},
    "sign_in": {"es": "Iniciar sesión", "en": "Sign in"},
    "sign_in_intro": {"es": "Entra con tu usuario de abordo.", "en": "Sign in with your abordo account."},
    "username": {"es": "Usuario", "en": "User name"},
    "password": {"es": "Contraseña", "en": "Password"},
    "bad_login": {"es": "Usuario o contraseña incorrectos.", "en": "Wrong user name or password."},
    "unknown_sso": {"es": "Tu usuario «{name}» no tiene cuenta en abordo: pide a un administrador que la cree "
                           "(`abordo users add {name} --role agent`).",
                    "en": "Your user '{name}' has no abordo account: ask an administrator to create it "
                          "(`abordo users add {name} --role agent`)."},
    "user_store_down": {"es": "No se pudo abrir el almacén de usuarios. Avisa a soporte.",
                        "en": "The user store could not be opened. Tell support."},
    "sign_out": {"es": "Cerrar sesión", "en": "Sign out"},
    "signed_in_as": {"es": "Sesión de **{user}**", "en": "Signed in as **{user}**"},
    "role": {"es": "Rol", "en": "Role"},
    "database": {"es": "Base de datos", "en": "Database"},
    "model": {"es": "Modelo", "en": "Model"},
    "new_chat": {"es": "Nueva conversación", "en": "New conversation"},
    "chat_placeholder": {"es": "Pregunta por vuelos, reservas o pasajeros…",
                         "en": "Ask about flights, bookings or passengers…"},
    "examples": {"es": "Prueba con una de estas preguntas:", "en": "Try one of these questions:"},
    "sql": {"es": "Consulta SQL", "en": "SQL"},
    "rows": {"es": "{n} filas", "en": "{n} rows"},
    "one_row": {"es": "1 fila", "en": "1 row"},
    "truncated": {"es": "Se muestran solo las primeras {n} filas (límite de tu rol). Añade filtros para ver el resto.",
                  "en": "Only the first {n} rows are shown (your role's limit). Add filters to see the rest."},
    "download": {"es": "Descargar CSV", "en": "Download CSV"},
    "small_print": {"es": "{secs:.1f} s · {model}", "en": "{secs:.1f} s · {model}"},
    "fast_path": {"es": "consulta directa, sin modelo", "en": "direct lookup, no model"},
    "path_views": {"es": "consulta sobre la vista {view}", "en": "query over the view {view}"},
    "edit_title": {"es": "Ajustar esta respuesta (sin volver a preguntar al modelo)",
                   "en": "Adjust this answer (no new model call)"},
    "edit_remove": {"es": "Quitar el filtro: {what}", "en": "Remove the filter: {what}"},
    "edit_value": {"es": "Valor de «{what}»", "en": "Value of '{what}'"},
    "edit_apply": {"es": "Aplicar", "en": "Apply"},
    "edit_group": {"es": "Agrupar por", "en": "Group by"},
    "edit_no_group": {"es": "(sin agrupar)", "en": "(no grouping)"},
    "edit_limit": {"es": "Filas", "en": "Rows"},
    "edit_all": {"es": "todas", "en": "all"},
    "verified_by": {"es": "respuesta verificada por {by} el {at}", "en": "verified answer, by {by} on {at}"},
    "verify": {"es": "Marcar como verificada", "en": "Mark as verified"},
    "verify_help": {"es": "La misma pregunta con otros vuelos, fechas o aeropuertos se responderá así, sin el modelo",
                    "en": "The same question with other flights, dates or airports will be answered this way, "
                          "without the model"},
    "verified_done": {"es": "Verificada ({id}): la próxima vez se responde al instante",
                      "en": "Verified ({id}): next time it is answered at once"},
    "correction": {"es": "¿Qué debió responder? (lo revisa un supervisor)",
                   "en": "What should it have answered? (a supervisor reviews it)"},
    "correction_sent": {"es": "Corrección enviada a revisión.", "en": "Correction sent for review."},
    "edited": {"es": "Respuesta ajustada ({edit}), sin llamar al modelo", "en": "Answer adjusted ({edit}), no model call"},
    "path_tables": {"es": "consulta sobre las tablas", "en": "query over the tables"},
    "restatement": {"es": "Qué se calculó", "en": "What was computed"},
    "restatement_partial": {"es": "parte de la consulta no se pudo describir: revisa el SQL",
                            "en": "part of the query could not be described: check the SQL"},
    "namesakes": {"es": "Pasajeros con ese nombre", "en": "Passengers with that name"},
    "namesake_id": {"es": "N.º", "en": "No."},
    "namesake_name": {"es": "Nombre", "en": "Name"},
    "namesake_birth": {"es": "Nacimiento", "en": "Born"},
    "namesake_document": {"es": "Documento", "en": "Document"},
    "namesake_bookings": {"es": "Reservas", "en": "Bookings"},
    "queued": {"es": "esperó en la cola (posición {n})", "en": "waited in the queue (position {n})"},
    "thanks": {"es": "Gracias por tu opinión.", "en": "Thanks for the feedback."},
    "good": {"es": "Respuesta útil", "en": "Helpful answer"},
    "bad": {"es": "Respuesta incorrecta", "en": "Wrong answer"},
    "stage_queue": {"es": "En cola: posición {n}", "en": "In the queue: position {n}"},
    "model_warming": {"es": "Preparando el modelo ({secs} s): se carga y lee el esquema una vez. Las búsquedas de "
                            "reservas ya responden; una pregunta hecha ahora espera a que termine.",
                      "en": "Getting the model ready ({secs} s): it loads and reads the schema once. Record look-ups "
                            "already answer; a question asked now waits for it."},
    "model_ready": {"es": "Modelo listo", "en": "Model ready"},
    "model_failed": {"es": "El modelo no pudo prepararse; la primera pregunta dirá por qué.",
                     "en": "The model could not be made ready; the first question will say why."},
    "stage_start": {"es": "Leyendo la pregunta…", "en": "Reading the question…"},
    "stage_link": {"es": "Leyendo la pregunta…", "en": "Reading the question…"},
    "stage_generate": {"es": "Escribiendo la consulta SQL…", "en": "Writing the SQL…"},
    "stage_execute": {"es": "Ejecutando la consulta…", "en": "Running the query…"},
    "stage_summarise": {"es": "Resumiendo el resultado…", "en": "Summarising…"},
    "stage_done": {"es": "Listo ({secs:.1f} s)", "en": "Done ({secs:.1f} s)"},
    "stage_failed": {"es": "No se pudo responder", "en": "Could not answer"},
    "audit": {"es": "Auditoría", "en": "Audit"},
    "who_saw": {"es": "¿Quién vio al pasajero…? (ID)", "en": "Who saw passenger… (ID)"},
    "nobody_saw": {"es": "Nadie ha visto a ese pasajero.", "en": "Nobody has seen that passenger."},
    "recent": {"es": "Consultas recientes", "en": "Recent questions"},
    "audit_down": {"es": "No se pudo leer el registro de auditoría.", "en": "The audit log could not be read."},
    "config_error": {"es": "La configuración de abordo no es válida: {detail}",
                     "en": "abordo's configuration is not valid: {detail}"},
}

ROLE_NAMES = {"agent": {"es": "Agente", "en": "Agent"}, "supervisor": {"es": "Supervisor", "en": "Supervisor"},
              "analyst": {"es": "Analista", "en": "Analyst"}}

# Generic questions about the demo data, shown on an empty chat.
EXAMPLES = {
    "es": ["¿Qué vuelos se cancelaron hoy?",
           "¿Cuántos pasajeros no se presentaron en vuelos de MEX a CUN la semana pasada?",
           "¿Cuántos vuelos salen hoy por aeropuerto de origen?",
           "¿Qué pasajeros van en el primer vuelo de mañana a Monterrey?"],
    "en": ["Which flights were cancelled today?",
           "How many no-shows were there on MEX to CUN flights last week?",
           "How many flights leave today from each origin airport?",
           "Which passengers are on tomorrow's first flight to Monterrey?"],
}

# Friendly message and what to do, by failure. Keys are Answer.error codes or exception kinds.
_DB_DOWN = {"es": "La base de datos de pasajeros no responde ahora mismo. Inténtalo de nuevo en unos minutos; "
                  "si sigue igual, avisa a soporte.",
            "en": "The passenger database is not answering right now. Try again in a few minutes; "
                  "if it persists, tell support."}
_GUARD = {"es": "No pude escribir una consulta segura para esa pregunta. Reformúlala con más detalle "
                "(el vuelo, la fecha o la ruta) o pide solo los datos que necesitas.",
          "en": "I could not write a safe query for that question. Rephrase it with more detail "
                "(the flight, the date or the route) or ask only for the data you need."}
ERRORS: dict[str, dict[str, str]] = {
    "database_down": _DB_DOWN,
    "database_error": _DB_DOWN,
    "reader_role_missing": _DB_DOWN,
    "model_missing": {"es": "El modelo de lenguaje no está instalado en este servidor. Pide a un administrador que "
                            "ejecute `abordo model fetch` y vuelve a preguntar.",
                      "en": "The language model is not installed on this server. Ask an administrator to run "
                            "`abordo model fetch`, then ask again."},
    "timeout": {"es": "La consulta tardó demasiado. Acota la pregunta: un vuelo, una ruta o un rango de fechas más corto.",
                "en": "The query took too long. Narrow the question: one flight, one route or a shorter date range."},
    "result_too_large": {"es": "El resultado es demasiado grande. Añade filtros (fecha, vuelo, ruta) o pide un conteo.",
                         "en": "The result is too large. Add filters (date, flight, route) or ask for a count."},
    "bulk_extraction_refused": {
        "es": "Esa consulta mostraría datos de demasiados pasajeros para tu rol. Acota la pregunta o pide un conteo.",
        "en": "That query would show too many passengers' data for your role. Narrow it or ask for a count."},
    "audit_failed": {"es": "No se pudo registrar la consulta en la auditoría, así que no se muestra ningún resultado. "
                           "Avisa a soporte.",
                     "en": "The query could not be written to the audit log, so no result is shown. Tell support."},
    "guard": _GUARD,
    "busy": {"es": "El servidor está muy ocupado. Espera un momento y vuelve a preguntar.",
             "en": "The server is very busy. Wait a moment and ask again."},
    "internal": {"es": "Algo falló al responder. Vuelve a intentarlo; si se repite, avisa a soporte.",
                 "en": "Something went wrong while answering. Try again; if it happens again, tell support."},
}
# Answer.error codes that come from the guard or the executor rejecting the model's SQL.
GUARD_CODES = {"guard_rejection", "parse_error", "multiple_statements", "not_a_query", "write_or_command",
               "table_not_allowed", "function_not_allowed", "column_not_allowed", "whole_row", "pii_in_expression",
               "too_complex", "recursive_cte", "cartesian_product", "untraceable_personal_data",
               "rejected_by_executor", "permission_denied", "unknown_column", "unknown_table",
               "bulk_personal_data", "execution_error"}


def t(key: str, lang: str, **fmt) -> str:
    """The label `key` in `lang` ('es' or 'en'), formatted with `fmt`."""
    text = LABELS[key][lang if lang in LANGS else "es"]
    return text.format(**fmt) if fmt else text


def error_message(code: str | None, lang: str) -> str | None:
    """The friendly message for a failure code, or None when the pipeline's own text is best."""
    if code in GUARD_CODES:
        code = "guard"
    msg = ERRORS.get(code or "")
    return msg[lang if lang in LANGS else "es"] if msg else None


def language_from_header(accept_language: str | None) -> str:
    """'en' when the browser prefers English over Spanish, else 'es' (the default)."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("es"):
            return "es"
        if tag.startswith("en"):
            return "en"
    return "es"
