"""Fixtures of the agent tests."""

from tests.agent.recorder import http_server, published  # noqa: F401 - fixtures for pytest
