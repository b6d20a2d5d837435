"""Workspace use cases (seed 000): create one (its API key shown once), check an API key."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import IntegrityError

from agentplane.contracts.errors import conflict, unauthorized
from agentplane.contracts.workspaces import (
    AuthenticateWorkspace,
    CreateWorkspace,
    WorkspaceCreated,
    WorkspaceIdentity,
)
from agentplane.registry.application import Registry
from agentplane.registry.domain import Workspace
from agentplane.registry.domain.workspace import external_id
from agentplane.registry.projections import WORKSPACE, WORKSPACE_KEY
from agentplane.security import is_well_formed, keyed_hash, new_secret, public_prefix

API_KEY_PREFIX = "pc_"


class Workspaces:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def create_workspace(self, cmd: CreateWorkspace) -> tuple[WorkspaceCreated, int]:
        key = self.registry.key

        def create() -> tuple[WorkspaceCreated, list[Any]]:
            api_key = new_secret(API_KEY_PREFIX)
            workspace = Workspace.create(
                cmd.name,
                cmd.tier.value,
                keyed_hash(api_key, key),
                public_prefix(api_key, API_KEY_PREFIX),
            )
            created = WorkspaceCreated(
                workspace_id=external_id(workspace.id),
                workspace_name=workspace.name,
                tier=cmd.tier,
                api_key=api_key,
            )
            return created, [workspace]

        try:
            return self.registry.once(cmd.idempotency, WorkspaceCreated, create)
        except IntegrityError:
            raise conflict("Workspace with this name already exists", field="name") from None

    def authenticate_workspace(self, query: AuthenticateWorkspace) -> WorkspaceIdentity:
        if not is_well_formed(query.api_key, API_KEY_PREFIX):
            raise unauthorized("Invalid API key")
        with self.registry.views.read() as tx:
            link = tx.get(WORKSPACE_KEY, keyed_hash(query.api_key, self.registry.key))
            workspace = tx.get(WORKSPACE, link["workspace_id"]) if link else None
        if workspace is None:
            raise unauthorized("Invalid API key")
        return WorkspaceIdentity.model_validate(workspace)
