"""Integration events: the envelope on `ap.events.<app>.<type>` and the typed `data` of each type.

One module per producing service holds its public event models; `event_types.EVENT_TYPES` parses
an envelope's `data` into them (upcasting older versions).
"""

from agentplane.contracts.events.envelope import IntegrationEvent
from agentplane.contracts.events.public import Instant, PublicEvent

__all__ = ["Instant", "IntegrationEvent", "PublicEvent"]
