"""Use cases of signed agent releases (seed 003): publish and sign, find the update to offer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from agentplane.contracts.device import FindUpdate, PublishRelease, Release, UpdateOffer
from agentplane.contracts.errors import conflict, invalid, unavailable
from agentplane.contracts.semver import is_semver
from agentplane.registry.application import Registry
from agentplane.registry.domain.release import ReleaseCatalog, ReleaseExists, catalog_id
from agentplane.security.signing import SigningKey, canonical_json


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("https", "http") and bool(parts.hostname) and url.strip() == url
    except ValueError:
        return False


def signed_document(version: str, url: str, sha256: str) -> dict[str, str]:
    """Exactly the three fields an agent's update check relies on."""
    return {"version": version, "url": url, "sha256": sha256}


class Releases:
    """Agent releases per workspace, each signed once with that workspace's Ed25519 key."""

    def __init__(self, registry: Registry, signing_key: SigningKey) -> None:
        self.registry = registry
        self.signing_key = signing_key

    def _catalog(self, workspace_id: str) -> ReleaseCatalog | None:
        catalog: ReleaseCatalog | None = self.registry.load(
            catalog_id(workspace_id), to_change=False
        )
        return catalog

    def publish(self, cmd: PublishRelease) -> tuple[Release, int]:
        self.registry.workspace(cmd.workspace_id)
        # http is allowed: the signature over the sha256, not the transport, protects the file.
        if not _is_http_url(cmd.url):
            raise invalid("url must be an http(s) URL", field="url")
        sha256 = cmd.sha256.lower()
        payload = canonical_json(signed_document(cmd.version, cmd.url, sha256))
        # The workspace's own key: another workspace's devices refuse this release.
        signature = self.signing_key.for_workspace(str(cmd.workspace_id)).sign(payload.encode())

        def attempt() -> tuple[Release, list[ReleaseCatalog]]:
            found: ReleaseCatalog | None = self.registry.load(catalog_id(cmd.workspace_id))
            catalog = found or ReleaseCatalog.open(cmd.workspace_id)
            try:
                catalog.publish(
                    cmd.version, cmd.url, sha256, signature, payload, self.registry.clock()
                )
            except ReleaseExists:
                raise conflict(f"Release {cmd.version} already exists", field="version") from None
            return Release.model_validate(catalog.releases[-1]), [catalog]

        return self.registry.update(
            attempt, lambda: unavailable("Releases are being published concurrently, try again")
        )

    def find_update(self, query: FindUpdate) -> UpdateOffer:
        if query.agent_version is not None and not is_semver(query.agent_version):
            # Without a comparable version no offer can be proven not to be a rollback.
            return UpdateOffer(release=None)
        catalog = self._catalog(query.workspace_id)
        newest: dict[str, Any] | None = (
            catalog.newest_not_older_than(query.agent_version) if catalog else None
        )
        return UpdateOffer(release=Release.model_validate(newest) if newest else None)
