"""The agentplane SDK: typed sync and async clients of every HTTP endpoint of the gateway.

from agentplane.sdk import Client
with Client("http://127.0.0.1:8080", api_key=KEY) as c:
    for agent in c.agents.list():
        print(agent.id, agent.is_online)
"""

from agentplane.sdk.client import AsyncClient, Client
from agentplane.sdk.credentials import DeviceCredentials
from agentplane.sdk.errors import (
    AgentplaneError,
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
)
from agentplane.sdk.retry import NO_RETRIES, RetryPolicy

__all__ = [
    "NO_RETRIES",
    "AgentplaneError",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "DeviceCredentials",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Unauthorized",
    "Unavailable",
]
