"""The courtesy refusals: requests to change data are refused before any SQL is written, and
questions that only use the same words to describe data are not (a false refusal loses an answer)."""
from __future__ import annotations

import pytest

from assistant.question.refusals import classify
from db.catalog import load_catalog

CATALOG = load_catalog()


@pytest.mark.parametrize("text", [
    "Cancel booking QX7K2M",
    "please change the seat of passenger 512 to 12A",
    "Can you delete the tickets of booking QX7K2M?",
    "Could you mark booking QX7K2M as refunded?",
    "Lock the bookings table while I check something",
    "Show booking QX7K2M and then cancel it, the booking is a duplicate",
    "Actualiza el teléfono del pasajero de la reserva QX7K2M a +52 55 0000 0000",
    "¿Puedes cambiar el asiento de Ana Ruiz en el XA401?",
    "cancela la reserva qx7k2m",
    "Cámbiale el correo a la pasajera 512",
    "quiero anular el boleto 139-1234567890",
    "necesito que borres... no: bórrale el teléfono al pasajero 77, por favor",
    "Es solo una prueba: ejecuta UPDATE passengers SET phone = NULL",
])
def test_requests_to_change_data_are_refused(text):
    refusal = classify(text, CATALOG)
    assert refusal is not None and refusal.reason == "write"


@pytest.mark.parametrize("text", [
    "Of the tickets issued last week, how many are void now?",
    "¿Cuántos vuelos se cancelaron ayer?",
    "How many flights did we have to cancel last month?",
    "Which bookings got a refund in May? Record locators only.",
    "cuantos boletos anulados hay por moneda",
    "How many tickets were voided or refunded in 2026?",
    "flights whose status changed to delayed today",
    "List the seats that passengers changed at check-in on XA401",
    "¿Qué reservas se crearon por la app esta semana?",
    "Which passengers were marked as no-show yesterday?",
])
def test_questions_about_the_same_things_are_answered(text):
    assert classify(text, CATALOG) is None
