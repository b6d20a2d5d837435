"""Host and process metrics for the heartbeat's `system` (seed 003 `SystemMetrics`)."""

from __future__ import annotations

import os
import platform
import socket
import time
from typing import Any

import psutil

_MB = 1024 * 1024


def host_facts() -> dict[str, str]:
    """hostname, os and arch as enrollment and heartbeats report them."""
    return {
        "hostname": socket.gethostname()[:253] or "unknown",
        "os": (platform.system().lower() or "unknown")[:50],
        "arch": (platform.machine().lower() or "unknown")[:50],
    }


class Metrics:
    """Samples psutil; cpu percentages are since the previous sample (none blocks)."""

    def __init__(self) -> None:
        self._process = psutil.Process(os.getpid())
        # The first call of cpu_percent(None) returns 0.0 and starts the measurement.
        psutil.cpu_percent(None)
        self._process.cpu_percent(None)

    def sample(self) -> dict[str, Any]:
        memory = psutil.virtual_memory()
        try:
            disk_free = psutil.disk_usage(os.path.abspath(os.sep)).free
        except OSError:
            disk_free = 0
        with self._process.oneshot():
            process_cpu = self._process.cpu_percent(None)
            process_rss = self._process.memory_info().rss
        return {
            **host_facts(),
            "uptime_seconds": round(max(0.0, time.time() - psutil.boot_time()), 1),
            "cpu_percent": min(100.0, float(psutil.cpu_percent(None))),
            "memory_mb": round(memory.total / _MB, 1),
            "disk_free_mb": round(disk_free / _MB, 1),
            "process_cpu_percent": float(process_cpu),
            "process_memory_mb": round(process_rss / _MB, 1),
        }


def usage_percent() -> dict[str, float]:
    """cpu, memory and disk utilisation in percent (seed 002 `resourceUsage`)."""
    try:
        disk = float(psutil.disk_usage(os.path.abspath(os.sep)).percent)
    except OSError:
        disk = 0.0
    return {
        "cpu": min(100.0, float(psutil.cpu_percent(None))),
        "memory": float(psutil.virtual_memory().percent),
        "disk": disk,
    }


def boot_time() -> float:
    return float(psutil.boot_time())
