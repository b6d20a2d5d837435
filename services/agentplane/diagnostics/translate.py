"""The diagnostics service's recorded events → their public, typed integration events.

The only module that knows both: domain classes on the left, contracts on the right. A new
recorded event needs a row here (tests/contracts checks every one has).
"""

from __future__ import annotations

from agentplane.contracts.events import diagnostics as public
from agentplane.diagnostics.domain.status_record import ServiceStatusRecord
from agentplane.eventstore.integration import Translator

TRANSLATOR = Translator(
    {
        ServiceStatusRecord.Changed: public.ServiceStatusChanged,
        ServiceStatusRecord.Tracked: public.ServiceStatusTracked,
    }
)
