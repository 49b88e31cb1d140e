"""Rate limits per API key: the rule written once for every route.

Most routes are limited by flask-limiter (a Redis round trip of its own per request). The
recommendation routes, called on every feed load, count in the Redis pipeline the request
already sends for its state (``serving.recommend``): the same limits, windows and key,
without the extra round trip (issue 19).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import request
from limits import parse_many

from serving.errors import ApiError


def rate_limit_key() -> str:
    """Who a request counts against: its API key (hashed), else its address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "key:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    return "ip:" + (request.remote_addr or "unknown")


@dataclass(frozen=True)
class Window:
    """One limit: ``amount`` requests per ``seconds``, counted in fixed windows."""

    amount: int
    seconds: int

    def start(self, now: float) -> int:
        return int(now // self.seconds) * self.seconds


def windows_of(spec: str) -> tuple[Window, ...]:
    """The limits of a ``limits`` specification ("1200/minute;20000/hour"); ValueError if bad."""
    return tuple(Window(int(item.amount), int(item.get_expiry())) for item in parse_many(spec))


def refuse_if_over(windows: tuple[Window, ...], counts: list[int], now: float | None = None) -> None:
    """A 429 in the API's error shape, with Retry-After until the fullest window ends."""
    now = time.time() if now is None else now
    over = [w for w, n in zip(windows, counts) if n > w.amount]
    if over:
        wait = max(w.start(now) + w.seconds - now for w in over)
        raise ApiError(429, "rate_limited", "too many requests for this API key; retry later",
                       headers={"Retry-After": str(max(1, math.ceil(wait)))})
