"""The gate in front of the connection pool: first come, first served, and bounded waits."""

from __future__ import annotations

import asyncio

import pytest

from adapters.sql.engine import ConnectionGate
from application.ports import DependencyUnavailable


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
