"""The gate in front of the connection pool: first come, first served, and bounded waits."""

from __future__ import annotations

import asyncio

import pytest

from adapters.sql.connection_gate import ConnectionGate
from application.ports.common import DependencyUnavailable


async def test_waiters_get_a_connection_in_the_order_they_asked() -> None:
    gate = ConnectionGate(1, timeout_seconds=5)
    await gate.acquire()
    served: list[int] = []

    async def wait_for_turn(number: int) -> None:
        await gate.acquire()
        served.append(number)
        gate.release()

    waiters = [asyncio.create_task(wait_for_turn(number)) for number in range(5)]
    await asyncio.sleep(0)
    gate.release()
    await asyncio.gather(*waiters)

    assert served == [0, 1, 2, 3, 4]


async def test_waiting_longer_than_the_pool_timeout_means_the_database_is_unavailable() -> None:
    gate = ConnectionGate(1, timeout_seconds=0.01)
    await gate.acquire()

    with pytest.raises(DependencyUnavailable, match="pool exhausted"):
        await gate.acquire()


async def test_a_newcomer_does_not_overtake_a_woken_waiter() -> None:
    gate = ConnectionGate(1, timeout_seconds=5)
    await gate.acquire()
    served: list[str] = []

    async def take_turn(name: str) -> None:
        await gate.acquire()
        served.append(name)
        await asyncio.sleep(0)
        gate.release()

    waiter = asyncio.create_task(take_turn("waiter"))
    await asyncio.sleep(0)
    gate.release()  # the waiter is woken, but has not run yet
    newcomer = asyncio.create_task(take_turn("newcomer"))
    await asyncio.gather(waiter, newcomer)

    assert served == ["waiter", "newcomer"]


async def test_a_waiter_that_gives_up_does_not_lose_the_turn_for_the_others() -> None:
    gate = ConnectionGate(1, timeout_seconds=5)
    await gate.acquire()
    impatient = asyncio.create_task(gate.acquire())
    patient = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    impatient.cancel()
    gate.release()

    await asyncio.wait_for(patient, timeout=1)
    assert impatient.cancelled()


async def test_a_turn_handed_to_a_waiter_cancelled_at_that_moment_is_passed_on() -> None:
    gate = ConnectionGate(1, timeout_seconds=5)
    await gate.acquire()
    first = asyncio.create_task(gate.acquire())
    second = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release()  # the turn goes to `first`...
    first.cancel()  # ...which is cancelled before it runs

    await asyncio.wait_for(second, timeout=1)
    assert first.cancelled()


async def test_every_overdue_waiter_fails_and_later_ones_still_get_their_turn() -> None:
    gate = ConnectionGate(1, timeout_seconds=0.05)
    await gate.acquire()
    overdue = [asyncio.create_task(gate.acquire()) for _ in range(3)]
    await asyncio.sleep(0.03)
    late = asyncio.create_task(gate.acquire())
    results = await asyncio.gather(*overdue, return_exceptions=True)
    assert all(isinstance(result, DependencyUnavailable) for result in results)

    gate.release()
    await asyncio.wait_for(late, timeout=1)


async def test_released_turns_return_to_the_pool_when_nobody_waits() -> None:
    gate = ConnectionGate(2, timeout_seconds=0.01)
    await gate.acquire()
    await gate.acquire()
    gate.release()
    gate.release()

    await gate.acquire()
    await gate.acquire()
    with pytest.raises(DependencyUnavailable):
        await gate.acquire()
