"""Prometheus metrics of one app: request counts and latency per route, model version,
cached-list hits."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

access_log = logging.getLogger("solace.access")


class ServingMetrics:
    """One app's metrics. Under gunicorn (``multiprocess_dir`` set) every worker writes its
    samples to files in that folder and a scrape sums them over the workers, so /metrics
    answers for the whole server whichever worker takes the scrape."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "solace_requests_total", "HTTP requests", ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "solace_request_seconds", "Request latency", ["route", "method"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        # per live worker (a "pid" label under gunicorn): mixed versions during a rollout show
        self.model_info = Gauge(
            "solace_model_active", "The active model version held by this worker", ["version"],
            registry=self.registry, multiprocess_mode="liveall",
        )
        self.degraded = Gauge(
            "solace_degraded", "1 while this worker answers without Redis", registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.cache_lookups = Counter(
            "solace_cached_list_lookups_total", "Cached-list lookups", ["result"],
            registry=self.registry,
        )

    _shown_version: str | None = None

    def exposition(self) -> bytes:
        """The Prometheus text of this worker, or of every worker under gunicorn."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=str(self.multiprocess_dir))
        return generate_latest(merged)

    def install(self, app: Flask) -> None:
        @app.before_request
        def _start() -> None:
            g._t0 = time.perf_counter()

        @app.after_request
        def _record(response):
            route = request.url_rule.rule if request.url_rule else "unmatched"
            elapsed = time.perf_counter() - g.get("_t0", time.perf_counter())
            self.requests.labels(route, request.method, str(response.status_code)).inc()
            # Access log: the route pattern, never the path (which holds user ids).
            access_log.info(
                "request",
                extra={"route": route, "method": request.method, "status": response.status_code,
                       "ms": round(elapsed * 1000, 3), "tenant": g.get("tenant")},
            )
            self.latency.labels(route, request.method).observe(elapsed)
            st = app.extensions.get("solace")
            if st is not None:
                model = st.cache.model
                if model is not None and model.version != self._shown_version:
                    if self.multiprocess_dir is None:
                        self.model_info.clear()
                    elif self._shown_version is not None:
                        # prometheus_client cannot clear labels across processes: retire the old one
                        self.model_info.labels(self._shown_version).set(0)
                    self.model_info.labels(model.version).set(1)
                    self._shown_version = model.version
                self.degraded.set(1 if st.cache.degraded else 0)
            return response
