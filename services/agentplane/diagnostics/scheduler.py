"""Periodic hub checks of every catalog service: each service at its own phase within the
interval (so 1,000 services do not all fire at once), a bounded number at a time, one check
per service in flight. New services are checked at once."""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import time
from collections import deque

from agentplane.contracts.diagnostics import SchedulerStats
from agentplane.contracts.services import ServiceProtocol, ServiceRecord
from agentplane.diagnostics.application import Diagnostics
from agentplane.diagnostics.checker import HubChecker

log = logging.getLogger("agentplane.diagnostics.scheduler")

TICK_SECONDS = 0.5
RELOAD_SECONDS = 10.0


class Scheduler:
    def __init__(
        self, app: Diagnostics, checker: HubChecker, interval: float, concurrency: int
    ) -> None:
        self.app = app
        self.checker = checker
        self.interval = interval
        self.slots = asyncio.Semaphore(concurrency)
        self.due: dict[str, float] = {}
        self.services: dict[str, ServiceRecord] = {}
        self.in_flight: set[str] = set()
        self.reload = asyncio.Event()
        self.checks_done = 0
        self.late_seconds_max = 0.0
        # Seconds per check (probe and record), the most recent ones.
        self.durations: deque[float] = deque(maxlen=5000)

    def stats(self) -> SchedulerStats:
        durations = sorted(self.durations)
        p50 = p99 = None
        if durations:
            p50 = statistics.median(durations) * 1000
            p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))] * 1000
        return SchedulerStats(
            running=self.interval > 0,
            interval_seconds=self.interval,
            services=len(self.services),
            checks_done=self.checks_done,
            late_seconds_max=round(self.late_seconds_max, 3),
            latency_ms_p50=p50,
            latency_ms_p99=p99,
        )

    def soon(self, service_ids: list[str]) -> None:
        """Check these at the next tick (new services; the catalog changed)."""
        now = time.monotonic()
        for service_id in service_ids:
            self.due[service_id] = now
        self.reload.set()

    async def _load(self) -> None:
        services = await asyncio.to_thread(self.app.services_to_check)
        now = time.monotonic()
        self.services = {s.id: s for s in services if s.protocol != ServiceProtocol.UDP}
        for service_id in self.services:
            # A random phase spreads the first round over the interval.
            self.due.setdefault(service_id, now + random.uniform(0, self.interval))
        for gone in set(self.due) - set(self.services):
            del self.due[gone]

    async def run(self) -> None:
        if self.interval <= 0:
            return
        tasks: set[asyncio.Task[None]] = set()
        loaded = 0.0
        while True:
            if self.reload.is_set() or time.monotonic() - loaded > RELOAD_SECONDS:
                self.reload.clear()
                try:
                    await self._load()
                    loaded = time.monotonic()
                except Exception:
                    log.exception("could not read the services to check")
            now = time.monotonic()
            for service_id, due in list(self.due.items()):
                service = self.services.get(service_id)
                if due > now or service is None or service_id in self.in_flight:
                    continue
                self.late_seconds_max = max(self.late_seconds_max, now - due)
                self.due[service_id] = (
                    due + self.interval if now - due < self.interval else (now + self.interval)
                )
                self.in_flight.add(service_id)
                task = asyncio.create_task(self._check(service))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            try:
                await asyncio.wait_for(self.reload.wait(), TICK_SECONDS)
            except TimeoutError:
                pass

    async def _check(self, service: ServiceRecord) -> None:
        try:
            async with self.slots:
                started = time.perf_counter()
                result = await self.checker.check(service)
                await asyncio.to_thread(self.app.record_check, service, result)
                self.durations.append(time.perf_counter() - started)
                self.checks_done += 1
        except Exception:
            log.exception("periodic check of %s failed", service.id)
        finally:
            self.in_flight.discard(service.id)
