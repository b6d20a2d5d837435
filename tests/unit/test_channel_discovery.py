"""What `GET /v1/agent-channel` tells an agent: NATS URLs without credentials, the WebSocket
URL, and its own dialect's heartbeat interval."""

from __future__ import annotations

import uuid

from agentplane.contracts.channel import ChannelAdmission
from agentplane.gateway.routers.channel import channel_info
from agentplane.settings import Settings

AGENT = uuid.UUID("0b5c3f7e-8f5a-4c43-9d77-6a2c1f0e9a11")


def settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "nats_url": "nats://agentplane-service:s3cret@127.0.0.1:4222",
        "heartbeat_interval_seconds": 30.0,
        "device_heartbeat_interval_seconds": 12.0,
        "orchestrator_heartbeat_interval_seconds": 45,
    }
    return Settings.model_validate({**base, **values})


def info(dialect: str, **values: object) -> dict[str, object]:
    admission = ChannelAdmission(agent_id=AGENT, dialect=dialect)
    return channel_info(settings(**values), admission).model_dump(mode="json", by_alias=True)


def test_the_gateways_nats_url_without_its_credentials() -> None:
    found = info("device")
    assert found["natsUrls"] == ["nats://127.0.0.1:4222"]
    assert found["natsWebsocketUrl"] is None
    assert found["httpChannelUrl"] == f"/v1/agents/{AGENT}/channel"
    assert found["inboxSubject"] == f"ap.inbox.{AGENT}"
    assert found["publishPrefix"] == f"ap.agent.{AGENT}"


def test_agent_facing_urls_from_settings() -> None:
    found = info(
        "device",
        agent_nats_url="tls://u:p@nats-a.example:4222, tls://nats-b.example:4222",
        nats_websocket_port=9222,
    )
    assert found["natsUrls"] == ["tls://nats-a.example:4222", "tls://nats-b.example:4222"]
    assert found["natsWebsocketUrl"] == "ws://127.0.0.1:9222"
    explicit = info("device", agent_nats_websocket_url="wss://hub.example/nats")
    assert explicit["natsWebsocketUrl"] == "wss://hub.example/nats"


def test_the_interval_is_the_agents_dialects() -> None:
    assert info("device")["heartbeatIntervalSeconds"] == 12.0
    assert info("orchestrator")["heartbeatIntervalSeconds"] == 45.0
    assert info("v1")["heartbeatIntervalSeconds"] == 30.0
