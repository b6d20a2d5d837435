"""`agentplane agent …`: run the reference agent, check for a signed update, simulate a fleet."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from agentplane.agent.state import DEFAULT_STATE_DIR

agent_app = typer.Typer(no_args_is_help=True, help="The reference agent.")

StateDirOption = Annotated[Path, typer.Option("--state-dir", help="Identity and state (0700)")]


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    # httpx logs every request URL at INFO; the agent's own lines say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@agent_app.command("run")
def run(
    server: Annotated[str | None, typer.Option(help="Gateway URL")] = None,
    enrollment_token: Annotated[
        str | None, typer.Option(help="One-time seed 003 enrollment token (first run only)")
    ] = None,
    agent_id: Annotated[str | None, typer.Option(help="Seed 000 agent id")] = None,
    token: Annotated[str | None, typer.Option(help="Seed 000 agent token")] = None,
    registration_token: Annotated[
        str | None,
        typer.Option(help="One-time seed 002 registration token (first run only)"),
    ] = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    name: Annotated[str | None, typer.Option(help="A name for this agent")] = None,
    capability: Annotated[
        list[str] | None, typer.Option("--capability", help="What it offers (repeatable)")
    ] = None,
    nats_url: Annotated[
        list[str] | None,
        typer.Option("--nats-url", help="NATS URL when channel discovery is unavailable"),
    ] = None,
    task_source: Annotated[
        list[str] | None,
        typer.Option(
            "--task-source",
            help="Seed 002: heartbeat, poll, stream (repeatable; default all). Tasks in "
            "heartbeat answers are always run: the hub leased them to this agent.",
        ),
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            "--allow",
            help="HOST:PORT a tunnel may reach (repeatable); with none, what the hub's "
            "service registrations name",
        ),
    ] = None,
    pap: Annotated[
        str | None,
        typer.Option(
            "--pap",
            help="Seed 004 PAP mode: this agent's UUID; the workspace key comes from "
            "$AGENTPLANE_PAP_API_KEY (what the local provisioner starts)",
        ),
    ] = None,
    pap_mode: Annotated[
        str, typer.Option("--pap-mode", help="PAP heartbeat mode: EMERGENCY, IDLE or SLEEP")
    ] = "IDLE",
) -> None:
    """Enroll (seed 003) or register (seed 002) on first run, or use a seed 000 identity; then
    heartbeat and serve the channel (and, for seed 002, the task poll and stream). With
    `--pap`, beat and report metrics as a seed 004 PAP agent instead."""
    if pap is not None:
        _run_pap(server, pap, pap_mode)
        return
    from agentplane.agent.enrollment import NoIdentity, obtain_identity
    from agentplane.agent.orchestrator_tasks import SOURCES
    from agentplane.agent.runtime import Agent
    from agentplane.agent.state import StateDir
    from agentplane.agent.tunnels import parse_allow
    from agentplane.agent.version import agent_version
    from agentplane.sdk import AgentplaneError

    _logging()
    unknown = sorted(set(task_source or []) - set(SOURCES))
    if unknown:
        typer.echo(f"--task-source: unknown {', '.join(unknown)}; use {', '.join(SOURCES)}",
                   err=True)  # fmt: skip
        raise typer.Exit(2)
    for entry in allow or []:
        try:
            parse_allow(entry)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    state = StateDir(state_dir)
    version = agent_version()

    async def main() -> str:
        identity = await obtain_identity(
            state, server, enrollment_token, agent_id, token, version,
            registration_token, name, capability,
        )  # fmt: skip
        agent = Agent(state, identity, version, name, capability, nats_url, task_source, allow)
        return await agent.run()

    try:
        action = asyncio.run(main())
    except NoIdentity as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except AgentplaneError as exc:
        typer.echo(f"enrollment failed: {exc}", err=True)
        raise typer.Exit(1) from None
    if action == "restart":
        logging.getLogger("agentplane.agent").info("restarting (exec)")
        sys.stdout.flush()
        sys.stderr.flush()
        # Same interpreter, same arguments: the stored identity makes the token unnecessary.
        os.execv(sys.executable, [sys.executable, "-m", "agentplane.cli", *sys.argv[1:]])


def _run_pap(server: str | None, agent_id: str, mode: str) -> None:
    from agentplane.agent.pap import API_KEY_ENV, run_pap
    from agentplane.contracts.pap import HEARTBEAT_MODES

    _logging()
    api_key = os.environ.get(API_KEY_ENV)
    if not server or not api_key or mode not in HEARTBEAT_MODES:
        typer.echo(f"--pap needs --server, ${API_KEY_ENV} and a mode of "
                   f"{', '.join(HEARTBEAT_MODES)}", err=True)  # fmt: skip
        raise typer.Exit(2)
    raise typer.Exit(asyncio.run(run_pap(server, agent_id, api_key, mode)))


@agent_app.command("update")
def update(
    check: Annotated[bool, typer.Option("--check", help="Check and verify (no install)")] = True,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
) -> None:
    """Check for a release: verify its Ed25519 signature with the enrollment key and refuse
    a version that is not newer. Exit 2 on a bad signature, 1 on a refused downgrade."""
    from agentplane.agent.state import StateDir
    from agentplane.agent.update import judge
    from agentplane.agent.version import agent_version
    from agentplane.sdk import AgentplaneError, Client, DeviceCredentials

    identity = StateDir(state_dir).load_identity()
    if identity is None or identity.dialect != "device":
        typer.echo(f"no enrolled device identity in {state_dir}", err=True)
        raise typer.Exit(2)
    creds = DeviceCredentials(agent_id=identity.agent_id, api_key=identity.credential)
    try:
        with Client(identity.server_url, timeout=10.0) as client:
            offered = client.device.check_update(creds)
    except AgentplaneError as exc:
        typer.echo(f"update check failed: {exc}", err=True)
        raise typer.Exit(3) from None
    verdict = judge(offered, agent_version(), identity.public_key)
    typer.echo(json.dumps(verdict.describe()))
    raise typer.Exit(verdict.exit_code())


@agent_app.command("simulate")
def simulate(
    server: Annotated[str, typer.Option(help="Gateway URL")],
    agents: Annotated[int, typer.Option(help="How many agents", min=1, max=100_000)],
    workspace_key: Annotated[str, typer.Option(help="Workspace API key (registers agents)")],
    churn: Annotated[
        float, typer.Option(help="Share of agents reconnecting per beat interval", min=0, max=1)
    ] = 0.0,
    nats_url: Annotated[str | None, typer.Option(help="NATS URL (else discovery)")] = None,
    duration: Annotated[float, typer.Option(help="Seconds to run after all are online")] = 0.0,
    interval: Annotated[float, typer.Option(help="Heartbeat interval, seconds")] = 30.0,
) -> None:
    """Run N lightweight agents in this process speaking the agent protocol; print a summary."""
    from agentplane.agent.simulate import simulate as run_simulation

    _logging()
    # Hundreds of agents reconnecting on purpose (churn) would flood the output.
    logging.getLogger("agentplane.agent").setLevel(logging.ERROR)
    summary = asyncio.run(
        run_simulation(server, agents, workspace_key, churn, nats_url, duration, interval)
    )
    typer.echo(json.dumps(summary))
