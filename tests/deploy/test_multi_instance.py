"""Two `storefront serve` instances behind nginx, as deploy/compose.yaml runs them.

PostgreSQL and Redis back them, two `storefront worker` processes deliver e-mail to
an aiosmtpd server, and nginx runs deploy/nginx.conf with only its ports and upstream
servers changed. The commands and settings are compose.yaml's (tests/deploy/kit.py),
with this machine's addresses. The tests run in order: the rolling restart comes last.

nginx comes from Debian (`apt-get install nginx-light`; .ci/run installs it). Without
it these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import create_postgres_database, drop_postgres_database, in_ci, run_blocking
from tests.deploy import kit
from tests.http.conftest import TEST_SECRET_KEY
from tests.outbox.conftest import MailServer
from tests.processes import free_port, kill, start_storefront, stop, wait_until_healthy

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "a-long-password"
ADMIN = "root@example.com"
STOCK = 10
ORDERS = 30
EMAIL_LIMIT = 5  # LOGIN_MAX_FAILURES_PER_EMAIL in .env.example
NGINX_FAIL_TIMEOUT = 2.0  # fail_timeout in nginx.conf: an instance back up is tried again after it


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        reason = "nginx is not installed (apt-get install -y nginx-light)"
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def redis_test_url() -> str:
    from redis import Redis

    from tests.conftest import DEFAULT_TEST_REDIS_URL

    url = os.environ.get("TEST_REDIS_URL") or DEFAULT_TEST_REDIS_URL
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except Exception as exc:
        if in_ci():
            pytest.fail(f"Redis is not reachable at {url!r}: {exc!r}")
        pytest.skip(f"Redis is not reachable at {url!r}: {exc!r}")
    finally:
        client.close()
    return url


@dataclass
class Stack:
    """The running processes and how to reach them."""

    root: Path
    proxy: str
    database_url: str
    mail: MailServer
    api_env: dict[str, str]
    instances: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_instance(self, port: int) -> None:
        arguments = kit.with_option(kit.command("api"), "--host", "127.0.0.1")
        arguments = kit.with_option(arguments, "--port", str(port))
        log = self.root / f"api-{port}.log"
        self.instances[port] = start_storefront(arguments, self.api_env, self.root, log)
        wait_until_healthy(self.instances[port], f"http://127.0.0.1:{port}/health/ready")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.proxy, timeout=30)


def run_cli(arguments: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *arguments],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def stack(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    nginx = nginx_binary()
    redis_url = redis_test_url()
    root = tmp_path_factory.mktemp("deploy")
    database_url = create_postgres_database(postgres_server_url)
    mail = MailServer(free_port())
    mail.start()
    addresses = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail.port),
        "TRUSTED_PROXIES": "127.0.0.1",
    }

    def settings_of(service: str) -> dict[str, str]:
        environment = kit.on_this_machine(kit.environment(service), **addresses)
        return {**environment, "SECRET_KEY": TEST_SECRET_KEY}

    api_ports = [free_port(), free_port()]
    proxy_port = free_port()
    stack = Stack(
        root=root,
        proxy=f"http://127.0.0.1:{proxy_port}",
        database_url=database_url,
        mail=mail,
        api_env=settings_of("api"),
    )
    nginx_process: subprocess.Popen[bytes] | None = None
    try:
        run_cli(kit.command("migrate"), settings_of("migrate"), root)
        worker_log = root / "workers.log"
        stack.others = [
            start_storefront(kit.command("worker"), settings_of("worker"), root, worker_log)
            for _ in range(2)
        ]
        # Everything after the migration starts at once: each start is mostly imports.
        with ThreadPoolExecutor(3) as starting:
            superuser = starting.submit(
                run_cli,
                ["create-superuser", "--email", ADMIN, "--password", PASSWORD],
                stack.api_env,
                root,
            )
            list(starting.map(stack.start_instance, api_ports))
            superuser.result()
        conf = root / "nginx.conf"
        conf.write_text(kit.nginx_conf(proxy_port, api_ports))
        nginx_process = subprocess.Popen(
            [nginx, "-p", str(root), "-c", str(conf), "-g", f"daemon off; pid {root}/nginx.pid;"],
            stdout=subprocess.DEVNULL,
            stderr=(root / "nginx.log").open("ab"),
            start_new_session=True,
        )
        stack.others.append(nginx_process)
        wait_until_healthy(nginx_process, f"{stack.proxy}/health/ready")
        yield stack
    finally:
        processes = [*stack.instances.values(), *stack.others]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            kill(process)
        mail.stop()
        drop_postgres_database(database_url)


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/v1/auth/login", data={"username": email, "password": password})


def bearer_for(client: httpx.Client, email: str) -> dict[str, str]:
    response = login(client, email)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def new_product(client: httpx.Client, stock: int) -> int:
    response = client.post(
        "/api/v1/products",
        json={
            "name": f"Lamp {uuid.uuid4().hex[:8]}",
            "price": "9.99",
            "stock": stock,
            "category": "lamps",
        },
        headers=bearer_for(client, ADMIN),
    )
    assert response.status_code == 201, response.text
    product_id: int = response.json()["id"]
    return product_id


def register(client: httpx.Client, email: str) -> None:
    response = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text


def test_no_oversell_through_the_proxy(stack: Stack) -> None:
    with stack.client() as client:
        register(client, "buyer@example.com")
        headers = bearer_for(client, "buyer@example.com")
        product = new_product(client, STOCK)

        def order(_: int) -> int:
            response = client.post(
                "/api/v1/orders",
                json={"items": [{"product_id": product, "quantity": 1}]},
                headers=headers,
            )
            return response.status_code

        with ThreadPoolExecutor(10) as buyers:
            statuses = Counter(buyers.map(order, range(ORDERS)))
        stock = client.get(f"/api/v1/products/{product}").json()["stock"]

    print(f"\nmulti-instance orders: {ORDERS} for {STOCK} units -> {dict(statuses)}, stock {stock}")
    assert statuses == {201: STOCK, 409: ORDERS - STOCK}
    assert stock == 0


def test_one_login_throttle_is_shared_by_both_instances(stack: Stack) -> None:
    attempts = EMAIL_LIMIT + 3
    with stack.client() as client:
        register(client, "target@example.com")
        statuses = [
            login(client, "target@example.com", "wrong-password").status_code
            for _ in range(attempts)
        ]

    print(f"\nmulti-instance throttle: {attempts} wrong passwords -> {statuses}")
    # Round robin: each instance saw at most half the attempts, under its own limit.
    assert statuses == [401] * EMAIL_LIMIT + [429] * (attempts - EMAIL_LIMIT)


def outbox_counts(database_url: str) -> dict[str, int]:
    import asyncpg  # type: ignore[import-untyped]

    async def query() -> dict[str, int]:
        dsn = make_url(database_url).set(drivername="postgresql")
        connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
        try:
            rows = await connection.fetch("SELECT status, count(*) FROM outbox GROUP BY status")
        finally:
            await connection.close()
        return {row[0]: row[1] for row in rows}

    return run_blocking(query)


def test_each_registration_sends_exactly_one_email(stack: Stack) -> None:
    emails = [f"new{n}@example.com" for n in range(4)]
    with stack.client() as client:
        for email in emails:
            register(client, email)

    deadline = time.monotonic() + 20
    while (counts := outbox_counts(stack.database_url)).keys() - {"delivered"}:
        assert time.monotonic() < deadline, counts
        time.sleep(0.2)
    received = stack.mail.messages()
    welcomes = Counter(
        mail.recipients for mail in received if mail.subject == "Welcome to Storefront"
    )

    print(f"\nmulti-instance e-mail: outbox {counts}, {len(received)} received, welcome {welcomes}")
    assert len(received) == counts["delivered"]
    assert len({mail.message_id for mail in received}) == len(received)
    for email in emails:
        assert welcomes[(email,)] == 1


def test_a_rolling_restart_under_load_fails_no_request(stack: Stack) -> None:
    with stack.client() as client:
        register(client, "steady@example.com")
        headers = bearer_for(client, "steady@example.com")
        product = new_product(client, 100_000)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    restarting = threading.Event()
    restarting.set()

    def keep_busy(worker: int) -> None:
        with stack.client() as client:
            n = 0
            while restarting.is_set():
                n += 1
                if worker == 0:
                    response = client.post(
                        "/api/v1/orders",
                        json={"items": [{"product_id": product, "quantity": 1}]},
                        headers={**headers, "Idempotency-Key": f"steady-{n}"},
                    )
                    expected = 201
                else:
                    response = client.get("/api/v1/products", params={"limit": 5})
                    expected = 200
                outcomes[str(response.status_code)] += 1
                if response.status_code != expected:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                # Steady load, not a flood: the restarting instances need the CPU too.
                time.sleep(0.01)

    timings: list[str] = []
    with ThreadPoolExecutor(4) as load:
        running = [load.submit(keep_busy, worker) for worker in range(4)]
        time.sleep(0.5)
        try:
            for port in list(stack.instances):
                took = stop(stack.instances[port], limit=30)
                timings.append(f"{port}: stopped in {took:.2f} s")
                stack.start_instance(port)
                time.sleep(NGINX_FAIL_TIMEOUT + 0.5)
        finally:
            # A failed restart step must still release the load threads, or the
            # executor waits for them forever and the suite hangs.
            restarting.clear()
        for future in running:
            future.result()

    total = sum(outcomes.values())
    print(
        f"\nmulti-instance rolling restart: {total} requests, {dict(outcomes)}, "
        f"{len(failures)} failed; {'; '.join(timings)}"
    )
    assert failures == [], (stack.root / "nginx.log").read_text()[-3000:]
    assert total > 50
