"""The gateway-side cache of verified agent tokens (logic only; invalidation over NATS is
tested in tests/heartbeat/test_agent_token_cache_events.py)."""

from __future__ import annotations

from agentplane.bus.agent_token_cache import AgentTokenCache, agent_of


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_token_is_trusted_until_the_ttl() -> None:
    clock = Clock()
    cache = AgentTokenCache(ttl=10, clock=clock)
    assert not cache.trusted("a", "tok")
    cache.remember("a", "tok", cache.generation)
    assert cache.trusted("a", "tok")
    assert not cache.trusted("a", "other")
    assert not cache.trusted("b", "tok")
    clock.now = 10
    assert not cache.trusted("a", "tok")


def test_forget_and_clear_end_trust_and_void_overlapping_verifications() -> None:
    cache = AgentTokenCache(ttl=10, clock=Clock())
    started = cache.generation
    cache.remember("a", "tok", started)
    cache.forget("a")
    assert not cache.trusted("a", "tok")
    # A verification that began before an invalidation is not remembered.
    cache.remember("a", "tok", started)
    assert not cache.trusted("a", "tok")
    cache.remember("a", "tok", cache.generation)
    cache.clear()
    assert not cache.trusted("a", "tok")


def test_the_cache_is_bounded() -> None:
    cache = AgentTokenCache(ttl=10, max_entries=2, clock=Clock())
    for agent in ("a", "b", "c"):
        cache.remember(agent, "tok", cache.generation)
    assert cache.trusted("c", "tok")
    assert not cache.trusted("a", "tok")


def test_agent_of_reads_integration_events() -> None:
    assert agent_of(b'{"agent_id": "x", "aggregate_id": "y"}') == "x"
    assert agent_of(b'{"agent_id": null, "aggregate_id": "y"}') == "y"
    assert agent_of(b"not json") is None
    assert agent_of(b"[1]") is None


def test_every_agent_event_type_but_a_registration_is_followed() -> None:
    from agentplane.bus.agent_token_cache import credential_event_subjects
    from agentplane.contracts.subjects import Events

    followed = set(credential_event_subjects())
    assert Events.subject("registry", "agent.Registered") not in followed
    # Those that end or change a credential, and the other agent events, are followed.
    for changed in ("TokenRotated", "CredentialRevoked", "CredentialsRevoked", "Deleted",
                    "Terminated", "ApiKeyRotationCompleted", "CapabilitiesReplaced"):  # fmt: skip
        assert Events.subject("registry", f"agent.{changed}") in followed
    assert all(s.startswith(Events.subject("registry", "agent.")) for s in followed)
    assert len(followed) == 15  # every registry agent event type of the contracts but one
