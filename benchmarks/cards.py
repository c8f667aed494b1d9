"""Record cards at 1,000,000 passengers on PostgreSQL: a booking (record locator), a ticket, a bag tag, a
flight with its date and a passenger by name, each opened from the question as staff type it.

Per kind, p50/p95 of:
  raw         the card's SQL on a plain psycopg2 connection (database time as the client sees it);
  guarded     the same SQL through the full guard every time (`run_guarded`): what a card would cost
              without pre-checked templates;
  card        `assistant.cards.open_card`: pre-checked template, read-only role login, bulk caps,
              masking, audit, and the card built from the rows;
  end to end  the question to the card: the value linker (`assistant.question.link.link`, with its own indexed
              look-ups), `card_request`, `open_card`. Target: p95 <= 50 ms.

Reuses database `abordo_bench_1m` (benchmarks/lookups.py seeds it when absent, ~3 min). Prints a table
and writes benchmarks/results/cards.json.

    .venv/bin/python benchmarks/cards.py [--samples 50] [--passengers 1000000] [--role agent]
Needs PostgreSQL at ABORDO_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from benchmarks.common import machine, pct, write_result
from benchmarks.lookups import DB_NAME, open_bench_database

TARGET_P95_MS = 50
# Random records of each kind, as the question staff would type for them. Passengers are sampled with
# their full name among names nobody else has (at 1 M most full names are shared); only those the
# linker resolves to one person count (a longer namesake, a name read as a place, make no card).
SAMPLES = {
    "booking": ("SELECT 'reserva ' || lower(record_locator) FROM bookings ORDER BY md5(booking_id::text) LIMIT {n}"),
    "ticket": ("SELECT 'boleto ' || substr(ticket_number, 1, 3) || '-' || substr(ticket_number, 4) FROM tickets "
               "ORDER BY md5(ticket_number) LIMIT {n}"),
    "bag": "SELECT 'maleta ' || bag_tag FROM baggage ORDER BY md5(bag_tag) LIMIT {n}",
    "flight": ("SELECT 'vuelo ' || carrier_code || flight_number || ' del ' || to_char(scheduled_departure, 'YYYY-MM-DD') "
               "FROM flights WHERE flight_id IN (SELECT flight_id FROM ticket_segments) "
               "ORDER BY md5(flight_id::text) LIMIT {n}"),
    "passenger": ("WITH unique_names AS (SELECT search_name FROM passengers GROUP BY search_name HAVING COUNT(*) = 1) "
                  "SELECT 'pasajero ' || first_name || ' ' || last_name || coalesce(' ' || second_last_name, '') "
                  "FROM passengers JOIN unique_names USING (search_name) ORDER BY md5(passenger_id::text) LIMIT {n}"),
}


def _ms(t: float) -> float:
    return (time.perf_counter() - t) * 1000


def _stats(values: list[float]) -> dict:
    return {"p50_ms": round(pct(values, .5), 2), "p95_ms": round(pct(values, .95), 2)}


def _questions(cur, kind: str, n: int, catalog, settings, fetch) -> list[str]:
    """`n` questions of `kind` that open a card (over-sampling passengers: some names are shared)."""
    from assistant.cards import card_request
    from assistant.question.link import link

    cur.execute(SAMPLES[kind].format(n=n * 4 if kind == "passenger" else n))
    out = []
    for (q,) in cur.fetchall():
        hints = link(q, catalog=catalog, today=settings.today, fetch=fetch).hints
        if card_request(q, hints, catalog=catalog) is not None:
            out.append(q)
        if len(out) == n:
            break
    return out


def _measure(kind: str, questions: list[str], *, cur, catalog, settings, role: str, fetch) -> dict:
    from assistant.cards import card_request, open_card
    from assistant.cards.opening import _values
    from assistant.cards.templates import _TEMPLATES, _literal, _sql_text
    from assistant.question.link import link
    from sql_tools.service import run_guarded

    raw, guarded, card_ms, e2e, link_ms, rows, queries = [], [], [], [], [], [], []
    for i, q in enumerate(questions):
        user = f"bench-card-{kind}-{i}"
        for timed in (False, True):              # the first pass warms caches and prepares the template
            t = time.perf_counter()
            hints = link(q, catalog=catalog, today=settings.today, fetch=fetch).hints
            linked = _ms(t)
            req = card_request(q, hints, catalog=catalog)
            t1 = time.perf_counter()
            card = open_card(req, settings=settings, catalog=catalog, role=role, user=user, question=q)
            opened = _ms(t1)
            total = _ms(t)
            tmpl = _TEMPLATES[req.kind]
            values = _values(req)[0]
            sql = _sql_text(tmpl, catalog, role).format(**{n: _literal(k, values[n]) for n, k in tmpl.params})
            t = time.perf_counter()
            run_guarded(sql, settings=settings, catalog=catalog, role=role, user=user, question=q)
            full_guard = _ms(t)
            t = time.perf_counter()
            for s in card.sql:
                cur.execute(s)
                cur.fetchall()
            db = _ms(t)
            if timed:
                link_ms.append(linked), card_ms.append(opened), e2e.append(total)
                guarded.append(full_guard), raw.append(db)
                rows.append(len(card.rows)), queries.append(len(card.sql))
                assert card.found, q
    return {"samples": len(questions), "queries_per_card": max(queries), "rows_mean": round(sum(rows) / len(rows), 1),
            "raw": _stats(raw), "guarded_unprepared": _stats(guarded), "link": _stats(link_ms),
            "card": _stats(card_ms), "end_to_end": _stats(e2e), "example": questions[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=50, help="records per card kind")
    ap.add_argument("--passengers", type=int, default=1_000_000)
    ap.add_argument("--role", default="agent", help="role the cards are opened for (agents use them)")
    args = ap.parse_args()

    from sql_tools.lookup import make_fetch

    url, seeded, catalog, raw, settings = open_bench_database(args.passengers)
    fetch = make_fetch(settings, args.role)
    results = {}
    with raw.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM passengers")
        n_passengers = cur.fetchone()[0]
        for kind in SAMPLES:
            questions = _questions(cur, kind, args.samples, catalog, settings, fetch)
            results[kind] = _measure(kind, questions, cur=cur, catalog=catalog, settings=settings, role=args.role,
                                     fetch=fetch)
    raw.close()
    print(f"PostgreSQL, {n_passengers:,} passengers ({DB_NAME}); cards opened as role {args.role}")
    print(f"{'card':<11}{'n':>4}{'q':>3}{'rows':>6}{'raw p50':>9}{'raw p95':>9}{'full-guard p95':>16}"
          f"{'card p50':>10}{'card p95':>10}{'e2e p50':>9}{'e2e p95':>9}  target")
    for kind, r in results.items():
        ok = "ok" if r["end_to_end"]["p95_ms"] <= TARGET_P95_MS else "MISSED"
        print(f"{kind:<11}{r['samples']:>4}{r['queries_per_card']:>3}{r['rows_mean']:>6}"
              f"{r['raw']['p50_ms']:>7.2f}ms{r['raw']['p95_ms']:>7.2f}ms{r['guarded_unprepared']['p95_ms']:>14.2f}ms"
              f"{r['card']['p50_ms']:>8.2f}ms{r['card']['p95_ms']:>8.2f}ms"
              f"{r['end_to_end']['p50_ms']:>7.2f}ms{r['end_to_end']['p95_ms']:>7.2f}ms  e2e p95<={TARGET_P95_MS}ms: {ok}")
    write_result("cards", {"database": DB_NAME, "passengers": n_passengers, "role": args.role,
                           "seeded_seconds": round(seeded, 1) if seeded else None, "target_p95_ms": TARGET_P95_MS,
                           "target_applies_to": "end_to_end", "results": results, "machine": machine()})


if __name__ == "__main__":
    main()
