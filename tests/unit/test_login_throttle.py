"""Login throttles: failures counted per key in a sliding window, in memory and in Redis.

The behaviour tests run against both throttles; the Redis ones need the server at
127.0.0.1:6379 (skipped without it, failed under CI=true).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from adapters.login_throttle.limits import DEFAULT_LIMITS
from adapters.login_throttle.memory import MemoryLoginThrottle
from adapters.login_throttle.redis_store import RedisLoginThrottle
from tests.unit.doubles import SteppingClock

REDIS_URL = "redis://127.0.0.1:6379/0"
WINDOW = 900
ALICE = "email:alice@example.com"
BOB = "email:bob@example.com"
CLIENT = "client:203.0.113.9"
OTHER_CLIENT = "client:198.51.100.7"
# Small limits keep the tests short; the kinds and their independence are what matter.
LIMITS = {"email": 3, "client": 5}


def running_under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def sync_client() -> Redis:
    # No retries: without a server, the skip (or the CI failure) comes at once.
    return Redis.from_url(
        REDIS_URL, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the real Redis; its keys are deleted after."""
    client = sync_client()
    try:
        client.ping()
    except (RedisError, OSError) as error:
        client.close()
        if running_under_ci():
            pytest.fail(f"Redis is required under CI but {REDIS_URL} is unreachable: {error}")
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    prefix = f"storefront-test:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client() -> Iterator[Redis]:
    client = sync_client()
    yield client
    client.close()


@dataclass
class Backend:
    name: str
    redis_prefix: str | None = None


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "redis":
        return Backend("redis", request.getfixturevalue("redis_prefix"))
    return Backend("memory")


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


Throttle = MemoryLoginThrottle | RedisLoginThrottle
ThrottleFactory = Callable[..., Throttle]


@pytest.fixture
async def make_throttle(backend: Backend, clock: SteppingClock) -> AsyncIterator[ThrottleFactory]:
    made: list[RedisLoginThrottle] = []

    def make(**overrides: Any) -> Throttle:
        settings: dict[str, Any] = {
            "limits": LIMITS,
            "window_seconds": WINDOW,
            "clock": clock,
            **overrides,
        }
        if backend.redis_prefix is None:
            return MemoryLoginThrottle(**settings)
        throttle = RedisLoginThrottle(REDIS_URL, key_prefix=backend.redis_prefix, **settings)
        made.append(throttle)
        return throttle

    yield make
    for throttle in made:
        await throttle.close()


@pytest.fixture
def throttle(make_throttle: ThrottleFactory) -> Throttle:
    return make_throttle()


async def fail(throttle: Throttle, keys: list[str], times: int, clock: SteppingClock) -> None:
    """Make ``times`` attempts that fail (are never cleared), one second apart."""
    for _ in range(times):
        await throttle.admit(keys)
        clock.advance(seconds=1)


# --- counting and the window --------------------------------------------------------------


async def test_keys_without_failures_are_not_throttled(throttle: Throttle) -> None:
    assert await throttle.retry_after([ALICE, CLIENT]) is None
    assert await throttle.retry_after([]) is None


async def test_failures_below_the_limit_are_not_throttled(
    throttle: Throttle, clock: SteppingClock
) -> None:
    await fail(throttle, [ALICE], LIMITS["email"] - 1, clock)

    assert await throttle.retry_after([ALICE]) is None


async def test_a_key_is_throttled_once_it_reaches_its_limit(
    throttle: Throttle, clock: SteppingClock
) -> None:
    await fail(throttle, [ALICE], LIMITS["email"], clock)

    assert await throttle.retry_after([ALICE]) is not None


async def test_retry_after_counts_down_to_when_the_oldest_failure_leaves_the_window(
    throttle: Throttle, clock: SteppingClock
) -> None:
    first_failure = clock.now()
    await fail(throttle, [ALICE], LIMITS["email"], clock)  # at +0, +1, +2 s
    clock.current = first_failure
    clock.advance(seconds=10)

    assert await throttle.retry_after([ALICE]) == WINDOW - 10

    clock.advance(seconds=WINDOW - 10 - 1)
    assert await throttle.retry_after([ALICE]) == 1


async def test_the_window_slides_failures_leave_it_one_by_one(
    throttle: Throttle, clock: SteppingClock
) -> None:
    first_failure = clock.now()
    await fail(throttle, [ALICE], LIMITS["email"], clock)  # at +0, +1, +2 s

    clock.current = first_failure
    clock.advance(seconds=WINDOW)  # the failure at +0 has just left the window
    assert await throttle.retry_after([ALICE]) is None

    await throttle.admit([ALICE])  # +900, +1, +2 in the window again
    assert await throttle.retry_after([ALICE]) == 1

    clock.advance(seconds=1)
    assert await throttle.retry_after([ALICE]) is None


async def test_retry_after_is_at_least_one_second(throttle: Throttle, clock: SteppingClock) -> None:
    first_failure = clock.now()
    await fail(throttle, [ALICE], LIMITS["email"], clock)

    clock.current = first_failure
    clock.advance(seconds=WINDOW - 0.25)

    assert await throttle.retry_after([ALICE]) == 1


async def test_attempts_refused_at_the_limit_are_not_counted(
    throttle: Throttle, clock: SteppingClock
) -> None:
    first_failure = clock.now()
    await fail(throttle, [ALICE], LIMITS["email"] + 2, clock)  # admitted at +0 .. +2 s
    clock.current = first_failure

    # Free when the one at +0 leaves: the two refused at +3 and +4 count for nothing.
    assert await throttle.retry_after([ALICE]) == WINDOW


async def test_admitting_and_counting_is_one_step_however_many_arrive_at_once(
    throttle: Throttle,
) -> None:
    answers = await asyncio.gather(*(throttle.admit([ALICE, CLIENT]) for _ in range(40)))

    admitted = [answer for answer in answers if answer.retry_after is None]
    assert len(admitted) == LIMITS["email"]
    assert all(answer.retry_after is not None for answer in answers if answer not in admitted)


async def test_a_cleared_attempt_no_longer_counts(throttle: Throttle, clock: SteppingClock) -> None:
    await fail(throttle, [ALICE], LIMITS["email"] - 1, clock)
    succeeded = await throttle.admit([ALICE, CLIENT])

    await throttle.clear(succeeded)

    assert await throttle.retry_after([ALICE]) is None
    assert (await throttle.admit([ALICE])).retry_after is None
    assert (await throttle.admit([ALICE])).retry_after is not None


async def test_each_kind_of_key_has_its_own_limit(throttle: Throttle, clock: SteppingClock) -> None:
    await fail(throttle, [ALICE, CLIENT], LIMITS["email"], clock)

    assert await throttle.retry_after([ALICE]) is not None
    assert await throttle.retry_after([CLIENT]) is None

    await fail(throttle, [BOB, CLIENT], LIMITS["client"] - LIMITS["email"], clock)
    assert await throttle.retry_after([CLIENT]) is not None
    assert await throttle.retry_after([BOB]) is None


async def test_keys_are_counted_apart(throttle: Throttle, clock: SteppingClock) -> None:
    await fail(throttle, [ALICE], LIMITS["email"], clock)

    assert await throttle.retry_after([BOB, OTHER_CLIENT]) is None
    assert await throttle.retry_after([BOB, ALICE]) is not None


async def test_retry_after_answers_for_the_key_that_must_wait_longest(
    throttle: Throttle, clock: SteppingClock
) -> None:
    start = clock.now()
    await fail(throttle, [CLIENT], LIMITS["client"], clock)  # +0 .. +4 s
    clock.current = start
    clock.advance(seconds=100)
    await fail(throttle, [ALICE], LIMITS["email"], clock)  # +100 .. +102 s
    clock.current = start
    clock.advance(seconds=200)

    assert await throttle.retry_after([CLIENT]) == WINDOW - 200
    assert await throttle.retry_after([ALICE]) == WINDOW + 100 - 200
    assert await throttle.retry_after([CLIENT, ALICE]) == WINDOW + 100 - 200
    assert await throttle.retry_after([ALICE, CLIENT]) == WINDOW + 100 - 200


async def test_reset_clears_one_key_and_leaves_the_others(
    throttle: Throttle, clock: SteppingClock
) -> None:
    await fail(throttle, [ALICE], LIMITS["email"], clock)
    await fail(throttle, [CLIENT], LIMITS["client"], clock)

    await throttle.reset(ALICE)

    assert await throttle.retry_after([ALICE]) is None
    assert await throttle.retry_after([CLIENT]) is not None


async def test_reset_of_an_unknown_key_does_nothing(throttle: Throttle) -> None:
    await throttle.reset(BOB)

    assert await throttle.retry_after([BOB]) is None


async def test_a_key_whose_kind_has_no_limit_is_refused(throttle: Throttle) -> None:
    with pytest.raises(ValueError, match="No login failure limit"):
        await throttle.admit(["username:alice"])
    with pytest.raises(ValueError, match="No login failure limit"):
        await throttle.retry_after(["username:alice"])


async def test_limits_can_be_a_function_of_the_whole_key(
    make_throttle: ThrottleFactory, clock: SteppingClock
) -> None:
    def limit(key: str) -> int:
        return 1 if key == "email:admin@example.com" else 3

    throttle = make_throttle(limits=limit)
    await throttle.admit(["email:admin@example.com", ALICE])

    assert await throttle.retry_after(["email:admin@example.com"]) is not None
    assert await throttle.retry_after([ALICE]) is None


async def test_the_defaults_are_five_per_email_and_fifty_per_client(
    make_throttle: ThrottleFactory, clock: SteppingClock
) -> None:
    throttle = make_throttle(limits=DEFAULT_LIMITS)

    await fail(throttle, [ALICE, CLIENT], 4, clock)
    assert await throttle.retry_after([ALICE]) is None
    await fail(throttle, [ALICE, CLIENT], 1, clock)
    assert await throttle.retry_after([ALICE]) is not None

    await fail(throttle, [CLIENT], 44, clock)
    assert await throttle.retry_after([CLIENT]) is None
    await fail(throttle, [CLIENT], 1, clock)
    assert await throttle.retry_after([CLIENT]) is not None


@pytest.mark.parametrize("limits", [{"email": 0}, {"email": 5, "client": -1}])
def test_limits_below_one_are_refused(clock: SteppingClock, limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryLoginThrottle(limits=limits, window_seconds=WINDOW, clock=clock)


def test_a_window_below_one_second_is_refused(clock: SteppingClock) -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        MemoryLoginThrottle(limits=LIMITS, window_seconds=0, clock=clock)
    with pytest.raises(ValueError, match="window_seconds"):
        RedisLoginThrottle(REDIS_URL, limits=LIMITS, window_seconds=0, clock=clock)


# --- memory specifics ---------------------------------------------------------------------


async def test_the_memory_throttle_forgets_keys_nobody_tries_again(clock: SteppingClock) -> None:
    throttle = MemoryLoginThrottle(limits=LIMITS, window_seconds=WINDOW, clock=clock)
    for number in range(1000):
        await throttle.admit([f"email:user{number}@example.com"])

    clock.advance(seconds=WINDOW + 1)
    await throttle.admit([ALICE])

    # White-box: the bound on memory is the point of this test.
    assert list(throttle._attempts) == [ALICE]


# --- Redis specifics ----------------------------------------------------------------------


@pytest.mark.redis
async def test_two_redis_throttles_share_one_count(redis_prefix: str, clock: SteppingClock) -> None:
    settings: dict[str, Any] = {"limits": LIMITS, "window_seconds": WINDOW, "clock": clock}
    one = RedisLoginThrottle(REDIS_URL, key_prefix=redis_prefix, **settings)
    other = RedisLoginThrottle(REDIS_URL, key_prefix=redis_prefix, **settings)
    try:
        await one.admit([ALICE])
        await other.admit([ALICE])
        assert await one.retry_after([ALICE]) is None

        await one.admit([ALICE])

        assert await other.retry_after([ALICE]) is not None
        await other.reset(ALICE)
        assert await one.retry_after([ALICE]) is None
    finally:
        await one.close()
        await other.close()


@pytest.mark.redis
async def test_redis_keys_expire_and_hold_no_email_address(
    redis_prefix: str, redis_client: Redis, clock: SteppingClock
) -> None:
    throttle = RedisLoginThrottle(
        REDIS_URL, limits=LIMITS, window_seconds=WINDOW, clock=clock, key_prefix=redis_prefix
    )
    try:
        await fail(throttle, [ALICE, CLIENT], LIMITS["email"] + 3, clock)
    finally:
        await throttle.close()

    keys = sorted(key.decode() for key in redis_client.scan_iter(match=f"{redis_prefix}*"))
    assert [key.removeprefix(redis_prefix).partition(":")[0] for key in keys] == [
        "client",
        "email",
    ]
    assert not any("alice" in key or "203.0.113.9" in key for key in keys)
    assert all(0 < redis_client.ttl(key) <= WINDOW for key in keys)
    # Attempts refused at the e-mail's limit are counted on no key.
    assert sorted(redis_client.zcard(key) for key in keys) == [LIMITS["email"]] * 2


async def test_an_unreachable_redis_falls_back_to_this_process_with_one_warning(
    clock: SteppingClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Port 1: nothing listens there, so connecting is refused at once.
    throttle = RedisLoginThrottle(
        "redis://127.0.0.1:1/0", limits=LIMITS, window_seconds=WINDOW, clock=clock
    )
    with caplog.at_level(logging.WARNING, logger="adapters.login_throttle.redis_store"):
        answers = [await throttle.admit([ALICE]) for _ in range(LIMITS["email"] + 1)]
        throttled = await throttle.retry_after([ALICE])
        await throttle.reset(ALICE)
        after_reset = await throttle.retry_after([ALICE])
    await throttle.close()

    # Never no throttling: this process counts on its own meanwhile.
    assert [answer.retry_after is None for answer in answers] == [True] * LIMITS["email"] + [False]
    assert throttled is not None
    assert after_reset is None
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    # Said once, not once per call: an outage must not flood the log.
    assert len(warnings) == 1
    assert "throttles on its own" in warnings[0].getMessage()


async def test_a_redis_that_does_not_answer_does_not_hold_up_a_login(
    clock: SteppingClock,
) -> None:
    # A server that accepts connections and reads requests but never replies.
    silent: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)
        while await reader.read(4096):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    throttle = RedisLoginThrottle(
        f"redis://127.0.0.1:{port}/0",
        limits=LIMITS,
        window_seconds=WINDOW,
        clock=clock,
        operation_timeout=0.2,
    )
    try:
        started = time.perf_counter()
        assert await throttle.retry_after([ALICE]) is None
        await throttle.admit([ALICE])
        await throttle.reset(ALICE)
        elapsed = time.perf_counter() - started
    finally:
        await throttle.close()
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()

    assert silent, "the throttle never reached the silent server"
    assert elapsed < 1.5
