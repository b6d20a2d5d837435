"""Registry domain: aggregates and events. Pure: no I/O, no transport."""

from agentplane.registry.domain.agent import Agent, AgentAlreadyRegistered, TokenMismatch
from agentplane.registry.domain.enrollment import EnrollmentToken, TokenNotUsable
from agentplane.registry.domain.workspace import Workspace

__all__ = [
    "Agent",
    "AgentAlreadyRegistered",
    "EnrollmentToken",
    "TokenMismatch",
    "TokenNotUsable",
    "Workspace",
]
