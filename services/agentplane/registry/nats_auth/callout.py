"""NATS auth callout, the pure part: read the server's request, write the signed answer.

The server sends every connecting agent's `connect_opts` inside a JWT signed by its server
nkey; the answer is a JWT signed by the callout issuer (an account nkey) that carries either a
user JWT (what the agent may do, and until when) or an error. Formats: LIBRARIES.md "NATS auth
callout from Python"; the claim names are those of the nats-io/jwt v2 library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nkeys
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from agentplane.contracts.subjects import AgentChannel

# The account agents land in (the config's APP account, where the services are).
AGENT_ACCOUNT = "APP"
_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
# How long an agent may take to answer a hub request it received (the `resp` permission).
REPLY_WINDOW_NANOS = 60 * 1_000_000_000
# A response is only good for the connection attempt it answers.
RESPONSE_TTL_SECONDS = 60


class InvalidAuthRequest(Exception):
    """Not an authorization request signed by the server it names."""


@dataclass(frozen=True)
class AuthRequest:
    """The parts of the server's authorization request the registry decides on."""

    server_id: str
    user_nkey: str
    user: str | None
    password: str | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public_key_bytes(public_key: str) -> bytes:
    """The raw Ed25519 key of an encoded public nkey (prefix byte, 32 bytes, CRC-16)."""
    raw = base64.b32decode(public_key + "=" * (-len(public_key) % 8))
    if len(raw) != 35 or nkeys.crc16(bytearray(raw[:-2])) != int.from_bytes(raw[-2:], "little"):
        raise InvalidAuthRequest("malformed server key")
    return raw[1:33]


def encode_jwt(claims: dict[str, Any], issuer: nkeys.KeyPair) -> str:
    """A NATS JWT: `jti` is the hash of the claims, the signature the issuer's Ed25519."""
    claims = dict(claims)
    claims["jti"] = ""
    digest = hashlib.sha256(json.dumps(claims, separators=(",", ":")).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = issuer.sign(f"{head}.{body}".encode())
    return f"{head}.{body}.{_b64(signature)}"


def decode_request(token: str) -> AuthRequest:
    """The request's claims, after checking the server's signature over them."""
    try:
        head, body, signature = token.split(".")
        claims = json.loads(_unb64(body))
        nats = claims["nats"]
        server_id = nats["server_id"]["id"]
        if claims.get("iss") != server_id or nats.get("type") != "authorization_request":
            raise InvalidAuthRequest("not an authorization request of the issuing server")
        VerifyKey(_public_key_bytes(server_id)).verify(f"{head}.{body}".encode(), _unb64(signature))
        options = nats.get("connect_opts") or {}
        user, password = options.get("user"), options.get("pass")
        return AuthRequest(
            server_id=server_id,
            user_nkey=nats["user_nkey"],
            user=user if isinstance(user, str) else None,
            password=password if isinstance(password, str) else None,
        )
    except (ValueError, KeyError, TypeError, binascii.Error, BadSignatureError) as exc:
        raise InvalidAuthRequest(type(exc).__name__) from None


def agent_permissions(agent_id: str) -> dict[str, Any]:
    """Only the agent's own subjects: publish `ap.agent.<id>.>`, subscribe its inbox and its
    reply inbox, and answer (once, within the window) requests it received."""
    return {
        "pub": {"allow": [AgentChannel.from_agent(agent_id, ">")]},
        "sub": {
            "allow": [
                AgentChannel.inbox(agent_id),
                f"{AgentChannel.reply_inbox_prefix(agent_id)}.>",
            ]
        },
        "resp": {"max": 1, "ttl": REPLY_WINDOW_NANOS},
    }


def user_jwt(
    request: AuthRequest,
    agent_id: str,
    issuer: nkeys.KeyPair,
    now: datetime,
    expires_at: datetime | None,
) -> str:
    """The agent's user JWT: its permissions and the credential's expiry (the server closes
    the connection then)."""
    claims: dict[str, Any] = {
        "iat": int(now.timestamp()),
        "iss": issuer.public_key.decode(),
        "name": agent_id,
        "sub": request.user_nkey,
        "aud": AGENT_ACCOUNT,
        "nats": {
            **agent_permissions(agent_id),
            "subs": -1,
            "data": -1,
            "payload": -1,
            "type": "user",
            "version": 2,
        },
    }
    if expires_at is not None:
        claims["exp"] = int(expires_at.timestamp())
    return encode_jwt(claims, issuer)


def authorization_response(
    request: AuthRequest,
    issuer: nkeys.KeyPair,
    now: datetime,
    *,
    jwt: str | None = None,
    error: str | None = None,
) -> bytes:
    """The signed answer: a user JWT admits the connection, an error refuses it."""
    nats: dict[str, Any] = {"type": "authorization_response", "version": 2}
    if jwt is not None:
        nats["jwt"] = jwt
    else:
        nats["error"] = error or "not authorized"
    claims = {
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + RESPONSE_TTL_SECONDS,
        "iss": issuer.public_key.decode(),
        "sub": request.user_nkey,
        "aud": request.server_id,
        "nats": nats,
    }
    return encode_jwt(claims, issuer).encode()
