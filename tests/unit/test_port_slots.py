"""Test systems' tunnel port ranges never overlap, also across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agentplane.testing.port_slots import SLOT_SIZE, reserve_tunnel_slot


def test_slots_held_by_another_process_are_not_handed_out(tmp_path: Path) -> None:
    # Another process holds every slot but one; this process must get exactly that one.
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import fcntl, sys, time\n"
            f"locks = [open('{tmp_path}/%d.lock' % n, 'wb') for n in range(220) if n != 7]\n"
            "[fcntl.flock(f, fcntl.LOCK_EX) for f in locks]\n"
            "print('held', flush=True); time.sleep(60)\n"
        )],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        slot = reserve_tunnel_slot(tmp_path)
        assert slot.ports == f"{10000 + 7 * SLOT_SIZE}-{10000 + 8 * SLOT_SIZE - 1}"
        slot.release()
    finally:
        holder.kill()
        holder.wait()


def test_two_systems_in_one_process_get_different_ranges(tmp_path: Path) -> None:
    slots = [reserve_tunnel_slot(tmp_path) for _ in range(30)]
    assert len({s.ports for s in slots}) == 30
    for s in slots:
        s.release()
    # Released ranges are free again.
    again = reserve_tunnel_slot(tmp_path)
    again.release()


def test_listen_ports_come_from_below_the_ephemeral_range() -> None:
    from agentplane.testing.system import LISTEN_PORTS, free_port

    low, _ = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert LISTEN_PORTS.stop <= low
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50 and all(p in LISTEN_PORTS for p in ports)
