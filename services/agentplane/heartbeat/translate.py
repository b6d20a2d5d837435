"""The heartbeat service's recorded events → their public, typed integration events.

The only module that knows both: domain classes on the left, contracts on the right. A new
recorded event needs a row here (tests/contracts checks every one has).
"""

from __future__ import annotations

from agentplane.contracts.events import heartbeat as public
from agentplane.eventstore.integration import Translator
from agentplane.heartbeat.domain.events import Liveness

TRANSLATOR = Translator(
    {
        Liveness.CameOnline: public.LivenessCameOnline,
        Liveness.Created: public.LivenessTracked,
        Liveness.WentOffline: public.LivenessWentOffline,
    }
)
