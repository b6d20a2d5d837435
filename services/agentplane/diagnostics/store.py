"""The diagnostics service's event store: status changes of services (their audit trail)."""

from __future__ import annotations

from agentplane.diagnostics.translate import TRANSLATOR
from agentplane.eventstore.application import ServiceApplication


class DiagnosticsStore(ServiceApplication):
    name = "diagnostics"
    translator = TRANSLATOR
