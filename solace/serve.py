"""Running the API under gunicorn, from the CLI (``solace serve``) or the quick start."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from solace.config import Settings
from solace.db import get_engine
from solace.redis_conn import connect_redis


class SolaceServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        from serving.app import create_app

        return create_app(self.settings)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 4) -> None:
    # The master opens Redis first: with the embedded server, it owns the redis-server
    # process that every worker then shares.
    connect_redis(settings).ping()
    # Migrate once in the master, before workers fork and open their own connections.
    get_engine(settings.sql_url)
    SolaceServer(
        settings,
        {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
         "worker_class": "gthread" if threads > 1 else "sync", "timeout": 60,
         "accesslog": None, "errorlog": "-", "loglevel": "warning"},
    ).run()
