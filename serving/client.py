"""A small Python client for the Solace API, with the API's own names.

    client = SolaceClient("http://127.0.0.1:8000", api_key)
    client.recommendations("u-123", k=5)
    client.send_events([{"event_id": "e1", "user_id": "u-123", ...}])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests


class SolaceError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class SolaceClient:
    def __init__(self, base_url: str, api_key: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
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
        locale: str | None = None, explain: bool = True,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"k": k, "explain": str(explain).lower()}
        if types:
            params["types"] = ",".join(types)
        if locale:
            params["locale"] = locale
        return self._call("GET", f"/v1/users/{user_id}/recommendations", params=params)

    def recommend(self, **body: Any) -> dict[str, Any]:
        """POST /v1/recommendations: user_id, features, locale, age_band, context, k, types."""
        return self._call("POST", "/v1/recommendations", json=body)

    def send_events(self, events: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return self._call("POST", "/v1/events", json={"events": list(events)})

    def put_user(self, user_id: str, **profile: Any) -> dict[str, Any]:
        return self._call("PUT", f"/v1/users/{user_id}", json=profile)

    def delete_user(self, user_id: str) -> None:
        self._call("DELETE", f"/v1/users/{user_id}")

    def search(self, q: str, k: int = 10) -> dict[str, Any]:
        return self._call("GET", "/v1/resources/search", params={"q": q, "k": k})

    def similar(self, resource_id: str, k: int = 10) -> dict[str, Any]:
        return self._call("GET", f"/v1/resources/{resource_id}/similar", params={"k": k})

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")
