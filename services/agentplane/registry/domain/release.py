"""Signed agent releases of a workspace (seed 003): one catalog aggregate per workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from agentplane.contracts.semver import precedence

_CATALOG_NS = uuid5(NAMESPACE_URL, "agentplane:release-catalog")


def catalog_id(workspace_id: str) -> UUID:
    """Deterministic, so two first publishes of a workspace conflict instead of forking."""
    return uuid5(_CATALOG_NS, workspace_id)


class ReleaseExists(Exception):
    """A release of equal semver precedence is already published: releases are immutable."""


class ReleaseCatalog(Aggregate):
    """Every release a workspace has published; a published release never changes."""

    TOPIC = "registry.ReleaseCatalog"

    class Created(Aggregate.Created):
        TOPIC = "release_catalog.Opened"
        workspace_id: str

    class ReleasePublished(Aggregate.Event):
        """The control plane signed `signed_payload` (canonical JSON of version, url, sha256)."""

        TOPIC = "release_catalog.ReleasePublished"
        workspace_id: str
        version: str
        url: str
        sha256: str
        signature: str
        signed_payload: str
        published_at: datetime

    def __init__(self, workspace_id: str) -> None:
        self.workspace_id = workspace_id
        self.releases: list[dict[str, Any]] = []

    @classmethod
    def open(cls, workspace_id: str) -> ReleaseCatalog:
        return cls._create(cls.Created, id=catalog_id(workspace_id), workspace_id=workspace_id)

    def publish(
        self,
        version: str,
        url: str,
        sha256: str,
        signature: str,
        signed_payload: str,
        published_at: datetime,
    ) -> None:
        rank = precedence(version)
        if any(precedence(r["version"]) == rank for r in self.releases):
            raise ReleaseExists(version)
        self._publish(
            workspace_id=self.workspace_id,
            version=version,
            url=url,
            sha256=sha256,
            signature=signature,
            signed_payload=signed_payload,
            published_at=published_at,
        )

    @event(ReleasePublished)
    def _publish(
        self,
        workspace_id: str,
        version: str,
        url: str,
        sha256: str,
        signature: str,
        signed_payload: str,
        published_at: datetime,
    ) -> None:
        self.releases.append(
            {
                "version": version,
                "url": url,
                "sha256": sha256,
                "signature": signature,
                "signed_payload": signed_payload,
                "published_at": published_at,
            }
        )

    def newest_not_older_than(self, version: str | None) -> dict[str, Any] | None:
        """The highest release, unless it is older than `version` (agents never roll back)."""
        if not self.releases:
            return None
        newest = max(self.releases, key=lambda r: precedence(r["version"]))
        if version is not None and precedence(newest["version"]) < precedence(version):
            return None
        return newest
