"""The `agentplane` command: run the system, create workspaces, export and replay events."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import httpx
import typer

from agentplane.contracts.workspaces import Tier
from agentplane.settings import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
workspace_app = typer.Typer(no_args_is_help=True, help="Manage workspaces.")
events_app = typer.Typer(no_args_is_help=True, help="Read the integration-event log.")
app.add_typer(workspace_app, name="workspace")
app.add_typer(events_app, name="events")


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
    from agentplane.security.admin import admin_token

    settings = Settings()
    base = url or f"http://{settings.http_host}:{settings.http_port}"
    token, _ = admin_token(settings)
    try:
        response = httpx.post(
            f"{base}/v1/admin/workspaces",
            json={"name": name, "tier": tier.value},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach the gateway at {base}: {exc}", err=True)
        raise typer.Exit(2) from None
    if response.status_code != 201:
        typer.echo(response.text, err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(response.json()))


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
