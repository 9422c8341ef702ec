"""Prometheus metrics, added up over every worker process of one server.

``storefront serve`` gives each run a private directory (``PROMETHEUS_MULTIPROC_DIR``,
removed at exit) before any worker starts: prometheus_client then keeps every value
in a memory-mapped file per process, and whichever worker answers ``GET /metrics``
adds them all up. Without the variable (tests, ``uvicorn --factory`` by hand) the
values live in the process.

prometheus_client is imported on first use, never at import time: it picks its
storage once, when imported, from that variable.

The metrics (an alerting guide is in the operations documentation):

========================================== =====================================================
``http_requests_total``                    counter by ``method``, ``route`` (the template),
                                           ``status``
``http_request_duration_seconds``          histogram by ``method``, ``route``
``storefront_db_pool_connections``         gauge: pool size, every process added up
``storefront_db_pool_connections_in_use``  gauge: connections lent out now
``storefront_db_pool_waiting``             gauge: requests waiting for a connection now
``storefront_db_pool_waits_total``         counter: requests that had to wait for one
``storefront_db_pool_timeouts_total``      counter: waits that ran out of time (a 503 each)
``storefront_outbox_messages``             gauge by ``status`` (pending, delivered, failed),
                                           counted in the database at each scrape
``storefront_orders_placed_total``         counter (idempotent replays not counted)
``storefront_logins_failed_total``         counter: wrong e-mail or password
``storefront_logins_throttled_total``      counter: logins refused with a 429
========================================== =====================================================
"""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
import tempfile
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    from adapters.sql.connection_gate import ConnectionGate
    from entrypoints.http.exchanges import Exchange

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric of the process, registered in a registry of their own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.http_requests: Counter = Counter(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
            registry=registry,
        )
        self.http_duration: Histogram = Histogram(
            "http_request_duration_seconds",
            "Time from the request's arrival to the end of its response",
            ("method", "route"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )

        def live_gauge(name: str, documentation: str) -> Gauge:
            # livesum: a process that stops takes its share with it.
            return Gauge(name, documentation, registry=registry, multiprocess_mode="livesum")

        def counter(name: str, documentation: str) -> Counter:
            return Counter(name, documentation, registry=registry)

        self.pool_size = live_gauge(
            "storefront_db_pool_connections", "Database connections the pools may open"
        )
        self.pool_in_use = live_gauge(
            "storefront_db_pool_connections_in_use", "Database connections lent out"
        )
        self.pool_waiting = live_gauge(
            "storefront_db_pool_waiting", "Requests waiting for a database connection"
        )
        self.pool_waits = counter(
            "storefront_db_pool_waits", "Requests that had to wait for a database connection"
        )
        self.pool_timeouts = counter(
            "storefront_db_pool_timeouts",
            "Waits for a database connection that ran out of time (503)",
        )
        self.orders_placed = counter(
            "storefront_orders_placed", "Orders placed (idempotent replays excluded)"
        )
        self.logins_failed = counter(
            "storefront_logins_failed", "Logins refused for a wrong e-mail or password"
        )
        self.logins_throttled = counter(
            "storefront_logins_throttled", "Logins refused after too many failures (429)"
        )
        self._status_labels = {status: str(status) for status in range(100, 600)}
        # The labelled series of each (method, route, status), looked up once: `labels()`
        # validates and locks on every call. Bounded like the series themselves (route
        # templates, not paths).
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        # Requests counted here first and handed to prometheus_client by flush(): its
        # values lock, check the pid and write a memory-mapped file on every change,
        # three changes a request, 7 % of /health's CPU time (issue 16).
        self._pending: dict[tuple[str, str, int], _Pending] = {}

    def record(self, exchange: Exchange) -> None:
        """An exchange sink: count and time each request by its route template.

        Seen by a scrape after the next :meth:`flush` (the scraping process flushes its
        own first; every process flushes once a second: :class:`MetricsSampler`).
        """
        key = (exchange.method_label, exchange.route, exchange.status)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending()
        seconds = exchange.seconds
        pending.count += 1
        pending.seconds += seconds
        # prometheus_client's bucket of an observation: the first bound >= it (or +Inf).
        pending.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1

    def flush(self) -> None:
        """Add the requests recorded since the last flush to the exported series."""
        pending, self._pending = self._pending, {}
        for key, batch in pending.items():
            requests, duration = self._series_of(key)
            requests.inc(batch.count)
            # Histogram.observe() takes one value; these are the fields it adds to.
            duration._sum.inc(batch.seconds)
            for index, count in enumerate(batch.buckets):
                if count:
                    duration._buckets[index].inc(count)

    def _series_of(self, key: tuple[str, str, int]) -> tuple[Any, Any]:
        series = self._series.get(key)
        if series is None:
            method, route, code = key
            status = self._status_labels.get(code) or str(code)
            series = self._series[key] = (
                self.http_requests.labels(method, route, status),
                self.http_duration.labels(method, route),
            )
        return series


class _Pending:
    """Requests of one series not yet flushed: their count, total time and buckets."""

    __slots__ = ("buckets", "count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)  # the last one is +Inf


@cache
def metrics() -> Metrics:
    """The process's metrics, created on first use."""
    return Metrics()


class MetricsSampler:
    """Hands this process's counts to the exported metrics: the requests recorded since the
    last time (:meth:`Metrics.flush`) and, when there is one, the connection gate's counts
    (the gate itself stays plain ints).

    Each process samples about once a second, and right before it answers a scrape.
    """

    def __init__(self, recorder: Metrics, gate: ConnectionGate | None = None) -> None:
        self._gate = gate
        self._metrics = recorder
        self._waits = 0
        self._timeouts = 0
        if gate is not None:
            recorder.pool_size.set(gate.capacity)

    async def run(self, every: float = 1.0) -> None:
        """Sample until cancelled."""
        while True:
            self.sample()
            await asyncio.sleep(every)

    def sample(self) -> None:
        recorder = self._metrics
        recorder.flush()
        gate = self._gate
        if gate is None:
            return
        recorder.pool_in_use.set(gate.in_use)
        recorder.pool_waiting.set(gate.waiting)
        if gate.waits > self._waits:
            recorder.pool_waits.inc(gate.waits - self._waits)
            self._waits = gate.waits
        if gate.timeouts > self._timeouts:
            recorder.pool_timeouts.inc(gate.timeouts - self._timeouts)
            self._timeouts = gate.timeouts


def exposition(
    recorder: Metrics, accept: str | None, outbox: Mapping[str, int] | None
) -> tuple[bytes, str]:
    """The text a scrape gets (every process's values added up) and its content type."""
    recorder.flush()
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.exposition import choose_encoder

    directory = os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE)
    if directory:
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry = recorder.registry
    families = []
    if outbox is not None:
        # Counted in the database at scrape time: the same whichever process answers.
        family = GaugeMetricFamily(
            "storefront_outbox_messages", "Outbox messages by status", labels=["status"]
        )
        for status, count in sorted(outbox.items()):
            family.add_metric([status], count)
        families.append(family)
    encode, content_type = choose_encoder(accept or "")
    return encode(_With(registry, families)), content_type


class _With:
    """A registry's metrics followed by a few more (one encoding, one ``# EOF``)."""

    def __init__(self, registry: CollectorRegistry, families: list[Any]) -> None:
        self._registry = registry
        self._families = families

    def collect(self) -> Iterator[Any]:
        yield from self._registry.collect()
        yield from self._families


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header is ``Bearer <token>`` (in constant time)."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def process_stopped(pid: int | None = None) -> None:
    """Drop a stopped process's live gauges from the sums (multiprocess mode only)."""
    if os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE):
        from prometheus_client import multiprocess

        pid = pid if pid is not None else os.getpid()
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


@contextmanager
def private_multiprocess_directory(environ: dict[str, str] | Any = os.environ) -> Iterator[str]:
    """A fresh directory for one server run's metric files, named in ``environ``; removed after.

    Files left by an earlier run would be added to this one's counts, so a directory
    is never reused.
    """
    directory = tempfile.mkdtemp(prefix="storefront-metrics-")
    saved = environ.get(MULTIPROCESS_DIRECTORY_VARIABLE)
    environ[MULTIPROCESS_DIRECTORY_VARIABLE] = directory
    try:
        yield directory
    finally:
        if saved is None:
            environ.pop(MULTIPROCESS_DIRECTORY_VARIABLE, None)
        else:
            environ[MULTIPROCESS_DIRECTORY_VARIABLE] = saved
        shutil.rmtree(directory, ignore_errors=True)
