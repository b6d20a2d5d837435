"""Which state a PAP agent is in when the registry's record and the state machine differ.

The lifecycle service's machine decides; the registry's record (NEW or TERMINATED) answers
for an agent the machine has not taken in yet. Placement is the provisioner's real one when
it has one, and a termination either side knows of counts.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentplane.contracts.agent_states import AgentState, AgentStates, RecordedState


def weighed(machine: AgentState | None, record: RecordedState | None) -> AgentState | None:
    """The agent's state as the seed shows it; None when neither side knows the agent."""
    if record is None:
        return machine
    if machine is None:
        return AgentState(**record.model_dump())
    return machine.model_copy(
        update={
            "terminated_at": machine.terminated_at or record.terminated_at,
            "kubernetes_namespace": machine.kubernetes_namespace or record.kubernetes_namespace,
            "kubernetes_deployment": machine.kubernetes_deployment or record.kubernetes_deployment,
        }
    )


def with_records(states: AgentStates, recorded: Mapping[str, RecordedState]) -> AgentStates:
    """The machine's states, each weighed against the registry's record of the agent."""
    if not recorded:
        return states
    agents = dict(states.agents)
    for agent_id, record in recorded.items():
        state = weighed(agents.get(agent_id), record)
        if state is not None:
            agents[agent_id] = state
    return AgentStates(agents=agents)
