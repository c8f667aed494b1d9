"""Bilingual texts of the guard's rejections.

Each code maps to an English and a Spanish template. The texts are read by two audiences: the
language model (which gets one more try and must learn *how to fix* the query) and the staff member
(who must understand why nothing was shown). They never echo the rejected SQL back verbatim, so a
rejection cannot become a channel for injected text.
"""
from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "too_long": (
        "The query is too long ({size} characters, at most {limit}). Ask for less at once.",
        "La consulta es demasiado larga ({size} caracteres, máximo {limit}). Pida menos cosas a la vez.",
    ),
    "empty": (
        "There is no SQL statement to check.",
        "No hay ninguna sentencia SQL que revisar.",
    ),
    "odd_characters": (
        "The query contains invisible or unusual characters ({what}). Write it again with plain spaces.",
        "La consulta contiene caracteres invisibles o inusuales ({what}). Escríbala de nuevo con espacios normales.",
    ),
    "unicode_escape": (
        "Unicode-escaped names or strings (U&\"...\") are not accepted. Write names plainly.",
        "No se aceptan nombres o cadenas con escapes Unicode (U&\"...\"). Escriba los nombres tal cual.",
    ),
    "parse_error": (
        "The query could not be read as {dialect} SQL. Write one plain SELECT statement.",
        "La consulta no se pudo leer como SQL de {dialect}. Escriba una única sentencia SELECT sencilla.",
    ),
    "multiple_statements": (
        "Only one statement is allowed; this text holds {count}. Send a single SELECT.",
        "Solo se permite una sentencia; este texto contiene {count}. Envíe un único SELECT.",
    ),
    "not_a_query": (
        "Only read-only SELECT queries are allowed (this is {what}).",
        "Solo se permiten consultas SELECT de lectura (esto es {what}).",
    ),
    "write_or_command": (
        "The query contains a statement that is not a read-only SELECT ({what}). Use SELECT only.",
        "La consulta contiene una sentencia que no es un SELECT de lectura ({what}). Use solo SELECT.",
    ),
    "select_into": (
        "SELECT ... INTO creates a table and is not allowed. Remove the INTO clause.",
        "SELECT ... INTO crea una tabla y no está permitido. Quite la cláusula INTO.",
    ),
    "locking_clause": (
        "Locking clauses (FOR UPDATE / FOR SHARE) are not allowed. Remove them.",
        "No se permiten cláusulas de bloqueo (FOR UPDATE / FOR SHARE). Quítelas.",
    ),
    "unsupported_syntax": (
        "This SQL construct is not supported here ({what}). Use plain SELECT, JOIN, WHERE, GROUP BY, "
        "ORDER BY and LIMIT.",
        "Esta construcción SQL no está admitida ({what}). Use SELECT, JOIN, WHERE, GROUP BY, ORDER BY y "
        "LIMIT sencillos.",
    ),
    "table_not_allowed": (
        "Table {what} is not available. Use only these tables: {tables}.",
        "La tabla {what} no está disponible. Use solo estas tablas: {tables}.",
    ),
    "cte_name_conflict": (
        "The WITH name {what} is ambiguous (defined twice or used before it is defined). Rename it.",
        "El nombre WITH {what} es ambiguo (definido dos veces o usado antes de definirse). Cámbielo.",
    ),
    "unknown_column": (
        "A column could not be found in the tables of the query ({what}). Check the table schema.",
        "No se encontró una columna en las tablas de la consulta ({what}). Revise el esquema de la tabla.",
    ),
    "function_not_allowed": (
        "Function {what} is not allowed. Use ordinary aggregates, string, date and window functions.",
        "La función {what} no está permitida. Use funciones normales de agregación, texto, fecha y ventana.",
    ),
    "column_not_allowed": (
        "Column {what} cannot be read with role {role}. Leave it out of the query entirely.",
        "La columna {what} no se puede leer con el rol {role}. Quítela por completo de la consulta.",
    ),
    "whole_row": (
        "Whole-row references ({what}) are not allowed. Name the columns you need.",
        "No se permiten referencias a filas completas ({what}). Nombre las columnas que necesita.",
    ),
    "pii_in_expression": (
        "Personal column {what} is shown masked to role {role}: select it only as a plain column in the "
        "main SELECT list, never inside functions, conditions, joins, grouping, ordering or subqueries. "
        "Filter by record locator, ticket number, passenger id or name instead.",
        "La columna personal {what} se muestra enmascarada para el rol {role}: selecciónela solo como "
        "columna simple en la lista del SELECT principal, nunca dentro de funciones, condiciones, uniones, "
        "agrupaciones, ordenaciones ni subconsultas. Filtre por localizador, número de boleto, id o nombre "
        "del pasajero.",
    ),
    "bulk_personal_data": (
        "Contacts, documents and dates of birth are only shown for specific passengers or bookings: filter "
        "by record locator, ticket number, passenger or name (WHERE <key> = '...' or IN with at most "
        "{max_in} values).",
        "Los contactos, documentos y fechas de nacimiento solo se muestran para pasajeros o reservas "
        "concretos: filtre por localizador, número de boleto, pasajero o nombre (WHERE <clave> = '...' o "
        "IN con {max_in} valores como máximo).",
    ),
    "untraceable_personal_data": (
        "Personal data of passengers must come straight from the passengers table in the main FROM "
        "clause (not through a subquery, WITH or UNION). Ask in a simpler way.",
        "Los datos personales de pasajeros deben salir directamente de la tabla passengers en el FROM "
        "principal (no mediante subconsultas, WITH ni UNION). Pregunte de forma más sencilla.",
    ),
    "too_complex": (
        "The query is too complex ({what}). Split the question into simpler ones.",
        "La consulta es demasiado compleja ({what}). Divida la pregunta en otras más sencillas.",
    ),
    "recursive_cte": (
        ("Recursive WITH is only allowed as a counter of at most {max_rows} rows: WITH RECURSIVE d(n) AS "
         "(SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 30), with whole numbers and nothing else read "
         "in the recursive part ({what})."),
        ("WITH RECURSIVE solo se permite como contador de {max_rows} filas como máximo: WITH RECURSIVE "
         "d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 30), con números enteros y sin leer "
         "nada más en la parte recursiva ({what})."),
    ),
    "cast_not_allowed": (
        ("Casting to {what} is not allowed. Cast only to whole numbers (INTEGER, BIGINT, SMALLINT), "
         "NUMERIC/DECIMAL, REAL/DOUBLE PRECISION, TEXT/VARCHAR/CHAR (length at most 1000), DATE, TIME, "
         "TIMESTAMP, INTERVAL or BOOLEAN."),
        ("No se permite convertir al tipo {what}. Convierta solo a números enteros (INTEGER, BIGINT, "
         "SMALLINT), NUMERIC/DECIMAL, REAL/DOUBLE PRECISION, TEXT/VARCHAR/CHAR (longitud máxima 1000), "
         "DATE, TIME, TIMESTAMP, INTERVAL o BOOLEAN."),
    ),
    "cartesian_product": (
        "Every table in FROM must be joined to the others with an equality condition (JOIN ... ON a.x = "
        "b.y); a cross join of {what} is not allowed.",
        "Cada tabla del FROM debe unirse a las demás con una condición de igualdad (JOIN ... ON a.x = "
        "b.y); no se permite el producto cruzado de {what}.",
    ),
    "bad_limit": (
        "LIMIT and OFFSET must be plain non-negative whole numbers ({what}).",
        "LIMIT y OFFSET deben ser números enteros simples no negativos ({what}).",
    ),
    "guard_error": (
        "The query could not be checked safely, so it was not run. Write a simpler SELECT.",
        "No se pudo revisar la consulta con seguridad, así que no se ejecutó. Escriba un SELECT más sencillo.",
    ),
}


def render(code: str, **params: object) -> tuple[str, str]:
    """English and Spanish text for `code`; unknown parameters are left visible rather than failing."""
    en, es = MESSAGES.get(code, MESSAGES["guard_error"])

    class _Keep(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    values = _Keep({k: str(v) for k, v in params.items()})
    return en.format_map(values), es.format_map(values)
