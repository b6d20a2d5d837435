"""NATS handlers of the service catalog (seed 001) and the edge's routing table."""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import EncodedData, replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.services import (
    CheckSubdomain,
    CreateExternalService,
    DeleteService,
    GetService,
    ListServices,
    RegisterService,
    RenameService,
    SetSubdomain,
)
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.contracts.tunnels import TunnelRoutesQuery, Tunnels
from agentplane.registry.catalog.services import Catalog
from agentplane.registry.dispatch import Dispatch


def register_catalog_handlers(host: ServiceHost, catalog: Catalog, dispatch: Dispatch) -> None:
    command, query = dispatch.command, dispatch.query

    @replying(RegisterService)
    async def register(cmd: RegisterService) -> BaseModel:
        return await command(catalog.register, cmd)

    @replying(CreateExternalService)
    async def create_external(cmd: CreateExternalService) -> BaseModel:
        return await command(catalog.create_external, cmd)

    @replying(GetService)
    async def get(q: GetService) -> BaseModel:
        return await query(catalog.get, q)

    @replying(ListServices)
    async def list_services(q: ListServices) -> EncodedData:
        return EncodedData(await query(catalog.list_encoded, q))

    @replying(RenameService)
    async def rename(cmd: RenameService) -> BaseModel:
        return await command(catalog.rename, cmd)

    @replying(DeleteService)
    async def delete(cmd: DeleteService) -> BaseModel:
        return await command(catalog.delete, cmd)

    @replying(SetSubdomain)
    async def set_subdomain(cmd: SetSubdomain) -> BaseModel:
        return await command(catalog.set_subdomain, cmd)

    @replying(CheckSubdomain)
    async def check_subdomain(q: CheckSubdomain) -> BaseModel:
        return await query(catalog.check_subdomain, q)

    @replying(TunnelRoutesQuery)
    async def routes(q: TunnelRoutesQuery) -> BaseModel:
        return await query(catalog.routes, q)

    table = {
        Subjects.SERVICE_REGISTER: register,
        Subjects.SERVICE_CREATE_EXTERNAL: create_external,
        Subjects.SERVICE_GET: get,
        Subjects.SERVICE_LIST: list_services,
        Subjects.SERVICE_RENAME: rename,
        Subjects.SERVICE_DELETE: delete,
        Subjects.SERVICE_SET_SUBDOMAIN: set_subdomain,
        Subjects.SERVICE_CHECK_SUBDOMAIN: check_subdomain,
        Tunnels.ROUTES: routes,
    }
    for subject, handler in table.items():
        host.handle(subject, handler)
