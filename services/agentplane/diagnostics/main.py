"""Composition root of the diagnostics service.

The process joins the system (readiness on its ping subject, supervised by the launcher);
its use cases arrive with the diagnostics issue.
"""

from __future__ import annotations

import asyncio

from agentplane.bus.host import ServiceHost, configure_logging
from agentplane.security.nats_credentials import service_credential
from agentplane.settings import Settings


def build(settings: Settings) -> ServiceHost:
    assert settings.nats_url, "NATS_URL is required"
    return ServiceHost("diagnostics", settings.nats_url, service_credential(settings))


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    asyncio.run(build(settings).serve())


if __name__ == "__main__":
    main()
