"""``GET /metrics``: what is counted, by which labels, and who may read it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.sql.connection_gate import ConnectionGate
from entrypoints.metrics import Metrics, MetricsSampler
from tests.http.conftest import PASSWORD, Api, assert_problem, http_client, items, make_settings

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: httpx.AsyncClient, **headers: str) -> Samples:
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_never_by_raw_path(memory_api: Api) -> None:
    http = memory_api.http
    before = await scrape(http)
    for product_id in (123, 456):
        assert (await http.get(f"/api/v1/products/{product_id}")).status_code == 404
    await http.get("/health")
    after = await scrape(http)

    template = {"method": "GET", "route": "/api/v1/products/{product_id}"}
    requests = "http_requests_total"
    assert (
        value(after, requests, **template, status="404")
        - value(before, requests, **template, status="404")
        == 2
    )
    durations = "http_request_duration_seconds_count"
    assert value(after, durations, **template) - value(before, durations, **template) == 2
    health = {"method": "GET", "route": "/health", "status": "200"}
    assert value(after, requests, **health) == value(before, requests, **health) + 1
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any(route and ("123" in route or "456" in route) for route in routes)


async def test_orders_failed_and_throttled_logins_and_the_outbox_are_counted(
    memory_api: Api,
) -> None:
    api, http = memory_api, memory_api.http
    admin = await api.superuser()
    product = await api.product(admin)
    customer = await api.user("bob@example.com")
    before = await scrape(http)
    order = {"json": items((product["id"], 1)), "headers": {**customer, "Idempotency-Key": "k1"}}
    assert (await http.post("/api/v1/orders", **order)).status_code == 201
    assert (await http.post("/api/v1/orders", **order)).status_code == 201  # a replay
    wrong = {"username": "bob@example.com", "password": PASSWORD + "x"}
    statuses = [(await http.post("/api/v1/auth/login", data=wrong)).status_code for _ in range(6)]
    after = await scrape(http)

    assert statuses == [401] * 5 + [429]

    def moved(name: str) -> float:
        return value(after, name) - value(before, name)

    assert moved("storefront_orders_placed_total") == 1
    assert moved("storefront_logins_failed_total") == 5
    assert moved("storefront_logins_throttled_total") == 1
    # No dispatcher runs in these tests: the welcome e-mail waits in the outbox, and
    # then the order's confirmation too.
    assert value(before, "storefront_outbox_messages", status="pending") == 1
    assert value(after, "storefront_outbox_messages", status="pending") == 2
    assert value(after, "storefront_outbox_messages", status="failed") == 0


async def test_a_metrics_token_is_required_once_set(app_for: Callable[..., Any]) -> None:
    token = "a-long-random-metrics-token"
    app = app_for(settings=make_settings(METRICS_TOKEN=token))
    async with http_client(app) as http:
        missing = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer not-it"})
        await scrape(http, Authorization=f"Bearer {token}")

    assert_problem(missing, 401)
    assert_problem(wrong, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")


async def test_metrics_enabled_false_removes_the_endpoint(app_for: Callable[..., Any]) -> None:
    async with http_client(app_for(settings=make_settings(METRICS_ENABLED="false"))) as http:
        assert (await http.get("/metrics")).status_code == 404


async def test_the_sampler_reports_connections_in_use_waiting_and_waits() -> None:
    recorder = Metrics()
    gate = ConnectionGate(2, timeout_seconds=0.05)
    sampler = MetricsSampler(recorder, gate)
    await gate.acquire()
    await gate.acquire()
    waiter = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0)
    sampler.sample()
    busy = parse(_text(recorder))
    with pytest.raises(Exception, match="exhausted"):
        await waiter
    gate.release()
    sampler.sample()
    later = parse(_text(recorder))

    assert value(busy, "storefront_db_pool_connections") == 2
    assert value(busy, "storefront_db_pool_connections_in_use") == 2
    assert value(busy, "storefront_db_pool_waiting") == 1
    assert value(later, "storefront_db_pool_connections_in_use") == 1
    assert value(later, "storefront_db_pool_waiting") == 0
    assert value(later, "storefront_db_pool_waits_total") == 1
    assert value(later, "storefront_db_pool_timeouts_total") == 1


def _text(recorder: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(recorder.registry).decode()


def test_requests_counted_in_batches_export_what_one_observation_each_would() -> None:
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from entrypoints.http.exchanges import Exchange
    from entrypoints.metrics import DURATION_BUCKETS

    # On a bound, between bounds, below the first and above the last (+Inf).
    durations = [0.0, 0.005, 0.0051, 0.3, 1.0, 2.5, 9.9, 10.0, 10.01, 42.0, 0.005]
    recorder = Metrics()
    for seconds in durations:
        recorder.record(Exchange("GET", "/health", "/health", 200, seconds, "id", {"type": "http"}))
    before_flush = parse(_text(recorder))
    recorder.flush()
    registry = CollectorRegistry()
    reference = Histogram(
        "http_request_duration_seconds",
        "reference",
        ("method", "route"),
        buckets=DURATION_BUCKETS,
        registry=registry,
    )
    for seconds in durations:
        reference.labels("GET", "/health").observe(seconds)
    expected = {
        key: sample
        for key, sample in parse(generate_latest(registry).decode()).items()
        if not key[0].endswith("_created")
    }
    flushed = parse(_text(recorder))

    health = {"method": "GET", "route": "/health", "status": "200"}
    assert value(before_flush, "http_requests_total", **health) == 0
    assert value(flushed, "http_requests_total", **health) == 11
    assert expected
    for key, sample in expected.items():
        assert flushed[key] == pytest.approx(sample), key
