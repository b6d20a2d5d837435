"""Every NATS subject agentplane uses. Nobody writes a subject string anywhere else."""

from __future__ import annotations

PREFIX = "ap"

SERVICES = ("registry", "heartbeat", "messaging", "diagnostics", "lifecycle")


def ping(service: str) -> str:
    """Request/reply readiness probe each service answers."""
    return f"{PREFIX}.{service}.ping"


class Registry:
    """Request/reply subjects of the registry service (queue group `registry`)."""

    WORKSPACE_CREATE = f"{PREFIX}.registry.workspace.create"
    WORKSPACE_AUTHENTICATE = f"{PREFIX}.registry.workspace.authenticate"
    AGENT_PROVISION = f"{PREFIX}.registry.agent.provision"
    AGENT_REGISTER = f"{PREFIX}.registry.agent.register"
    AGENT_AUTHENTICATE = f"{PREFIX}.registry.agent.authenticate"
    AGENT_LIST = f"{PREFIX}.registry.agent.list"
    AGENT_GET = f"{PREFIX}.registry.agent.get"
    ENROLLMENT_TOKEN_ISSUE = f"{PREFIX}.registry.enrollment_token.issue"


class Heartbeat:
    """Subjects of the heartbeat service (queue group `heartbeat`)."""

    BEAT = f"{PREFIX}.heartbeat.beat"
    LIVENESS_QUERY = f"{PREFIX}.heartbeat.liveness.query"


class Lifecycle:
    """Subjects of the lifecycle service (queue group `lifecycle`)."""

    AUDIT_LIST = f"{PREFIX}.lifecycle.audit.list"


class Events:
    """Integration events: `ap.events.<app>.<topic>`, captured by the AP_EVENTS stream."""

    ALL = f"{PREFIX}.events.>"
    DEAD_LETTER = f"{PREFIX}.deadletter"

    @staticmethod
    def of_app(app: str) -> str:
        return f"{PREFIX}.events.{app}.>"

    @staticmethod
    def subject(app: str, topic: str) -> str:
        return f"{PREFIX}.events.{app}.{topic}"
