"""Cached agent-token trust of the heartbeat service: tags, expiry, invalidation, checkpoints."""

from __future__ import annotations

import uuid
from pathlib import Path

from agentplane.eventstore.views import SQLiteViewStore
from agentplane.heartbeat.application import HeartbeatStore, LivenessEngine
from agentplane.heartbeat.credentials import RejectedTokens, VerifiedTokens

KEY = bytes(range(32))


def test_a_remembered_token_is_trusted_until_the_ttl() -> None:
    tokens = VerifiedTokens(ttl=60, key=KEY)
    tag = tokens.tag("agent_tok_one")
    assert not tokens.trusted(0, tag, 0)
    tokens.remember(3, tag, now=100)
    assert tokens.trusted(3, tag, 159.9)
    assert not tokens.trusted(3, tag, 160)
    assert not tokens.trusted(3, tokens.tag("agent_tok_other"), 120)
    assert not tokens.trusted(2, tag, 120)  # slots below were grown empty


def test_trust_never_outlives_the_token() -> None:
    tokens = VerifiedTokens(ttl=60, key=KEY)
    tag = tokens.tag("t")
    tokens.remember(0, tag, now=100, expires_at=110)
    assert tokens.trusted(0, tag, 109)
    assert not tokens.trusted(0, tag, 110)


def test_tags_depend_on_the_key_and_never_hold_the_token() -> None:
    token = "agent_tok_" + "s" * 40
    a = VerifiedTokens(ttl=1, key=KEY).tag(token)
    b = VerifiedTokens(ttl=1, key=bytes(32)).tag(token)
    assert a != b
    tokens = VerifiedTokens(ttl=60, key=KEY)
    tokens.remember(0, a, now=0)
    snapshot = tokens.snapshot(0, now=1)
    assert snapshot is not None
    assert token not in snapshot[0]
    assert VerifiedTokens.parse(snapshot[0]) == a


def test_forget_ends_trust_and_lapsed_tells_expiry_from_revocation() -> None:
    tokens = VerifiedTokens(ttl=10, key=KEY)
    tag = tokens.tag("t")
    tokens.remember(0, tag, now=0)
    tokens.remember(1, tag, now=0)
    assert tokens.lapsed(0, tag)  # same token, only time ran out (checked after ttl)
    generation = tokens.generation
    tokens.forget(0)
    assert tokens.generation == generation + 1
    assert not tokens.trusted(0, tag, 1)
    assert not tokens.lapsed(0, tag)
    tokens.forget_all()
    assert not tokens.trusted(1, tag, 1)
    assert tokens.snapshot(1, now=1) is None


def test_rejected_tokens_are_refused_briefly_and_per_token() -> None:
    refused = RejectedTokens(ttl=2, max_entries=2)
    tokens = VerifiedTokens(ttl=1, key=KEY)
    bad, good = tokens.tag("bad"), tokens.tag("good")
    refused.remember("a", bad, now=0)
    assert refused.rejected("a", bad, 1)
    assert not refused.rejected("a", good, 1)
    assert not refused.rejected("a", bad, 2)
    refused.forget("a")
    assert not refused.rejected("a", bad, 1)
    refused.remember("a", bad, 0)
    refused.remember("b", bad, 0)
    refused.remember("c", bad, 0)  # full: cleared first
    assert not refused.rejected("a", bad, 1)
    assert refused.rejected("c", bad, 1)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def engine(tmp_path: Path, clock: Clock) -> LivenessEngine:
    return LivenessEngine(
        HeartbeatStore(
            {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "hb.db")}
        ),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        SQLiteViewStore(tmp_path / "checkpoint.sqlite"),
        offline_after=90,
        grace=5,
        tokens=VerifiedTokens(ttl=300, key=KEY),
        clock=clock,
    )


def test_a_restart_restores_last_seen_intervals_and_trusted_tokens(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    first = engine(tmp_path, clock)
    trusted, revoked, sleepy = (str(uuid.uuid4()) for _ in range(3))
    tag = first.tokens.tag("agent_tok_x")
    for agent_id in (trusted, revoked, sleepy):
        first.beat(agent_id, clock.now, 900 if agent_id == sleepy else None)
        first.tokens.remember(first.table.index[agent_id], tag, clock.now)
    first.flush_transitions()
    first.forget_trust(revoked)
    assert first.checkpoint() == 3

    clock.now = 1100.0
    second = engine(tmp_path, clock)
    assert second.restore() == 3
    assert second.checkpointed_at == 1000.0
    slot = second.table.index
    assert second.tokens.trusted(slot[trusted], tag, clock.now)
    assert not second.tokens.trusted(slot[revoked], tag, clock.now)
    assert second.table.get(trusted).last_seen == 1000.0  # type: ignore[union-attr]
    # Every online agent: its own interval plus grace from the restart, and nothing before
    # the default interval plus grace.
    assert second.table.get(sleepy).deadline == 1100 + 5 + 900  # type: ignore[union-attr]
    assert second.table.get(trusted).deadline == 1100 + 5 + 90  # type: ignore[union-attr]
    clock.now = 1194.0
    assert second.sweep() == 0
    clock.now = 1195.0
    assert second.sweep() == 2


def test_trust_cleared_after_a_lost_connection_is_not_restored(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    first = engine(tmp_path, clock)
    agent_id = str(uuid.uuid4())
    tag = first.tokens.tag("agent_tok_x")
    first.beat(agent_id, clock.now)
    first.tokens.remember(first.table.index[agent_id], tag, clock.now)
    first.flush_transitions()
    first.checkpoint()
    clock.now = 1010.0
    first.forget_all_trust()
    first.checkpoint()  # the agent did not beat since: its row still holds the tag

    clock.now = 1020.0
    second = engine(tmp_path, clock)
    second.restore()
    assert not second.tokens.trusted(second.table.index[agent_id], tag, clock.now)


def test_restore_counts_what_became_of_each_checkpointed_token(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    first = engine(tmp_path, clock)
    trusted, revoked, unverified = (str(uuid.uuid4()) for _ in range(3))
    tag = first.tokens.tag("agent_tok_x")
    for agent_id in (trusted, revoked, unverified):
        first.beat(agent_id, clock.now)
    for agent_id in (trusted, revoked):
        first.tokens.remember(first.table.index[agent_id], tag, clock.now)
    first.forget_trust(revoked)
    first.flush_transitions()
    first.checkpoint()

    clock.now = 1100.0
    second = engine(tmp_path, clock)
    second.restore()
    assert (second.restored_trust.trusted, second.restored_trust.without) == (1, 2)
    clock.now = 1400.0  # past the 300 s the token was trusted for
    third = engine(tmp_path, clock)
    third.restore()
    assert (third.restored_trust.trusted, third.restored_trust.expired) == (0, 1)


def test_a_snapshot_taken_before_a_clear_is_void_even_when_written_after(
    tmp_path: Path,
) -> None:
    clock = Clock(1000.0)
    first = engine(tmp_path, clock)
    agent_id = str(uuid.uuid4())
    tag = first.tokens.tag("agent_tok_x")
    first.beat(agent_id, clock.now)
    first.tokens.remember(first.table.index[agent_id], tag, clock.now)
    first.flush_transitions()
    rows = first.checkpoint_rows()  # on the event loop ...
    clock.now = 1001.0
    first.forget_all_trust()  # ... the link drops ...
    clock.now = 1002.0
    first.write_checkpoint(rows)  # ... and the thread writes the older snapshot

    second = engine(tmp_path, clock)
    second.restore()
    assert not second.tokens.trusted(second.table.index[agent_id], tag, clock.now)
    assert second.restored_trust.cleared == 1
    # The clear is carried on: the next run's checkpoint keeps that row void.
    second.checkpoint()
    third = engine(tmp_path, clock)
    third.restore()
    assert third.restored_trust.cleared == 1
