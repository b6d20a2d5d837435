"""The eventsourcing Application base every service uses, configured from settings."""

from __future__ import annotations

from typing import Any, ClassVar

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Transcoding
from eventsourcing.utils import Environment, EnvType

from agentplane.eventstore.integration import Translator
from agentplane.settings import SharedSettings


class InMemoryStoreRefused(RuntimeError):
    """Raised when an event store would silently live in memory outside a test."""


def store_env(
    settings: SharedSettings, app_name: str, *, schema: str | None = None
) -> dict[str, str]:
    """Persistence settings for one application: a SQLite file per app, or PostgreSQL."""
    env: dict[str, str] = {
        "AGGREGATE_CACHE_MAXSIZE": "10000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        # Commands mutate what they get; a copy keeps a failed or concurrent command from
        # leaving unsaved state in the cache.
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
    }
    if settings.event_store == "postgres":
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=settings.postgres_db,
            POSTGRES_HOST=settings.postgres_host,
            POSTGRES_PORT=str(settings.postgres_port),
            POSTGRES_USER=settings.postgres_user,
            POSTGRES_PASSWORD=settings.postgres_password,
            POSTGRES_CONNECT_TIMEOUT="5",
            POSTGRES_POOL_SIZE="5",
            POSTGRES_MAX_OVERFLOW="10",
        )
        if schema:
            env["POSTGRES_SCHEMA"] = schema
    else:
        path = settings.service_data_dir() / f"{app_name}.sqlite"
        env.update(
            PERSISTENCE_MODULE="eventsourcing.sqlite",
            SQLITE_DBNAME=str(path),
            SQLITE_LOCK_TIMEOUT="10",
        )
    return env


class ServiceApplication(Application[Any]):
    """An Application that refuses in-memory persistence unless a test asks for it.

    Subclasses set `name` (it names the SQLite file and the PostgreSQL tables), their
    service's `translator` (its `translate.py`: recorded events → typed public events) and
    may add `transcodings`.
    """

    transcodings: ClassVar[tuple[Transcoding, ...]] = ()
    translator: ClassVar[Translator | None] = None

    def __init__(self, env: EnvType | None = None, *, allow_memory: bool = False) -> None:
        self.allow_memory = allow_memory
        merged = dict(env or {})
        if allow_memory:
            merged.setdefault("PERSISTENCE_MODULE", "eventsourcing.popo")
        super().__init__(merged)

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        # Checked on the resolved environment: `<APP>_PERSISTENCE_MODULE` and os.environ
        # take part in eventsourcing's lookup, not only the env argument.
        module = env.get("PERSISTENCE_MODULE") or "eventsourcing.popo"
        if module == "eventsourcing.popo" and not self.allow_memory:
            raise InMemoryStoreRefused(
                f"{self.name}: refusing to keep the event store in memory; "
                "configure SQLite or PostgreSQL"
            )
        return super().construct_factory(env)

    def register_transcodings(self, transcoder: Any) -> None:
        super().register_transcodings(transcoder)
        for transcoding in self.transcodings:
            transcoder.register(transcoding)

    @classmethod
    def from_settings(cls, settings: SharedSettings, **kwargs: Any) -> ServiceApplication:
        return cls(
            store_env(settings, cls.name), allow_memory=settings.allow_memory_store, **kwargs
        )
