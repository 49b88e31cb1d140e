"""A small Python client for the Solace API, with the API's own names.

    client = SolaceClient("http://127.0.0.1:8000", api_key)
    client.recommendations("u-123", k=5, fields=["summary", "steps"])
    client.send_events([{"event_id": "e1", "user_id": "u-123", "timestamp": datetime.now(UTC), ...}])

Ids are escaped in paths, datetimes are sent as ISO 8601, and a 429 or 503 is retried
(honouring Retry-After, with jittered backoff) before it is raised as ``SolaceError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def _segment(value: str) -> str:
    """One path segment: an id such as ``a?b=c`` or ``x/y`` stays one id."""
    return quote(value, safe="")


def _jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 (a naive one is taken as UTC), recursively."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class SolaceError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class SolaceClient:
    def __init__(self, base_url: str, api_key: str, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.2) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        # every call of this API is safe to repeat (events are deduplicated by event_id)
        retry = Retry(total=retries, status_forcelist=(429, 503), allowed_methods=None,
                      respect_retry_after_header=True, backoff_factor=backoff, backoff_jitter=backoff,
                      raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if "json" in kwargs:
            kwargs["json"] = _jsonable(kwargs["json"])
        response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        return self._read(response)

    @staticmethod
    def _read(response: requests.Response) -> Any:
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "http_error", "message": response.text[:200]}
            raise SolaceError(response.status_code, err.get("code", ""), err.get("message", ""), err.get("field"))
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def recommendations(
        self, user_id: str, k: int = 10, types: Sequence[str] | None = None,
        locale: str | None = None, explain: bool = True, fields: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"k": k, "explain": str(explain).lower()}
        if types:
            params["types"] = ",".join(types)
        if locale:
            params["locale"] = locale
        if fields:
            params["fields"] = ",".join(fields)
        return self._call("GET", f"/v1/users/{_segment(user_id)}/recommendations", params=params)

    def recommend(self, **body: Any) -> dict[str, Any]:
        """POST /v1/recommendations: user_id, features, locale, age_band, context, k, types, fields."""
        return self._call("POST", "/v1/recommendations", json=body)

    def send_events(self, events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self._call("POST", "/v1/events", json={"events": list(events)})

    def put_user(self, user_id: str, **profile: Any) -> dict[str, Any]:
        return self._call("PUT", f"/v1/users/{_segment(user_id)}", json=profile)

    def get_user(self, user_id: str) -> dict[str, Any]:
        """Everything Solace holds about the user (access and portability)."""
        return self._call("GET", f"/v1/users/{_segment(user_id)}")

    def delete_user(self, user_id: str) -> None:
        self._call("DELETE", f"/v1/users/{_segment(user_id)}")

    def search(self, q: str, k: int = 10, types: Sequence[str] | None = None, locale: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"q": q, "k": k}
        if types:
            params["types"] = ",".join(types)
        if locale:
            params["locale"] = locale
        return self._call("GET", "/v1/resources/search", params=params)

    def similar(self, resource_id: str, k: int = 10) -> dict[str, Any]:
        return self._call("GET", f"/v1/resources/{_segment(resource_id)}/similar", params={"k": k})

    def resource(self, resource_id: str) -> dict[str, Any]:
        """A platform key: the resource as your users may be served it; an editor key: with its workflow."""
        return self._call("GET", f"/v1/resources/{_segment(resource_id)}")

    def catalog_feed(self, cursor: str | None = None, limit: int | None = None,
                     etag: str | None = None) -> dict[str, Any] | None:
        """One page of the catalog feed (platform keys), with its ``etag``; None when
        ``etag`` is still current (a 304)."""
        params = {k: v for k, v in (("cursor", cursor), ("limit", limit)) if v is not None}
        headers = {"If-None-Match": etag} if etag else {}
        response = self.session.get(self.base_url + "/v1/catalog/feed", params=params, headers=headers,
                                    timeout=self.timeout)
        if response.status_code == 304:
            return None
        page: dict[str, Any] = self._read(response)
        page["etag"] = response.headers.get("ETag")
        return page

    def sync_catalog(self, apply: Callable[[list[dict[str, Any]]], None], cursor: str | None = None,
                     limit: int | None = None) -> str:
        """Follow the feed from ``cursor`` (None: the whole catalog) to its end, handing each
        page's entries to ``apply`` (``deleted`` ones are tombstones); returns the cursor to
        poll with next time."""
        while True:
            page = self.catalog_feed(cursor, limit)
            assert page is not None  # no etag was sent
            apply(page["items"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return str(cursor)

    # --- editors ---
    def list_resources(self, **filters: Any) -> dict[str, Any]:
        return self._call("GET", "/v1/resources", params=filters)

    def create_resource(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/v1/resources", json=dict(resource))

    def patch_resource(self, resource_id: str, changes: Mapping[str, Any], version: int) -> dict[str, Any]:
        """Optimistic concurrency: ``version`` is the one you read; a stale one is a 409."""
        return self._call("PATCH", f"/v1/resources/{_segment(resource_id)}", json=dict(changes),
                          headers={"If-Match": f'"{version}"'})

    def review_resource(self, resource_id: str, action: str, **extra: Any) -> dict[str, Any]:
        """``action``: submit, approve, reject, retire or unretire."""
        return self._call("POST", f"/v1/resources/{_segment(resource_id)}/review", json={"action": action, **extra})

    def analytics_resources(self, since: date | None = None, until: date | None = None) -> dict[str, Any]:
        params = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
        return self._call("GET", "/v1/analytics/resources", params=params)

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")
