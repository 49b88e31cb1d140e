"""Running the API under gunicorn, from the CLI (``solace serve``) or the quick start."""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from core.config import Settings
from serving.wsgi import HEADER_LIMITS, limit_message
from storage.db import dispose_engines, get_engine
from storage.keyspace import Keyspace
from storage.redis_conn import connect_redis
from storage.stores import Stores


class SolaceServer(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from serving.app import create_app

        return create_app(self.settings)


# gunicorn answers some requests itself, before the app sees them: headers too large
# (431), a request line too long (414), a malformed request (400). Its page is HTML; the
# API's contract is JSON everywhere, so the same answers are written in the API's shape.
_SERVER_ERROR_CODES = {400: "bad_request", 403: "forbidden", 414: "uri_too_long", 417: "expectation_failed",
                       431: "headers_too_large", 500: "internal", 501: "not_implemented"}


def json_error_page(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, in the API's error shape (installed by :func:`serve`)."""
    if status_int in (414, 431):
        mesg = limit_message(status_int)
    body = json.dumps({"error": {"code": _SERVER_ERROR_CODES.get(status_int, "bad_request"),
                                 "message": mesg or reason}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    gunicorn_util.write_nonblock(sock, head + body)


def _worker_exited(server: Any, worker: Any) -> None:
    """A dead worker's live gauges leave the scrape (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _remove_in_master(folder: Path, master_pid: int) -> None:
    """Workers are forked after this handler is registered and run it when they exit: only
    the master may remove the metrics folder, or one worker's exit (a timeout, a reload)
    leaves its replacement without the folder and gunicorn stops the whole server."""
    if os.getpid() == master_pid:
        shutil.rmtree(folder, ignore_errors=True)


SERVERS = ("gunicorn", "granian")


def _serve_granian(metrics_dir: Path, host: str, port: int, workers: int, threads: int) -> None:
    """granian's WSGI interface: each worker process builds the app (``serving.wsgi``) from
    the environment, the metrics folder included. Measured in bench/README.md against
    gunicorn; see there and docs/deployment.md for what differs (a request too malformed to
    parse gets granian's bare 400, and a dead worker's gauges stay in the scrape until the
    server restarts)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels

    os.environ["SOLACE_METRICS_DIR"] = str(metrics_dir)
    Granian("serving.wsgi:create", address=host, port=port, interface=Interfaces.WSGI, factory=True,
            workers=workers, blocking_threads=threads, http=HTTPModes.http1, log_level=LogLevels.warning,
            respawn_failed_workers=True).serve()


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 2,
          threads: int = 4, server: str = "gunicorn") -> None:
    if server not in SERVERS:
        raise ValueError(f"server: one of {', '.join(SERVERS)}, not {server!r}")
    # The master opens Redis first: with the embedded server, it owns the redis-server
    # process that every worker then shares.
    client = connect_redis(settings)
    client.ping()
    # Metrics of all workers in one scrape: a fresh folder per server (prometheus_client
    # wants it empty at start), named to the library before any worker (or the rebuild
    # below) imports it.
    metrics_dir = Path(tempfile.mkdtemp(prefix="solace-metrics-"))
    atexit.register(_remove_in_master, metrics_dir, os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    if not settings.redis_url:
        # the embedded server reloads its last snapshot, which can be older than SQL (it
        # may have died with the workers): rebuild it from SQL before any worker starts
        client.delete(Keyspace(settings.redis_prefix).restored)
        from serving.recovery import restore_redis

        try:
            restore_redis(Stores(settings))
        except Exception:  # noqa: BLE001 - the marker stays deleted: the first request rebuilds
            logging.getLogger("solace.recovery").exception("rebuilding Redis at start failed")
    # Migrate once in the master, then close its connections: each worker opens its own
    # after the fork (a shared socket interleaves replies between processes).
    get_engine(settings.sql_url)
    dispose_engines()
    client.connection_pool.disconnect()  # the master keeps the embedded server, not a socket
    if server == "granian":
        _serve_granian(metrics_dir, host, port, workers, threads)
        return
    # gunicorn's workers call util.write_error by name: forked after this, they write JSON
    gunicorn_util.write_error = json_error_page
    SolaceServer(
        settings.model_copy(update={"metrics_dir": metrics_dir}),
        {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
         "worker_class": "gthread" if threads > 1 else "sync", "timeout": 60,
         "accesslog": None, "errorlog": "-", "loglevel": "warning", "child_exit": _worker_exited,
         **HEADER_LIMITS},
    ).run()
