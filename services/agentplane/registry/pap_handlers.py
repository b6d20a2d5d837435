"""NATS handlers of PAP agents (seed 004): message → use case → reply."""

from __future__ import annotations

from pydantic import BaseModel

from agentplane.bus.handlers import replying
from agentplane.bus.host import ServiceHost
from agentplane.contracts.pap import CreatePapAgent, GetPapAgent, ListPapAgents, TerminatePapAgent
from agentplane.contracts.subjects import Registry as Subjects
from agentplane.registry.dialects.pap import PapAgents
from agentplane.registry.dispatch import Dispatch

# `command` waits until the use case's events are published; `query` only runs it in a thread.


def register_pap_handlers(host: ServiceHost, pap: PapAgents, dispatch: Dispatch) -> None:
    command, query = dispatch.command, dispatch.query

    @replying(CreatePapAgent)
    async def create(cmd: CreatePapAgent) -> BaseModel:
        return await command(pap.create, cmd)

    @replying(ListPapAgents)
    async def list_agents(q: ListPapAgents) -> BaseModel:
        return await query(pap.list, q)

    @replying(GetPapAgent)
    async def get(q: GetPapAgent) -> BaseModel:
        return await query(pap.get, q)

    @replying(TerminatePapAgent)
    async def terminate(cmd: TerminatePapAgent) -> BaseModel:
        return await command(pap.terminate, cmd)

    host.handle(Subjects.PAP_AGENT_CREATE, create)
    host.handle(Subjects.PAP_AGENT_LIST, list_agents)
    host.handle(Subjects.PAP_AGENT_GET, get)
    host.handle(Subjects.PAP_AGENT_TERMINATE, terminate)
