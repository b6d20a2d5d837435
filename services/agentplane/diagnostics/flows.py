"""Diagnostics request flows: ask the registry for the service (always current), run the hub
or reach check, record through the use cases (`application`), answer; apply followed events."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime

from pydantic import BaseModel, ValidationError

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import AgentRecord, GetAgent
from agentplane.contracts.diagnostics import (
    CheckAnswer,
    Diagnostic,
    DiagnosticList,
    HistoryQuery,
    Perspective,
    ReachAnswer,
    ReachSession,
    RunCheck,
    RunReach,
    SchedulerStatsQuery,
    SessionList,
    SessionOutcome,
    SessionsQuery,
)
from agentplane.contracts.events import IntegrationEvent
from agentplane.contracts.service_health import ServiceHealthQuery, ServiceHealthReport
from agentplane.contracts.services import GetService, ServiceRecord
from agentplane.contracts.subjects import Registry
from agentplane.diagnostics.application import DIAGNOSTIC, SESSION, Diagnostics, diagnostic_of
from agentplane.diagnostics.checker import HubChecker
from agentplane.diagnostics.reach import ReachChecks
from agentplane.diagnostics.scheduler import Scheduler
from agentplane.eventstore.relay import OutboxRelay
from agentplane.probes.connectivity import ProbeResult

log = logging.getLogger("agentplane.diagnostics")


class DiagnosticsFlows:
    """The handler table's use cases: async, each runs its recording in a thread."""

    def __init__(
        self,
        app: Diagnostics,
        bus: BusClient,
        checker: HubChecker,
        reach: ReachChecks,
        scheduler: Scheduler,
        relay: OutboxRelay,
    ) -> None:
        self.app = app
        self.bus = bus
        self.checker = checker
        self.reach = reach
        self.scheduler = scheduler
        self.relay = relay

    async def _service(self, workspace_id: str, service_id: str) -> ServiceRecord:
        # The registry's answer is current (this service's view follows events).
        data = await self.bus.request(
            Registry.SERVICE_GET, GetService(workspace_id=workspace_id, service_id=service_id)
        )
        return ServiceRecord.model_validate(data)

    async def health(self, query: ServiceHealthQuery) -> BaseModel:
        found = await asyncio.to_thread(self.app.health, query.service_ids)
        return ServiceHealthReport(services=found)

    async def check(self, request: RunCheck) -> BaseModel:
        service = await self._service(request.workspace_id, request.service_id)
        result = await self.checker.check(service)
        diagnostic, health = await asyncio.to_thread(self.app.record_check, service, result)
        self.relay.wake()
        return CheckAnswer(diagnostic=diagnostic, health=health)

    async def history(self, query: HistoryQuery) -> BaseModel:
        await self._service(query.workspace_id, query.service_id)
        docs = await asyncio.to_thread(self.app.history, DIAGNOSTIC, query.service_id, query.limit)
        return DiagnosticList(diagnostics=[Diagnostic.model_validate(d) for d in docs])

    async def sessions(self, query: SessionsQuery) -> BaseModel:
        await self._service(query.workspace_id, query.service_id)
        docs = await asyncio.to_thread(self.app.history, SESSION, query.service_id, query.limit)
        return SessionList(sessions=[ReachSession.model_validate(d) for d in docs])

    async def run_reach(self, request: RunReach) -> BaseModel:
        service = await self._service(request.workspace_id, request.service_id)
        agent = AgentRecord.model_validate(
            await self.bus.request(
                Registry.AGENT_GET,
                GetAgent(workspace_id=request.workspace_id, agent_id=request.source_agent_id),
            )
        )
        name = agent.name or agent.label or str(agent.id)
        started = datetime.now(UTC)
        outcome = await self.reach.run(service, str(agent.id), request.mode, request.timeout_ms)
        diagnostic = None
        if outcome.result is not None:
            found = ProbeResult(
                **outcome.result.model_dump(exclude={"check_id"}), checked_at=datetime.now(UTC)
            )
            diagnostic = diagnostic_of(service.id, found, Perspective.AGENT, str(agent.id), name)
            result = SessionOutcome.FAILURE if found.failure else SessionOutcome.SUCCESS
            error = found.failure
        elif outcome.refused is not None:
            result, error = SessionOutcome.FAILURE, outcome.refused
        else:
            result = SessionOutcome.TIMEOUT
            error = f"no result from the agent within {request.timeout_ms} ms"
        session = ReachSession(
            id=f"sess_{secrets.token_hex(12)}",
            service_id=service.id,
            source_agent_id=agent.id,
            source_agent=name,
            mode=request.mode,
            outcome=result,
            diagnostic_id=diagnostic.id if diagnostic else None,
            started_at=started,
            ended_at=datetime.now(UTC),
            error=error if result != SessionOutcome.SUCCESS else None,
        )
        await asyncio.to_thread(self.app.record_reach, service, diagnostic, session)
        return ReachAnswer(diagnostic=diagnostic, session=session)

    async def scheduler_stats(self, _: SchedulerStatsQuery) -> BaseModel:
        return self.scheduler.stats()

    async def on_events(self, items: list[tuple[bytes, int]]) -> None:
        events: list[tuple[IntegrationEvent, int]] = []
        for body, sequence in items:
            try:
                events.append((IntegrationEvent.model_validate_json(body), sequence))
            except ValidationError:
                log.warning("event %d is not an integration event; skipped", sequence)
        if not events:
            return
        touched = await asyncio.to_thread(self.app.apply_events, events)
        if touched:
            self.relay.wake()
            self.scheduler.soon(touched)

    async def on_event(self, body: bytes, sequence: int) -> None:
        await self.on_events([(body, sequence)])
