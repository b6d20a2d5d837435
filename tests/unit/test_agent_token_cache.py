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
    from agentplane.contracts.events import registry
    from agentplane.contracts.events.public import PublicEvent
    from agentplane.contracts.subjects import Events

    agent_types = {
        value.TYPE
        for value in vars(registry).values()
        if isinstance(value, type)
        and issubclass(value, PublicEvent)
        and value is not PublicEvent
        and value.TYPE.startswith("agent.")
    }
    followed = set(credential_event_subjects())
    assert Events.subject("registry", "agent.Registered") not in followed
    assert {Events.subject("registry", "agent.TokenRotated")} <= followed
    assert followed == {Events.subject("registry", t) for t in agent_types - {"agent.Registered"}}
