"""The fair FIFO queue in front of the shared model: order, positions, release on failure."""
from __future__ import annotations

import threading
import time

import pytest

from assistant.queue import FairQueue, QueueTimeout


def test_positions_and_order():
    q = FairQueue()
    a, b, c = q.take(), q.take(), q.take()
    assert [q.position(t) for t in (a, b, c)] == [0, 1, 2]
    q.release(a)
    assert [q.position(t) for t in (a, b, c)] == [None, 0, 1]
    q.release(c)                      # leaving from the middle of the line moves nobody ahead of you
    assert q.position(b) == 0 and len(q) == 0
    q.release(b)
    q.release(b)                      # idempotent
    assert q.active == 0


def test_threads_are_served_in_arrival_order():
    q = FairQueue()
    served: list[int] = []
    gate = q.take()                   # hold the model so everyone queues up behind it
    arrived = []

    def worker(i: int) -> None:
        ticket = q.take()
        arrived.append((ticket, i))
        q.wait(ticket)
        try:
            served.append(i)
            time.sleep(0.002)
        finally:
            q.release(ticket)

    threads = []
    for i in range(20):
        th = threading.Thread(target=worker, args=(i,))
        th.start()
        threads.append(th)
        while len(arrived) <= i:      # make arrival order deterministic
            time.sleep(0.001)
    assert len(q) == 20 and q.max_waiting == 20
    q.release(gate)
    for th in threads:
        th.join(5)
    assert served == [i for _, i in sorted(arrived)] == list(range(20))


def test_waiting_caller_sees_its_position_fall():
    q = FairQueue()
    first, second = q.take(), q.take()
    seen: list[int] = []
    done = threading.Event()

    def waiter():
        with q.turn(on_position=seen.append):
            done.set()

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.05)
    assert seen == [2]             # second is next (1); this caller is number 2
    q.release(first)
    time.sleep(0.05)
    assert seen == [2, 1] and not done.is_set()
    q.release(second)
    th.join(2)
    assert done.is_set() and seen == [2, 1]


def test_an_error_releases_the_turn():
    q = FairQueue()
    with pytest.raises(RuntimeError), q.turn():
        raise RuntimeError("model crashed")
    with q.turn() as t:               # no deadlock: the next caller is served at once
        assert q.position(t) == 0


def test_a_failing_callback_withdraws_the_ticket():
    q = FairQueue()
    holder = q.take()

    def interrupted(_pos):
        raise KeyboardInterrupt       # what Streamlit's stop/rerun looks like to the waiter

    with pytest.raises(KeyboardInterrupt), q.turn(on_position=interrupted):
        pass
    assert len(q) == 0
    q.release(holder)
    assert q.active == 0


def test_timeout_withdraws_the_ticket():
    q = FairQueue()
    holder = q.take()
    with pytest.raises(QueueTimeout), q.turn(timeout=0.1):
        pass
    assert len(q) == 0 and q.position(holder) == 0
