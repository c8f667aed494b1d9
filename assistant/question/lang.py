"""Language helpers for the value linker: accent folding that keeps offsets, tokens, stopwords and a
small Spanish/English language detector.

Staff type short, informal questions ('cuantos pax lleva el xa0401', 'vuelos de hoy cancelados'),
often without accents or question marks, so detection counts function words and domain words
rather than relying on punctuation; accents, 'ñ' and '¿¡' only add weight.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case and strip accents *character by character*, so offsets in the folded string are
    offsets in the original (regexes run on the folded text, spans are cut from the original)."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0] if ch.isalpha() else ch
        low = base.lower()
        out.append(low if len(low) == 1 else base)
    return "".join(out)


def search_form(text: str) -> str:
    """The stored search form of a name: lower-case, no accents, no punctuation, single spaces
    ('José  Pérez-García' -> 'jose perez garcia'), as in passengers.search_name."""
    try:
        from unidecode import unidecode
        s = unidecode(text)
    except ImportError:  # pragma: no cover - unidecode is a project dependency
        s = fold(text)
    s = re.sub(r"[^a-z0-9' ]+", " ", s.lower())
    return " ".join(s.split())


@dataclass(frozen=True)
class Token:
    text: str      # as typed
    folded: str    # lower-case, no accents
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """Alphabetic words with their offsets (digits and punctuation are not words here)."""
    folded = fold(text)
    return [Token(m.group(), folded[m.start():m.end()], m.start(), m.end()) for m in WORD_RE.finditer(text)]


# Function words. Kept separate per language for detection; their union is what the name finder skips.
STOP_ES = frozenset("""
a al algo algun alguna algunas alguno algunos ante antes aqui asi aun cada como con contra cual cuales
cualquier cuando cuanta cuantas cuanto cuantos de del desde donde dos durante e el ella ellas ellos en entre
era eran es esa esas ese eso esos esta estaba estan estar estas este esto estos fue fueron ha han hasta hay
la las le les lo los mas me mi mis mucho muy nada ni no nos nuestro o otra otras otro otros para pero poco
por porque que quien quienes se sea segun ser si sin sobre solo son su sus tambien tan tanto te tiene
tienen todas todo todos tu tus un una unas uno unos y ya dame dime muestra muestrame lista listar cuantas
cual cuanto hubo tuvo va van lleva llevan sale salen salio salieron llego llegaron vuela vuelan volo
volaron hizo hicieron hecha hechas hecho hechos esten este estuvo
""".split())

STOP_EN = frozenset("""
a about above after again all am an and any are as at be been before being below between both but by can
could did do does doing down during each few for from had has have having he her here hers him his how i
if in into is it its itself just me more most my no nor not now of off on once only or other our out over
own same she should so some such than that the their them then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your give
show list tell find get many much per please flew fly flying flies leave leaves leaving left depart departs
departed departing arrive arrives arrived arriving booked travel travelling traveling travels
""".split())

# Domain and everyday words staff type around values: never part of a passenger's name.
VOCAB = frozenset("""
vuelo vuelos pasajero pasajeros pax reserva reservas reservacion reservaciones boleto boletos billete
billetes cupon cupones asiento asientos maleta maletas equipaje equipajes etiqueta etiquetas localizador
clave codigo numero numeros aeropuerto aeropuertos destino destinos origen origenes salida salidas llegada
llegadas ruta rutas hoy ayer manana antier anteayer semana semanas mes meses ano anos dia dias fecha
fechas hora horas cancelado cancelados cancelada canceladas retrasado retrasados retrasada retrasadas
demorado demorados perdida perdidas perdido perdidos extraviada extraviadas documentado documentados
documentada documentadas documento abordado abordados volado volados volada voladas estado estatus
nivel niveles lealtad viajero frecuente nombre nombres apellido apellidos nacionalidad pais paises ciudad
ciudades cabina cabinas business turista economica premium tarifa tarifas impuestos moneda monedas total
totales monto montos suma promedio cantidad porcentaje kilos kg peso pesos dolares euros avion aviones
tipo tipos canal canales web app agencia mostrador pasado pasada proximo proxima siguiente ultimo ultimos
ultima ultimas primer primero primera mayor menor menores acompanado acompanados silla ruedas servicio
servicios especial especiales solicitud solicitudes comida mascota vegetariana kosher quien quienes
cuantos cuantas cual cuales que tiene tienen programado programados programada programadas mexicano
mexicana directo directos puerta puertas grupo grupos emitido emitidos emitida emitidas anulado anulados
reembolsado reembolsados contar incluyendo excepto favor porfa gracias hola buenos dias buenas tardes
noches senor senora senorita sr sra srta lunes martes miercoles jueves viernes sabado domingo
flight flights passenger passengers booking bookings ticket tickets coupon coupons seat seats bag bags
baggage luggage tag tags locator record pnr code number numbers airport airports destination destinations
origin origins departure departures arrival arrivals route routes today yesterday tomorrow week weeks
month months year years day days date dates time hour hours cancelled canceled delayed late lost
checked status tier tiers loyalty frequent flyer name names surname surnames nationality country countries
city cities cabin cabins economy fare fares taxes currency currencies amount amounts sum average count
percentage aircraft plane planes type types channel channels agency last next previous first top
number wheelchair unaccompanied minor minors special service services request requests meal pet
mexican nonstop direct gate gates group groups issued void refunded used open including except thanks
hello hi mr mrs ms miss monday tuesday wednesday thursday friday saturday sunday only also still
currently scheduled boarding boarded flown show shows noshow nobody anyone someone everyone
least yet ever never already member members class business busiest most least highest lowest biggest
iata icao classic gold platinum titanium one two three four five six seven eight nine ten
uno dos tres cuatro cinco seis siete ocho nueve diez mezcla ingresos ingreso revenue total actually
different distinct each every still marked needing needs carry carries compared against booked
capacity hecha hechas desde hacia hasta entre venta ventas superior inferior promedio minutos minutes
kilo kilos cuenta cuentas solo sola alto alta bajo baja mejor peor nuevo nueva viejo vieja
""".split())


def is_vocab(word: str, extra: frozenset[str] = frozenset()) -> bool:
    """An ordinary word (stopword, domain word, or a plural of one): never part of a person's name."""
    words = STOPWORDS | VOCAB | extra
    if word in words:
        return True
    return (word.endswith("s") and word[:-1] in words) or (word.endswith("es") and word[:-2] in words)

STOPWORDS = STOP_ES | STOP_EN

# Words that count towards a language beyond the stopwords (domain words typed without accents).
_ES_HINTS = frozenset("""
vuelo vuelos pasajero pasajeros reserva reservas boleto boletos maleta maletas equipaje hoy ayer manana
antier semana mes ano cuantos cuantas cual cuales cancelados cancelado retrasados asiento localizador
dame dime muestrame salen sale lleva llevan vuelan volaron destino origen salida llegada aeropuerto
pasado pasada proximo proxima nivel nombre apellido
""".split())
_EN_HINTS = frozenset("""
flight flights passenger passengers booking bookings ticket tickets bag bags today yesterday tomorrow
week month year how many which what who seat seats cancelled canceled delayed show list give departure
arrival airport last next name names
""".split())
# Words that are the same or too ambiguous in both languages: they never vote.
_SHARED = frozenset("a no son total top pax app web business premium gate status code ticket tickets mes".split())


def detect_language(text: str) -> str:
    """'es' or 'en': the language with more function/domain words; Spanish marks ('¿', '¡', 'ñ',
    accented vowels) add weight. Ties go to Spanish, the staff's usual language."""
    es = en = 0.0
    for tok in tokens(text):
        w = tok.folded
        if w in _SHARED:
            continue
        if w in STOP_ES or w in _ES_HINTS:
            es += 1
        if w in STOP_EN or w in _EN_HINTS:
            en += 1
    es += 1.5 * len(re.findall(r"[¿¡ñÑ]", text)) + 0.5 * len(re.findall(r"[áéíóúÁÉÍÓÚ]", text))
    if re.search(r"\b(?:what|how|who|which|is|are|does|did)\b.*\?$", text.strip(), re.IGNORECASE):
        en += 0.5
    return "en" if en > es else "es"
