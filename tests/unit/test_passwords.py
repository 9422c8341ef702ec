"""Argon2PasswordHasher: argon2id hashes, upgrades, and never a blocked event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from passlib.context import CryptContext  # type: ignore[import-untyped]

from adapters.passwords import Argon2PasswordHasher
from application.ports.accounts import PasswordCheck

# Cheap parameters keep the suite fast; the tests about time use dearer ones.
CHEAP = {"memory_cost_kib": 1024, "time_cost": 1}


@pytest.fixture
def hasher() -> Iterator[Argon2PasswordHasher]:
    hasher = Argon2PasswordHasher(**CHEAP)
    yield hasher
    hasher.close()


async def test_a_hash_verifies_with_its_password(hasher: Argon2PasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery")

    check = await hasher.verify("correct horse battery", hashed)

    assert check.valid
    assert check.new_hash is None


async def test_the_hash_is_argon2id_salted_and_carries_its_parameters(
    hasher: Argon2PasswordHasher,
) -> None:
    first = await hasher.hash("correct horse battery")
    second = await hasher.hash("correct horse battery")

    assert first.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert first != second
    assert "correct horse battery" not in first


async def test_a_wrong_password_does_not_verify(hasher: Argon2PasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery")

    check = await hasher.verify("Correct horse battery", hashed)

    assert not check.valid
    assert check.new_hash is None


async def test_a_hash_with_outdated_parameters_gets_a_fresh_one() -> None:
    old = Argon2PasswordHasher(memory_cost_kib=1024, time_cost=1)
    current = Argon2PasswordHasher(memory_cost_kib=2048, time_cost=2)
    hashed = await old.hash("correct horse battery")

    check = await current.verify("correct horse battery", hashed)

    assert check.valid
    assert check.new_hash is not None
    assert check.new_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert await current.verify("correct horse battery", check.new_hash) == PasswordCheck(
        valid=True
    )


async def test_a_wrong_password_against_an_outdated_hash_gets_no_fresh_hash() -> None:
    old = Argon2PasswordHasher(memory_cost_kib=1024, time_cost=1)
    current = Argon2PasswordHasher(memory_cost_kib=2048, time_cost=2)
    hashed = await old.hash("correct horse battery")

    check = await current.verify("wrong", hashed)

    assert not check.valid
    assert check.new_hash is None


async def test_an_argon2i_hash_still_verifies_and_is_upgraded_to_argon2id(
    hasher: Argon2PasswordHasher,
) -> None:
    legacy = CryptContext(schemes=["argon2"], argon2__type="I", argon2__memory_cost=1024)
    hashed = legacy.hash("correct horse battery")

    check = await hasher.verify("correct horse battery", hashed)

    assert check.valid
    assert check.new_hash is not None
    assert check.new_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "$argon2id$v=19$m=1024,t=1,p=1$xx$yy",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ",
        "$2b$12$abcdefghijklmnopqrstuuOgW3HrEz1C5F3W8WmW1s5X0aIbo1Ky2",
        "hashed:correct horse battery",
    ],
    ids=["empty", "garbage", "short-salt", "truncated", "bcrypt", "plain"],
)
async def test_a_malformed_or_foreign_hash_is_a_mismatch_not_an_error(
    hasher: Argon2PasswordHasher, stored: str
) -> None:
    check = await hasher.verify("correct horse battery", stored)

    assert not check.valid
    assert check.new_hash is None


async def test_a_password_over_the_size_limit_is_a_mismatch_not_an_error(
    hasher: Argon2PasswordHasher,
) -> None:
    hashed = await hasher.hash("correct horse battery")

    check = await hasher.verify("x" * 10_000, hashed)

    assert not check.valid


async def test_verify_dummy_never_raises(
    hasher: Argon2PasswordHasher,
) -> None:
    await hasher.verify_dummy("correct horse battery")
    await hasher.verify_dummy("")
    await hasher.verify_dummy("x" * 10_000)


async def test_the_event_loop_keeps_running_while_a_password_is_hashed() -> None:
    # Real parameters: each hash takes tens of milliseconds of CPU.
    hasher = Argon2PasswordHasher(max_threads=1)
    ticks = 0
    stop = asyncio.Event()

    async def tick() -> None:
        nonlocal ticks
        while not stop.is_set():
            await asyncio.sleep(0.002)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    started = time.perf_counter()
    hashed = await hasher.hash("correct horse battery")
    await hasher.verify("correct horse battery", hashed)
    elapsed = time.perf_counter() - started
    stop.set()
    await ticker
    hasher.close()

    # Had the hashing run on the loop, the ticker could not have run in between.
    assert elapsed > 0.01
    assert ticks >= 3


@pytest.fixture
def hashing_threads(monkeypatch: pytest.MonkeyPatch) -> HashingThreads:
    threads = HashingThreads()
    for name in ("hash", "verify", "verify_and_update"):
        monkeypatch.setattr(CryptContext, name, threads.wrap(getattr(CryptContext, name)))
    return threads


class HashingThreads:
    """Records which threads run passlib, and how many at once."""

    def __init__(self) -> None:
        self.idents: set[int] = set()
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.idents.add(threading.get_ident())
                self.running += 1
                self.most_at_once = max(self.most_at_once, self.running)
            try:
                time.sleep(0.02)  # long enough for the others to pile up
                return method(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        return recorded


async def test_hashing_and_verifying_run_on_worker_threads(
    hasher: Argon2PasswordHasher, hashing_threads: HashingThreads
) -> None:
    hashed = await hasher.hash("correct horse battery")
    await hasher.verify("correct horse battery", hashed)
    await hasher.verify_dummy("correct horse battery")

    assert hashing_threads.idents
    assert threading.get_ident() not in hashing_threads.idents


async def test_at_most_max_threads_hashes_run_at_once(hashing_threads: HashingThreads) -> None:
    hasher = Argon2PasswordHasher(**CHEAP, max_threads=2)

    await asyncio.gather(*(hasher.hash(f"password-{n}") for n in range(8)))
    hasher.close()

    assert hashing_threads.most_at_once == 2
    assert len(hashing_threads.idents) == 2


async def test_the_dummy_hash_is_made_once_however_many_calls_race() -> None:
    hasher = Argon2PasswordHasher(**CHEAP, max_threads=2)
    made: list[str] = []
    original = CryptContext.hash

    def counted(self: CryptContext, secret: str, **kwargs: Any) -> str:
        hashed: str = original(self, secret, **kwargs)
        made.append(hashed)
        return hashed

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CryptContext, "hash", counted)
        await asyncio.gather(*(hasher.verify_dummy("guess") for _ in range(6)))
    hasher.close()

    assert len(made) == 1


async def test_an_unknown_email_runs_the_same_argon2_verification_as_a_wrong_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Deterministic rather than timed (timing under a loaded CI machine flaked): the
    # dummy check must verify against a hash made with the very parameters real hashes
    # use, so its argon2 work (memory, passes, lanes) is the same as a wrong password's.
    hasher = Argon2PasswordHasher(**CHEAP)
    real = await hasher.hash("correct horse battery")
    verified: list[str] = []
    context = hasher._context
    original_verify = context.verify

    def recording_verify(secret: str, hashed: str) -> bool:
        verified.append(hashed)
        return bool(original_verify(secret, hashed))

    monkeypatch.setattr(context, "verify", recording_verify)
    await hasher.verify_dummy("wrong guess")
    await hasher.verify_dummy("another guess")
    hasher.close()

    assert len(verified) == 2
    assert verified[0] == verified[1] != real
    assert parameters_of(verified[0]) == parameters_of(real)


def parameters_of(hashed: str) -> str:
    """The ``$argon2id$v=19$m=...,t=...,p=...`` prefix that sets a hash's cost."""
    return "$".join(hashed.split("$")[:4])


async def test_the_default_parameters_are_owasps_argon2id_baseline() -> None:
    hasher = Argon2PasswordHasher()

    hashed = await hasher.hash("correct horse battery")
    hasher.close()

    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_max_threads_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_threads"):
        Argon2PasswordHasher(**CHEAP, max_threads=0)


class _Libc:
    def __init__(self, answer: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, option: int, value: int) -> int:
        self.calls.append((option, value))
        return self.answer


def test_large_blocks_are_returned_to_the_system_unless_the_operator_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapters.large_blocks import THRESHOLD_BYTES, return_large_blocks_to_the_system

    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    libc = _Libc()
    assert return_large_blocks_to_the_system(libc) is True
    assert libc.calls == [(-3, THRESHOLD_BYTES)]

    refusing = _Libc(answer=0)
    assert return_large_blocks_to_the_system(refusing) is False

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    untouched = _Libc()
    assert return_large_blocks_to_the_system(untouched) is False
    assert untouched.calls == []


def test_without_mallopt_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.large_blocks import return_large_blocks_to_the_system

    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert return_large_blocks_to_the_system(object()) is False


def test_glibc_accepts_the_threshold_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    from adapters.large_blocks import return_large_blocks_to_the_system

    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt's threshold is glibc's")
    assert return_large_blocks_to_the_system() is True
