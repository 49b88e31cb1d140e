"""Browser tests of the console: Debian's chromium driven by Playwright (never a browser
that Playwright downloads). Without chromium or Playwright they skip and say why; with
CI=true they fail instead, so CI cannot pass without running them."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

CHROMIUM = os.environ.get("SOLACE_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(os.environ.get("SOLACE_BROWSER_OUTPUT", Path(__file__).resolve().parents[2] / "build" / "browser-screenshots"))


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install -y chromium) "
                     "or set SOLACE_CHROMIUM to run the console's browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"Playwright for Python is not installed ({exc}): pip install -e '.[test]'")
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox cannot start
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def live_console(deployment) -> Iterator[tuple[str, Any, Any]]:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    """The real app (API and console) on a loopback port, in a thread of this process."""
    from werkzeug.serving import make_server

    from serving.app import create_app

    services, result = deployment
    app = create_app(services.settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", services, result
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
