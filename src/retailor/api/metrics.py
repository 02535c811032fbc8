"""Prometheus metrics of one server: events by outcome, commits, HTTP requests and the
requests clients abandoned."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """The metrics of one app, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "retailor_events",
            "Events received, by source and outcome (accepted, duplicate, rejected)",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.commit_rows = Histogram(
            "retailor_commit_rows",
            "Events written per group commit",
            buckets=(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "retailor_commit_seconds",
            "Duration of one group commit",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.requests = Histogram(
            "retailor_http_request_seconds",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5),
            registry=self.registry,
        )
        self.client_aborts = Counter(
            "retailor_client_aborts",
            "Requests whose client closed the connection before sending all of the body",
            ["method", "route"],
            registry=self.registry,
        )

    def watch_decisions(self, unwritten: Callable[[], int], dropped: Callable[[], int]) -> None:
        """Report the decisions waiting for the decision log to be writable again, and
        those given up, read from the decision recorder at each scrape."""
        self.registry.register(_DecisionLogCollector(unwritten, dropped))

    def watch_redis(self, round_trips: Callable[[], dict[str, int]]) -> None:
        """Report the round trips to the shared Redis, by what made them (an adapter's
        method: ``RedisEventFeed.head``, ``RedisOfferLedger._award_in_redis``, …), read
        at each scrape."""
        self.registry.register(_RedisCollector(round_trips))

    def count_events(self, source: str, accepted: int, duplicates: int, rejected: int) -> None:
        for outcome, n in (
            ("accepted", accepted),
            ("duplicate", duplicates),
            ("rejected", rejected),
        ):
            if n:
                self.events.labels(source, outcome).inc(n)

    def event_totals(self) -> dict[str, int]:
        """Events this process counted since it started, by outcome (every source)."""
        totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for family in self.events.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    outcome = sample.labels["outcome"]
                    totals[outcome] = totals.get(outcome, 0) + int(sample.value)
        return totals

    def observe_commit(self, rows: int, seconds: float) -> None:
        self.commit_rows.observe(rows)
        self.commit_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _RedisCollector(Collector):
    """Round trips to the shared Redis, read when scraped."""

    def __init__(self, round_trips: Callable[[], dict[str, int]]) -> None:
        self._round_trips = round_trips

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "retailor_redis_round_trips",
            "Round trips to the shared Redis, by the adapter method that made them",
            labels=["call"],
        )
        for call, count in sorted(self._round_trips().items()):
            family.add_metric([call], count)
        yield family


class _DecisionLogCollector(Collector):
    """The decision recorder's backlog, read when scraped."""

    def __init__(self, unwritten: Callable[[], int], dropped: Callable[[], int]) -> None:
        self._unwritten = unwritten
        self._dropped = dropped

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "retailor_decisions_unwritten",
            "Decisions kept in memory because the decision log could not be written",
            value=self._unwritten(),
        )
        yield CounterMetricFamily(
            "retailor_decisions_dropped",
            "Decisions given up after the decision log could not be written for too long",
            value=self._dropped(),
        )


class RequestMetricsMiddleware:
    """Times every HTTP request, labelled by the matched route's path template; a request
    the client abandoned mid-body got no answer and is counted apart, as an abort."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        aborted = False
        try:
            await self.app(scope, receive, send_status)
        except ClientDisconnect:
            aborted = True
            raise
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            if aborted:
                self.metrics.client_aborts.labels(scope["method"], template).inc()
            else:
                self.metrics.requests.labels(scope["method"], template, str(status)).observe(
                    time.perf_counter() - started
                )
