"""Rebuilding read models from position 0 into scratch storage, and comparing them."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.application import Application

from agentplane.contracts.events import IntegrationEvent
from agentplane.eventstore.application import ServiceApplication
from agentplane.eventstore.integration import to_integration
from agentplane.eventstore.projection import Projection
from agentplane.eventstore.views import Row, SQLiteViewStore, ViewStore, ViewTx, open_view_store
from agentplane.settings import SharedSettings


@dataclass(frozen=True)
class ReplayResult:
    """One read model rebuilt and compared with its live copy."""

    view: str
    events: int
    seconds: float
    rows: int
    differences: int

    @property
    def identical(self) -> bool:
        return self.differences == 0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


def compare(live: list[Row], rebuilt: list[Row]) -> int:
    """How many rows differ (missing on either side, or with other content)."""
    return len(set(live) ^ set(rebuilt))


def rebuild_local(
    view: str,
    app: Application[Any],
    projection: Projection,
    live: ViewStore,
    scratch: ViewStore,
    batch_size: int = 2000,
) -> ReplayResult:
    """Replay `app`'s log into `scratch` up to the position the live view has reached."""
    tracking = f"projection:{projection.name}"
    stop = live.position(tracking)
    started = time.perf_counter()
    position, count = 0, 0
    while position < stop:
        notifications = app.recorder.select_notifications(
            position, batch_size, stop=stop, inclusive_of_start=False
        )
        if not notifications:
            break
        with scratch.transaction() as tx:
            for notification in notifications:
                projection.apply(app.mapper.to_domain_event(notification), tx)
            tx.set_position(tracking, notifications[-1].id)
        position = notifications[-1].id
        count += len(notifications)
    seconds = time.perf_counter() - started
    rebuilt = scratch.dump()
    return ReplayResult(view, count, seconds, len(rebuilt), compare(live.dump(), rebuilt))


def integration_events(
    app: Application[Any], stop: int | None = None, batch_size: int = 2000
) -> Iterator[IntegrationEvent]:
    """Every recorded event of `app` in its public form, in notification order."""
    position = 0
    name = app.name.lower()
    translator = getattr(app, "translator", None)
    while True:
        notifications = app.recorder.select_notifications(
            position, batch_size, stop=stop, inclusive_of_start=False
        )
        if not notifications:
            return
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            yield to_integration(name, notification.id, event, translator)
        position = notifications[-1].id


def rebuild_from_integration(
    view: str,
    apply: Any,
    events: Iterable[IntegrationEvent],
    live: ViewStore,
    scratch: ViewStore,
    batch_size: int = 2000,
) -> ReplayResult:
    """Replay integration events through `apply(event, tx)` into scratch; compare with live."""
    started = time.perf_counter()
    count = 0
    batch: list[IntegrationEvent] = []

    def flush() -> None:
        tx: ViewTx
        with scratch.transaction() as tx:
            for event in batch:
                apply(event, tx)
        batch.clear()

    for event in events:
        batch.append(event)
        count += 1
        if len(batch) >= batch_size:
            flush()
    flush()
    seconds = time.perf_counter() - started
    rebuilt = scratch.dump()
    return ReplayResult(view, count, seconds, len(rebuilt), compare(live.dump(), rebuilt))


def verify_service_view(
    settings: SharedSettings,
    service: str,
    store_class: type[ServiceApplication],
    projection: Projection,
    scratch_dir: Path,
) -> ReplayResult:
    """Rebuild a service's local view from its own event store and compare with the live one."""
    store = store_class.from_settings(settings)
    live = open_view_store(settings, service)
    scratch = SQLiteViewStore(scratch_dir / f"{service}_views.sqlite")
    try:
        return rebuild_local(service, store, projection, live, scratch)
    finally:
        live.close()
        scratch.close()


def published_service_events(
    settings: SharedSettings, service: str, store_class: type[ServiceApplication]
) -> Iterator[IntegrationEvent]:
    """A service's events that its relay has published so far (what subscribers have seen)."""
    store = store_class.from_settings(settings)
    live = open_view_store(settings, service)
    stop = live.position(f"relay:{store.name.lower()}")
    live.close()
    return integration_events(store, stop=stop)
