"""The lifecycle domain: the PAP state machine (pure; no I/O, no transport)."""

from agentplane.lifecycle.domain.agent_lifecycle import AgentLifecycle, Step, transition_id
from agentplane.lifecycle.domain.transitions import TRANSITIONS, TransitionRefused, event_type_of

__all__ = [
    "TRANSITIONS",
    "AgentLifecycle",
    "Step",
    "TransitionRefused",
    "event_type_of",
    "transition_id",
]
