"""The registry answers NATS auth callout requests: agents connect with their own credential.

A connection of its own as the callout user (account AUTH) subscribes `$SYS.REQ.USER.AUTH` in
the `registry` queue group, so each request is answered by one replica. Each request is
handled in its own task (a connect storm must not queue behind one slow check); the
credential check runs in the command thread pool like every registry use case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import nkeys
from nats.aio.client import Client
from nats.aio.msg import Msg

from agentplane.bus.connection import connect
from agentplane.contracts.subjects import AgentChannel
from agentplane.registry.dispatch import Dispatch
from agentplane.registry.nats_auth.admission import NatsAdmission, NotAdmitted
from agentplane.registry.nats_auth.callout import (
    AuthRequest,
    InvalidAuthRequest,
    authorization_response,
    decode_request,
    user_jwt,
)
from agentplane.security.nats_credentials import CALLOUT_USER, CalloutSecrets

log = logging.getLogger("agentplane.registry.nats_auth.callout")

QUEUE = "registry"
# Requests being answered at once; more wait (the server retries a slow callout).
CONCURRENCY = 256


def _loggable_user(request: AuthRequest) -> str:
    # The user is whatever the client sent: only an agent id is safe to write to a log.
    return request.user if request.user and len(request.user) == 36 else "<not an agent id>"


class CalloutResponder:
    """Admits agents with a user JWT limited to their own subjects, refuses everyone else."""

    def __init__(
        self,
        admission: NatsAdmission,
        dispatch: Dispatch,
        secrets: CalloutSecrets,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.admission = admission
        self.dispatch = dispatch
        self.secrets = secrets
        self.issuer = nkeys.from_seed(secrets.issuer_seed.encode())
        self.clock = clock
        self.nc: Client | None = None
        self._slots = asyncio.Semaphore(CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, url: str) -> None:
        self.nc = await connect(
            url, "agentplane-registry-callout", user=CALLOUT_USER,
            password=self.secrets.callout_password,
        )  # fmt: skip
        await self.nc.subscribe(AgentChannel.AUTH_CALLOUT, queue=QUEUE, cb=self._on_request)
        await self.nc.flush()

    async def stop(self) -> None:
        if self.nc is not None:
            await self.nc.drain()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_request(self, msg: Msg) -> None:
        task = asyncio.create_task(self._answer(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, msg: Msg) -> None:
        async with self._slots:
            try:
                request = decode_request(msg.data.decode())
            except (InvalidAuthRequest, UnicodeDecodeError) as exc:
                # Not from the server: no answer at all.
                log.warning("nats callout: ignored a malformed request (%s)", exc)
                return
            answer = await self.decide(request)
            try:
                await msg.respond(answer)
            except Exception as exc:  # the callout connection is reconnecting
                log.warning("nats callout: answer for %s not sent (%s)", request.user_nkey, exc)

    async def decide(self, request: AuthRequest) -> bytes:
        """The signed answer to one request; every decision is logged, never a password."""
        now = self.clock()
        try:
            admitted = await self.dispatch.command(self.admission.admit, request)
        except NotAdmitted as exc:
            log.info("nats callout: refused %s (%s)", _loggable_user(request), exc)
            return authorization_response(request, self.issuer, now, error="not authorized")
        except Exception:
            log.exception("nats callout: check failed for %s", _loggable_user(request))
            return authorization_response(request, self.issuer, now, error="try again")
        jwt = user_jwt(request, admitted.agent_id, self.issuer, now, admitted.expires_at)
        log.info(
            "nats callout: admitted agent %s (%s credential, until %s)",
            admitted.agent_id, admitted.dialect, admitted.expires_at or "revoked",
        )  # fmt: skip
        return authorization_response(request, self.issuer, now, jwt=jwt)
