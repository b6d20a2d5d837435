"""Bearer JWTs of orchestrator agents (seed 002): HS256 under a key derived from the server key.

A valid signature and expiry only say the token was issued here; whether it still works (its
`jti` not revoked, the agent not deleted) is the registry's decision, made on every use.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt

ALGORITHM = "HS256"
ISSUER = "agentplane"
DEFAULT_LIFETIME = timedelta(hours=24)
_REQUIRED = ["sub", "jti", "workspace", "iat", "exp", "iss"]
# A separate purpose string keeps the JWT key distinct from every keyed hash of a secret.
_PURPOSE = b"agentplane/orchestrator-jwt/hs256"


class InvalidAgentJwt(Exception):
    """Malformed, wrongly signed, of another issuer, or expired."""


@dataclass(frozen=True)
class AgentJwt:
    """A freshly issued token; `token` is shown to the agent once, `jti` is recorded."""

    token: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class AgentJwtClaims:
    agent_id: str
    workspace_id: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def jwt_signing_key(server_key: bytes) -> bytes:
    """The HS256 key: HMAC of a fixed purpose under the server key (never stored)."""
    return hmac.new(server_key, _PURPOSE, hashlib.sha256).digest()


class AgentJwtSigner:
    """Issues and checks agent JWTs."""

    def __init__(self, key: bytes, lifetime: timedelta = DEFAULT_LIFETIME) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, agent_id: str, workspace_id: str, now: datetime) -> AgentJwt:
        jti = str(uuid4())
        expires_at = (now + self.lifetime).replace(microsecond=0)
        claims = {
            "iss": ISSUER,
            "sub": agent_id,
            "jti": jti,
            "workspace": workspace_id,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        return AgentJwt(jwt.encode(claims, self._key, algorithm=ALGORITHM), jti, expires_at)

    def verify(self, token: str, now: datetime) -> AgentJwtClaims:
        """The claims of a token signed with this key, unexpired at `now`."""
        try:
            # Expiry is checked below against `now`, so tests can move the clock.
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
            issued_at = datetime.fromtimestamp(int(claims["iat"]), UTC)
            expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
            subject, jti, workspace = claims["sub"], claims["jti"], claims["workspace"]
        except (jwt.PyJWTError, TypeError, ValueError, OverflowError) as exc:
            raise InvalidAgentJwt(type(exc).__name__) from None
        if not all(isinstance(v, str) and v for v in (subject, jti, workspace)):
            raise InvalidAgentJwt("malformed claims")
        if now >= expires_at:
            raise InvalidAgentJwt("expired")
        return AgentJwtClaims(subject, workspace, jti, issued_at, expires_at)
