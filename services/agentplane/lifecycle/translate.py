"""The lifecycle service's recorded events → their public, typed integration events.

The only module that knows both: domain classes on the left, contracts on the right. A new
recorded event needs a row here (tests/contracts checks every one has).
"""

from __future__ import annotations

from agentplane.contracts.events import lifecycle as public
from agentplane.eventstore.integration import Translator
from agentplane.lifecycle.domain.agent_lifecycle import AgentLifecycle

TRANSLATOR = Translator(
    {
        AgentLifecycle.Tracked: public.AgentTracked,
        AgentLifecycle.Transitioned: public.AgentTransitioned,
    }
)
