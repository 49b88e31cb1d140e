"""Re-publishing a version, or rolling back to an older one, keeps the vectors serving had
folded in for users who acted after the version was trained (issue 13, finding 3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.slow


def _events(user: str, items: list[str]) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {"events": [{"event_id": f"e-{uuid.uuid4().hex}", "user_id": user, "resource_id": r, "type": "like",
                        "timestamp": now} for r in items]}


def test_republish_and_rollback_keep_folded_in_users(deployment) -> None:  # type: ignore[no-untyped-def]  # pytest fixtures are untyped
    from serving.app import create_app
    from solace.jobs import publish, train_from_store

    services, result = deployment
    client = create_app(services.settings).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {result.api_key}"
    user = f"late-{uuid.uuid4().hex[:8]}"
    popular = client.get("/v1/users/nobody-at-all/recommendations?k=6").json
    liked = [i["resource_id"] for i in popular["items"] if not i["is_crisis_resource"]][:3]
    assert client.post("/v1/events", json=_events(user, liked)).status_code == 202
    assert client.get(f"/v1/users/{user}/recommendations").json["source"] == "personalised"

    publish(services, result.version)  # the same version again
    assert client.get(f"/v1/users/{user}/recommendations").json["source"] == "personalised"

    other = train_from_store(services, "als", {"factors": 8, "iterations": 3}).version.version
    try:
        publish(services, other)
        body = client.get(f"/v1/users/{user}/recommendations").json
        assert body["model_version"] == other and body["source"] == "personalised"
        publish(services, result.version, action="rollback")  # its hash had no fold-in of this user
        body = client.get(f"/v1/users/{user}/recommendations").json
        assert body["model_version"] == result.version and body["source"] == "personalised"
    finally:
        if services.registry.active() != result.version:
            publish(services, result.version, action="rollback")
