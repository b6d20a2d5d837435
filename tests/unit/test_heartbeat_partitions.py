"""Heartbeat partitions: a deterministic mapping every party computes the same way."""

from __future__ import annotations

import uuid
import zlib

import pytest

from agentplane.contracts.liveness import partition_of
from agentplane.contracts.subjects import Heartbeat
from agentplane.settings import Settings


def test_partition_is_crc32_of_the_agent_id_text_mod_n() -> None:
    agent_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert partition_of(agent_id, 1) == 0
    assert partition_of(agent_id, 7) == zlib.crc32(agent_id.encode()) % 7
    ids = [str(uuid.uuid4()) for _ in range(4000)]
    counts = [sum(1 for a in ids if partition_of(a, 4) == p) for p in range(4)]
    assert min(counts) > 800  # spread evenly


def test_subjects_of_native_beats() -> None:
    agent_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert Heartbeat.native(agent_id) == f"ap.hb.{agent_id}"
    assert Heartbeat.partitioned(3, agent_id) == f"ap.hb.3.{agent_id}"
    assert Heartbeat.partitioned(3) == "ap.hb.3.*"
    assert Heartbeat.NATIVE_ANY == "ap.hb.*"


def test_owned_partitions_setting() -> None:
    assert Settings(heartbeat_partitions=4).owned_heartbeat_partitions() == [0, 1, 2, 3]
    both = Settings(heartbeat_partitions=4, heartbeat_partition="3, 1")
    assert both.owned_heartbeat_partitions() == [1, 3]
    with pytest.raises(ValueError):
        Settings(heartbeat_partitions=2, heartbeat_partition="2").owned_heartbeat_partitions()
