"""``GET /metrics``: the Prometheus text exposition, every worker of the instance added up."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException

from application.notifications import CountOutboxMessages
from application.ports.common import DependencyUnavailable
from entrypoints.http.provided import Provided
from entrypoints.http.security import PUBLIC
from entrypoints.metrics import MetricsSampler, exposition, metrics, token_matches

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
METRICS_SAMPLER_STATE = "metrics_sampler"
"""Where the app's lifespan keeps this process's :class:`MetricsSampler` (``app.state``)."""


@get(METRICS_PATH, include_in_schema=False, opt=PUBLIC, cache_control=None)
async def scrape_metrics(
    request: Request[Any, Any, Any],
    count_outbox: Provided[CountOutboxMessages],
    metrics_token: Provided[str | None],
) -> Response[bytes]:
    """Prometheus text format; with ``METRICS_TOKEN`` set, ``Authorization: Bearer`` it."""
    token = metrics_token
    if token is not None and not token_matches(request.headers.get("authorization"), token):
        raise NotAuthorizedException("Send Authorization: Bearer <METRICS_TOKEN>")
    sampler: MetricsSampler | None = request.app.state.get(METRICS_SAMPLER_STATE)
    if sampler is not None:
        sampler.sample()
    try:
        outbox: dict[str, int] | None = await count_outbox.execute()
    except DependencyUnavailable as error:
        # The scrape still answers: the other metrics say the most during an outage.
        logger.warning("Outbox counts left out of the metrics: %s", error.detail)
        outbox = None
    body, content_type = exposition(metrics(), request.headers.get("accept"), outbox)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
