"""The `agentplane` command: run the system, create workspaces, export and replay events."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from agentplane.agent.cli import agent_app
from agentplane.contracts.workspaces import Tier
from agentplane.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
workspace_app = typer.Typer(no_args_is_help=True, help="Manage workspaces.")
events_app = typer.Typer(no_args_is_help=True, help="Read the integration-event log.")
app.add_typer(workspace_app, name="workspace")
app.add_typer(events_app, name="events")
app.add_typer(agent_app, name="agent")


@app.command()
def run() -> None:
    """Start NATS, every service and the gateway (what `make run` does)."""
    from agentplane.launcher.supervisor import run as run_system

    raise typer.Exit(run_system(Settings()))


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Option(help="Workspace name")],
    tier: Annotated[Tier, typer.Option(help="free, pro or enterprise")] = Tier.FREE,
    url: Annotated[str | None, typer.Option(help="Gateway URL (default: the local one)")] = None,
) -> None:
    """Create a workspace and print its API key (shown once)."""
    from pydantic import ValidationError

    from agentplane.sdk import ApiError, Client, ConnectionFailed
    from agentplane.security.admin import admin_token

    settings = Settings()
    base = url or f"http://{settings.http_host}:{settings.http_port}"
    token, _ = admin_token(settings)
    try:
        with Client(base, admin_token=token, timeout=10.0) as client:
            created = client.workspaces.create(name, tier)
    except ConnectionFailed as exc:
        typer.echo(f"cannot reach the gateway at {base}: {exc.__cause__!r}", err=True)
        raise typer.Exit(2) from None
    except (ApiError, ValidationError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(created.model_dump(mode="json")))


@events_app.command("export")
def events_export(
    agent: Annotated[str | None, typer.Option(help="Only events of this agent id")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Only events at or after this ISO time")
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only this event type (repeatable)")
    ] = None,
    source: Annotated[
        str, typer.Option(help="auto (stream when NATS answers, else stores), stream, store")
    ] = "auto",
) -> None:
    """Write integration events as JSON lines in global order."""
    from agentplane.cli.export import export

    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    export(Settings(), sys.stdout, agent, since, set(type_ or ()), source)


@events_app.command("redrive")
def events_redrive(
    consumer: Annotated[
        str | None, typer.Option(help="Only dead letters of this durable consumer")
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Show what is parked; redrive nothing")
    ] = False,
) -> None:
    """Hand dead letters back to their consumers (after a fix); print one JSON line each."""
    import asyncio

    from agentplane.cli.export import runtime_nats_url
    from agentplane.cli.redrive import redrive
    from agentplane.security.nats_credentials import service_credential

    settings = Settings()
    url = runtime_nats_url(settings)
    if not url:
        typer.echo("NATS is not running (no NATS_URL, no runtime.json)", err=True)
        raise typer.Exit(2)
    report = asyncio.run(
        redrive(url, service_credential(settings), consumer, list_only, sys.stdout)
    )
    verb = "parked" if list_only else f"redriven {report.redriven}, failed {report.failed}, of"
    typer.echo(f"{verb} {report.parked} dead letter(s)", err=True)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def replay(
    verify: Annotated[
        bool, typer.Option("--verify", help="Compare rebuilt read models with the live ones")
    ] = False,
) -> None:
    """Rebuild every read model from position 0 into scratch storage."""
    from agentplane.cli.replay import verify_all

    results = verify_all(Settings())
    total_events = sum(r.events for r in results)
    total_seconds = sum(r.seconds for r in results)
    for r in results:
        state = "identical" if r.identical else f"{r.differences} rows differ"
        typer.echo(
            f"{r.view:<16} events={r.events:<8} rows={r.rows:<8} "
            f"{r.events_per_second:,.0f} events/s  {state}"
        )
    rate = total_events / total_seconds if total_seconds > 0 else 0.0
    typer.echo(
        f"total            events={total_events} in {total_seconds:.3f}s = {rate:,.0f} events/s"
    )
    if verify and not all(r.identical for r in results):
        raise typer.Exit(1)


@app.command("nats-credentials")
def nats_credentials(
    role: Annotated[
        str, typer.Option(help="observer (read-only: events and telemetry) or service")
    ] = "observer",
) -> None:
    """Print JSON {url, user, password} to connect to this system's NATS (keep it secret)."""
    from agentplane.cli.export import runtime_nats_url
    from agentplane.security.nats_credentials import ROLES, role_credential

    if role not in ROLES:
        typer.echo(f"--role must be one of: {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    settings = Settings()
    credential = role_credential(settings, role)
    if credential.user is None:
        typer.echo("no NATS credentials: start the system once, or set AGENTPLANE_NATS_*", err=True)
        raise typer.Exit(1)
    url = runtime_nats_url(settings)
    typer.echo(json.dumps({"url": url, "user": credential.user, "password": credential.password}))


@app.command("nats-env")
def nats_env() -> None:
    """Print fresh AGENTPLANE_NATS_* values (shell exports) for docker-compose's NATS."""
    from agentplane.security.nats_credentials import NatsCredentials

    fresh = NatsCredentials.generate()
    values = {
        "AGENTPLANE_NATS_PASSWORD": fresh.service_password,
        "AGENTPLANE_NATS_CALLOUT_PASSWORD": fresh.callout_password,
        "AGENTPLANE_NATS_SYSTEM_PASSWORD": fresh.system_password,
        "AGENTPLANE_NATS_OBSERVER_PASSWORD": fresh.observer_password,
        "AGENTPLANE_NATS_ISSUER_SEED": fresh.issuer_seed,
        # Not a setting: the NATS nodes' config names the issuer by its public key.
        "AGENTPLANE_NATS_ISSUER_PUBLIC_KEY": fresh.issuer_public_key,
    }
    for name, value in values.items():
        typer.echo(f"export {name}={value}")


@app.command()
def asyncapi() -> None:
    """Print the AsyncAPI 3.0 document of the public NATS subjects."""
    from agentplane.contracts.asyncapi import document

    typer.echo(json.dumps(document(), indent=2, sort_keys=True))


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
