"""The control plane killed a PAP agent: its registry record ends too.

The lifecycle service decides KILLED (an agent UNHEALTHY too long, or a drain that did not
finish) and publishes it as `lifecycle.AgentTransitioned`; this durable consumer terminates
the agent's registry record at the time of the kill, exactly as a user's delete would, so
lists, details, seed 000 and the audit log show it ended and its credentials stop working.
At least once and idempotent: a record already terminated (the delete that drained it, a
redelivery) is left as it is.
"""

from __future__ import annotations

import logging

from agentplane.bus.consumers import durable_subscriber
from agentplane.bus.host import ServiceHost
from agentplane.contracts.agent_states import KILLED
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.events.event_types import EVENT_TYPES
from agentplane.contracts.events.lifecycle import AgentTransitioned
from agentplane.contracts.lifecycle_events import AGENT_TRANSITIONED
from agentplane.contracts.pap import TerminatePapAgent
from agentplane.contracts.streams import EVENTS_STREAM
from agentplane.contracts.subjects import Events
from agentplane.registry.dialects.pap import PapAgents
from agentplane.registry.dispatch import Dispatch

log = logging.getLogger("agentplane.registry")

KILLS_CONSUMER = "registry-lifecycle-kills"
TRANSITIONS = Events.subject("lifecycle", AGENT_TRANSITIONED)


def killed(body: bytes) -> AgentTransitioned | None:
    """The transition in `body` when it is a kill (None: anything else)."""
    event = IntegrationEvent.model_validate_json(body)
    if event.type != AGENT_TRANSITIONED:
        return None
    transition = EVENT_TYPES.parse_as(event, AgentTransitioned)
    return transition if transition.to_state == KILLED else None


def register_lifecycle_kills(host: ServiceHost, pap: PapAgents, dispatch: Dispatch) -> None:
    async def on_transition(body: bytes, _sequence: int) -> None:
        kill = killed(body)
        if kill is None:
            return
        cmd = TerminatePapAgent(workspace_id=kill.workspace_id, agent_id=kill.agent_id)
        try:
            await dispatch.command(lambda c: pap.terminate(c, at=kill.at), cmd)
        except ServiceError as exc:
            if exc.kind != ErrorKind.NOT_FOUND:
                raise  # retried with backoff by the consumer
            # Not (or no longer) a PAP agent of that workspace here: nothing to end.
            log.warning("killed agent %s has no registry record: %s", kill.agent_id, exc)

    durable_subscriber(
        host,
        stream=EVENTS_STREAM,
        subject=TRANSITIONS,
        durable=KILLS_CONSUMER,
        handler=on_transition,
    )
