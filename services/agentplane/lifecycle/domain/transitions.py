"""The PAP lifecycle's transition table (seed 004): which moves exist, what each is called,
and who may cause it. Anything not listed is refused.

    (none)                         → NEW          CREATED          user
    NEW                            → PROVISIONED  PROVISIONED      provisioner
    NEW, PROVISIONED               → ACTIVE       ACTIVATED        heartbeat (first beat)
    ACTIVE                         → UNHEALTHY    AGENT_UNHEALTHY  system (missed interval, 480)
    UNHEALTHY                      → ACTIVE       RECOVERED        heartbeat (next beat)
    NEW, PROVISIONED, ACTIVE,
      UNHEALTHY                    → DRAINING     DRAINING         user (delete) or system
    DRAINING                       → TERMINATED   TERMINATED       user, system, provisioner
    NEW, PROVISIONED, ACTIVE,
      UNHEALTHY                    → TERMINATED   TERMINATED       user (a delete by another path)
    UNHEALTHY, DRAINING            → KILLED       KILLED           system only (seed 004: only
                                                                   the control plane kills)

TERMINATED and KILLED are final.
"""

from __future__ import annotations

from agentplane.contracts.agent_states import (
    ACTIVATED,
    ACTIVE,
    AGENT_UNHEALTHY,
    CREATED,
    DRAINING,
    KILLED,
    NEW,
    PROVISIONED,
    RECOVERED,
    TERMINATED,
    UNHEALTHY,
)
from agentplane.contracts.lifecycle_events import TriggeredBy

USER, SYSTEM = TriggeredBy.USER.value, TriggeredBy.SYSTEM.value
HEARTBEAT, PROVISIONER = TriggeredBy.HEARTBEAT.value, TriggeredBy.PROVISIONER.value
LIVE = (NEW, PROVISIONED, ACTIVE, UNHEALTHY)

# (from, to) → (event type, who may cause it)
TRANSITIONS: dict[tuple[str | None, str], tuple[str, frozenset[str]]] = {
    (None, NEW): (CREATED, frozenset({USER})),
    (NEW, PROVISIONED): (PROVISIONED, frozenset({PROVISIONER})),
    (NEW, ACTIVE): (ACTIVATED, frozenset({HEARTBEAT})),
    (PROVISIONED, ACTIVE): (ACTIVATED, frozenset({HEARTBEAT})),
    (ACTIVE, UNHEALTHY): (AGENT_UNHEALTHY, frozenset({SYSTEM})),
    (UNHEALTHY, ACTIVE): (RECOVERED, frozenset({HEARTBEAT})),
    **{(s, DRAINING): (DRAINING, frozenset({USER, SYSTEM})) for s in LIVE},
    (DRAINING, TERMINATED): (TERMINATED, frozenset({USER, SYSTEM, PROVISIONER})),
    **{(s, TERMINATED): (TERMINATED, frozenset({USER})) for s in LIVE},
    (UNHEALTHY, KILLED): (KILLED, frozenset({SYSTEM})),
    (DRAINING, KILLED): (KILLED, frozenset({SYSTEM})),
}


class TransitionRefused(Exception):
    """The move is not in the table, or the one asking may not cause it."""


def event_type_of(from_state: str | None, to_state: str, triggered_by: str) -> str:
    """The event type of an allowed move; TransitionRefused for any other."""
    allowed = TRANSITIONS.get((from_state, to_state))
    if allowed is None:
        raise TransitionRefused(f"{from_state} → {to_state} is not a lifecycle transition")
    event_type, who = allowed
    if triggered_by not in who:
        raise TransitionRefused(f"{from_state} → {to_state} cannot be caused by {triggered_by}")
    return event_type
