"""The HTTP baseline: a bare FastAPI endpoint under the gateway's own uvicorn settings.

Same route and body model shape as the seed 000 heartbeat (`agentId` UUID, `token`), same
answer, nothing behind it. `python -m bench.bare_http <port>`.
"""

from __future__ import annotations

import sys
from typing import Any
from uuid import UUID

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from agentplane.gateway.main import uvicorn_config
from agentplane.settings import Settings


class HeartbeatBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    agentId: UUID
    token: str = Field(min_length=1, max_length=512)


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/agents/heartbeat")
    async def heartbeat(body: HeartbeatBody) -> dict[str, Any]:
        return {"success": True}

    return app


def main() -> None:
    settings = Settings(http_port=int(sys.argv[1]), http_host="127.0.0.1")
    uvicorn.Server(uvicorn_config(settings, create_app())).run()


if __name__ == "__main__":
    main()
