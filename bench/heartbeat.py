"""Heartbeats over NATS against a bare nats-py subscriber, offline detection and memory.

One system is started like `make run` (short intervals, the bench-only fill subject on).
`AGENTS` agents are registered and heartbeat on their NATS-native subject.

- Throughput: the same publisher sends `BEATS_PER_ROUND` beats round-robin over the agents,
  to the raw baseline (`bench.raw_nats_subscriber`, its own process) and to the heartbeat
  service (`ap.hb.<agent_id>`: validation, cached credential check, deadline; telemetry
  publish when the body has fields besides the token), each with the minimal body and with
  a body carrying `uptime_seconds`. Each rate is beats processed (counted by the consumer
  itself) divided by the time from the first publish until the consumer processed the last
  one. Rounds rotate the order; medians are reported.
- Offline detection: paced load at 80 % of the measured capacity over all agents; once every
  agent is online, `STOPPED` agents stop. Latency = arrival of their `liveness.WentOffline`
  event at a subscriber (`bench.offline_watcher`, a process of its own) minus the time their
  last beat was published; split into intake, flush and relay lags. Bound = offline_after +
  sweep period. The generator reports how well it kept its own promise: `beats_late` counts
  beats it sent more than one interval after the agent's previous one, `max_beat_gap_s` is
  the longest such gap, `generator_behind_max_s` how far its sending fell behind the pace,
  and `beats_not_accepted` the beats it sent that the service's own count does not show.
  WentOffline events of agents that never stopped are split: `false_offline_generator` when
  the bench itself left that agent silent for longer than offline_after (the load generator
  could not keep beating: not the product's fault), `false_offline` otherwise.
- Memory: RSS growth of the heartbeat process (`/proc/<pid>/statm`) while its table grows to
  1,000,000 agents through the bench-only fill subject, divided by the agents added.

`BENCH_HEARTBEAT_ONLY=offline` runs the offline detection alone (after one warm-up and one
capacity blast to pace it), for looking into it without the whole bench;
`BENCH_HEARTBEAT_RATE=<beats/s>` paces it at a fixed rate instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from nats.aio.client import Client

from agentplane.bus.requests import BusClient
from agentplane.contracts.agents import RegisterAgent
from agentplane.contracts.liveness import BenchFill, BenchFilled, HeartbeatStats
from agentplane.contracts.reply import Reply
from agentplane.contracts.subjects import Heartbeat, Registry
from agentplane.testing.plugin import create_workspace
from agentplane.testing.system import RunningSystem, free_port
from bench.fleet import append_agents, wait_projected, wait_quiet
from bench.raw_nats_subscriber import BASELINE_PREFIX, BASELINE_STATS

# BENCH_QUICK=1 shrinks the run for trying the benchmark out (figures are then not the ones
# to report).
QUICK = os.environ.get("BENCH_QUICK") == "1"
# 100,000 registered agents by default (BENCH_HEARTBEAT_AGENTS to change it); more than
# 10,000 are appended straight into the registry's store (`bench.fleet`), fewer registered
# through the bus.
AGENTS = int(os.environ.get("BENCH_HEARTBEAT_AGENTS", 1_000 if QUICK else 100_000))
STOPPED = 50 if QUICK else 500
ROUNDS = 2 if QUICK else 5
BEATS_PER_ROUND = 20_000 if QUICK else 100_000
HTTP_PER_ROUND = 5_000 if QUICK else 20_000
IN_FLIGHT = 40_000
TRACKED_TARGET = 1_000_000
# Every agent beats once per interval in the offline phase: 3 s for 10,000 agents, longer for
# more, so that the paced load (80 % of the measured capacity) keeps the whole fleet online.
INTERVAL_SECONDS = max(3.0, 3.0 * AGENTS / 10_000)
ONLY = os.environ.get("BENCH_HEARTBEAT_ONLY", "")
# Pace the offline phase at this many beats/s instead of 80 % of the measured capacity (on a
# shared machine the capacity blast varies with the neighbours' load; a fixed pace compares).
FIXED_RATE = float(os.environ.get("BENCH_HEARTBEAT_RATE", "0"))
MISSED_BEATS = 3
SWEEP_SECONDS = 1.0
OFFLINE_AFTER = INTERVAL_SECONDS * MISSED_BEATS
ENV = {
    "AGENTPLANE_HEARTBEAT_BENCH": "1",
    "AGENTPLANE_HEARTBEAT_INTERVAL_SECONDS": str(INTERVAL_SECONDS),
    "AGENTPLANE_HEARTBEAT_MISSED_BEATS": str(MISSED_BEATS),
    "AGENTPLANE_LIVENESS_SWEEP_SECONDS": str(SWEEP_SECONDS),
    "AGENTPLANE_LOG_LEVEL": "WARNING",
}

Progress = Callable[[], Awaitable[int]]


def rss_bytes(pid: int) -> int:
    resident_pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


async def register_agents(bus: BusClient, workspace_id: str, count: int) -> list[tuple[str, str]]:
    agents = [(uuid4(), "agent_tok_" + uuid4().hex + uuid4().hex) for _ in range(count)]
    queue = list(agents)

    async def worker() -> None:
        while queue:
            agent_id, token = queue.pop()
            cmd = RegisterAgent(workspace_id=workspace_id, agent_id=agent_id, token=token)
            await bus.request(Registry.AGENT_REGISTER, cmd, timeout=60)

    await asyncio.gather(*(worker() for _ in range(32)))
    return [(str(agent_id), token) for agent_id, token in agents]


async def heartbeat_stats(nc: Client, timeout: float = 10) -> HeartbeatStats:
    msg = await nc.request(Heartbeat.STATS, b"{}", timeout=timeout)
    reply = Reply.model_validate_json(msg.data)
    return HeartbeatStats.model_validate(reply.data)


def service_progress(nc: Client, timeout: float = 10) -> Progress:
    async def progress() -> int:
        return (await heartbeat_stats(nc, timeout)).accepted

    return progress


def baseline_progress(nc: Client) -> Progress:
    async def progress() -> int:
        msg = await nc.request(BASELINE_STATS, b"{}", timeout=10)
        return int(json.loads(msg.data)["processed"])

    return progress


async def blast(
    nc: Client, subjects: list[str], payloads: list[bytes], total: int, progress: Progress
) -> float:
    """Publish `total` beats as fast as the consumer keeps up; its processing rate."""
    start = await progress()
    count = len(subjects)
    started = time.perf_counter()
    sent = 0
    while sent < total:
        chunk = min(5_000, total - sent)
        for k in range(sent, sent + chunk):
            await nc.publish(subjects[k % count], payloads[k % count])
        sent += chunk
        # Keep the consumer's backlog bounded (a slow consumer would be cut off).
        await wait_for_progress(progress, start + sent - IN_FLIGHT, 120)
    done = await wait_for_progress(progress, start + total, 120) - start
    return done / (time.perf_counter() - started)


async def wait_for_progress(progress: Progress, target: int, timeout: float) -> int:
    """Poll the consumer's count until it reaches `target` (or `timeout` passes)."""
    deadline = time.perf_counter() + timeout
    while True:
        done = await progress()
        if done >= target or time.perf_counter() > deadline:
            return done
        await asyncio.sleep(0.002)


Series = dict[str, list[float]]


async def throughput(nc: Client, agents: list[tuple[str, str]], pids: dict[str, int]) -> Series:
    """Rates per round of four consumers x bodies, interleaved (order rotates per round),
    and the consumer process's CPU time per beat in each run (contention does not count).

    `plain`: the documented minimal body `{"token": …}`. `body`: `{"token": …, "uptime_seconds":
    …}`, whose extra field our service also publishes to the telemetry stream.
    """
    plain = [json.dumps({"token": token}).encode() for _, token in agents]
    body = [
        json.dumps({"token": token, "uptime_seconds": 3600 + i}).encode()
        for i, (_, token) in enumerate(agents)
    ]
    ours = [Heartbeat.native(agent_id) for agent_id, _ in agents]
    raw = [f"{BASELINE_PREFIX}.{agent_id}" for agent_id, _ in agents]
    service, baseline = service_progress(nc), baseline_progress(nc)
    # Warm-up: every agent's token gets verified once (the only registry round trips).
    await blast(nc, ours, plain, len(agents), service)
    await blast(nc, raw, plain, len(agents), baseline)
    runs = [
        ("raw_plain", raw, plain, baseline),
        ("ours_plain", ours, plain, service),
        ("raw_body", raw, body, baseline),
        ("ours_body", ours, body, service),
    ]
    series: Series = {name: [] for name, *_ in runs}
    for name, *_ in runs:
        series[f"{name}_cpu_us"] = []
    for round_no in range(ROUNDS):
        shift = round_no % len(runs)
        for name, subjects, payloads, progress in runs[shift:] + runs[:shift]:
            pid = pids["raw" if name.startswith("raw") else "ours"]
            cpu = cpu_seconds(pid)
            rate = await blast(nc, subjects, payloads, BEATS_PER_ROUND, progress)
            series[name].append(rate)
            series[f"{name}_cpu_us"].append((cpu_seconds(pid) - cpu) / BEATS_PER_ROUND * 1e6)
    return series


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_load(port: int, specs_file: str, count: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.http_load", str(port), specs_file, str(count), "64"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def http_throughput(
    system: RunningSystem, bare_port: int, agents: list[tuple[str, str]]
) -> dict[str, Any]:
    """Seed 000 heartbeats through our gateway vs the same route on a bare FastAPI app."""
    specs = [
        ["POST", "/v1/agents/heartbeat", json.dumps({"agentId": agent_id, "token": token})]
        for agent_id, token in agents[:1000]
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(specs, handle)
    gateway_port = system.port
    bare: list[float] = []
    ours: list[float] = []
    failed = 0
    # Warm-up: the gateway path verifies each token once.
    http_load(gateway_port, handle.name, len(specs))
    for round_no in range(ROUNDS):
        runs = [(bare_port, bare), (gateway_port, ours)]
        if round_no % 2:
            runs.reverse()
        for port, rates in runs:
            result = http_load(port, handle.name, HTTP_PER_ROUND)
            rates.append(result["per_s"])
            failed += int(result["failed"])
    Path(handle.name).unlink()
    paired = [o / b for o, b in zip(ours, bare, strict=True)]
    return {
        "bare_http_per_s": round(statistics.median(bare), 1),
        "http_hb_per_s": round(statistics.median(ours), 1),
        "http_ratio_to_bare": round(statistics.median(ours) / statistics.median(bare), 3),
        "http_ratio_per_round_median": round(statistics.median(paired), 3),
        "http_failed": failed,
        "http_rounds": {"bare": [round(r) for r in bare], "ours": [round(r) for r in ours]},
    }


async def offline_detection(
    nc: Client, system: RunningSystem, agents: list[tuple[str, str]], rate: float
) -> dict[str, Any]:
    """Paced beats at `rate`/s over all agents; STOPPED of them stop; time to WentOffline
    (seen by `bench.offline_watcher`, a subscriber process of its own)."""
    subjects = [Heartbeat.native(agent_id) for agent_id, _ in agents]
    payloads = [json.dumps({"token": token}).encode() for _, token in agents]
    stopped: set[int] = set()
    last_sent = [0.0] * len(agents)
    # The generator's own record, from when `watching` is set (the whole fleet online): the
    # longest silence it left each agent in, how many beats came later than one interval
    # after the previous one, how far behind its pace it fell, how many it sent.
    max_gap = [0.0] * len(agents)
    generator = {"late": 0, "behind": 0.0, "sent": 0, "backlog": 0.0, "rounds": 0}
    watching = False
    running = True

    async def pace() -> None:
        started = time.monotonic()
        sent = 0
        cursor = 0
        while running:
            # One clock reading per tick: per-beat readings cost the generator throughput.
            tick = time.monotonic()
            now = time.time()
            due = int((tick - started) * rate)
            if watching:
                generator["behind"] = max(generator["behind"], (due - sent) / rate)
            while sent < due:
                cursor = (cursor + 1) % len(agents)
                if cursor == 0:
                    generator["rounds"] += 1
                if cursor in stopped:
                    continue
                await nc.publish(subjects[cursor], payloads[cursor])
                if watching:
                    gap = now - last_sent[cursor]
                    if gap > max_gap[cursor]:
                        max_gap[cursor] = gap
                    if gap > INTERVAL_SECONDS:
                        generator["late"] += 1
                    generator["sent"] += 1
                last_sent[cursor] = now
                sent += 1
            await asyncio.sleep(0.005)

    pacer = asyncio.create_task(pace())
    # Until every agent is online and the transitions of that are written.
    deadline = time.monotonic() + OFFLINE_AFTER * 4
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        # Long timeouts: a service behind the pace answers behind its backlog of beats.
        # And one round of the pace over every agent: with the fleet still online from an
        # earlier phase the first check passes at once, and agents the pace had not reached
        # yet were then counted as beats "late" by the whole epoch (and, at a slow pace,
        # silent since that phase, declared offline as if the product had erred).
        online = (await heartbeat_stats(nc, 60)).online >= len(agents)
        if online and generator["rounds"] >= 1:
            break
    await asyncio.sleep(2.0)
    # From here on every agent has been sent a beat: gaps are the generator's to account for.
    watching = True
    # Decisions before this are about silences before the phase (an earlier phase's agents
    # left alone meanwhile); their events can still arrive after the watcher subscribed.
    watching_since = time.time()
    accepted_before = (await heartbeat_stats(nc, 60)).accepted
    hb_pid = system.pid_of("heartbeat")
    hb_cpu_before, wall_before = cpu_seconds(hb_pid), time.monotonic()
    events_file = Path(tempfile.mkdtemp()) / "went_offline.jsonl"
    watcher = await asyncio.to_thread(start_watcher, system, events_file)

    async def sample_backlog() -> None:
        """Beats sent but not yet taken in, in seconds of pace: a service behind by more than
        offline_after declares beating agents offline (its backlog, not theirs)."""
        while running:
            # Sent before asking: the count answers for at least those (the beats sent while
            # the question was out would count the round trip as backlog).
            sent = generator["sent"]
            accepted = (await heartbeat_stats(nc, 60)).accepted - accepted_before
            behind = (sent - accepted) / rate
            generator["backlog"] = max(generator["backlog"], behind)
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample_backlog())
    try:
        await asyncio.sleep(2.0)
        stopped.update(range(STOPPED))
        stopped_at = time.time()
        stopped_ids = {agents[i][0] for i in range(STOPPED)}
        # Collect until every stopped agent was reported (a late report then shows up in p99
        # instead of as a missing one), or well past the bound.
        give_up = time.monotonic() + OFFLINE_AFTER + SWEEP_SECONDS + 20.0
        await asyncio.sleep(OFFLINE_AFTER + SWEEP_SECONDS + 3.0)
        offline_at: dict[str, tuple[float, float, float, float]] = {}
        for _ in range(int((give_up - time.monotonic()) / 0.5)):
            offline_at = read_offline_events(events_file, watching_since)
            if stopped_ids <= offline_at.keys():
                break
            await asyncio.sleep(0.5)
        running = False
        await pacer
        await sampler
        hb_cpu = cpu_seconds(hb_pid) - hb_cpu_before
        hb_wall = time.monotonic() - wall_before
        await nc.flush()
        # What the service took in of what was sent meanwhile (its count settles once it drained).
        accepted = await wait_for_progress(
            service_progress(nc, 60), accepted_before + generator["sent"], 10.0
        )
    finally:
        # Also when the phase fails: no watcher outlives the bench.
        watcher.terminate()
        watcher.wait(10)
    offline_at = read_offline_events(events_file, watching_since)
    shutil.rmtree(events_file.parent)
    missing = (float("inf"), float("inf"), float("inf"), float("inf"))
    seen = [offline_at.get(agents[i][0], missing) for i in range(STOPPED)]
    # Decision: the WentOffline event's own time minus when the last beat was published.
    decided = [at - last_sent[i] for i, (_, at, _, _) in enumerate(seen)]
    # Observed: when a subscriber received the event (adds the outbox relay's delivery).
    observed = [arrival - last_sent[i] for i, (arrival, _, _, _) in enumerate(seen)]
    # Lag between publishing a beat and the service taking it in.
    intake_lag = [last_seen - last_sent[i] for i, (_, _, last_seen, _) in enumerate(seen)]
    # The path after the decision, in two legs: sweep decision -> event built for the store
    # (pending queue, flush period), and event built -> subscriber (save, relay, NATS).
    flush_lag = [built - at for _, at, _, built in seen]
    relay_lag = [arrival - built for arrival, _, _, built in seen]
    index = {agent_id: i for i, (agent_id, _) in enumerate(agents)}
    beating = [index[a] for a in offline_at if index.get(a, 0) >= STOPPED]
    # Silent for longer than offline_after by the bench's own doing: right to call offline.
    generator_silenced = sum(1 for i in beating if max_gap[i] > OFFLINE_AFTER)
    # When the service decided a beating agent offline (from the stop), and for how long it
    # had not taken in a beat of it by then: what to look at when false_offline is not 0.
    false_at = [offline_at[agents[i][0]][1] - stopped_at for i in beating]
    false_silent = [offline_at[agents[i][0]][1] - offline_at[agents[i][0]][2] for i in beating]
    return {
        "offline_detect_p99_s": p99(decided),
        "offline_bound_s": OFFLINE_AFTER + SWEEP_SECONDS,
        "offline_detect_p50_s": p50(decided),
        "offline_event_observed_p99_s": p99(observed),
        "offline_intake_lag_p99_s": p99(intake_lag),
        "offline_flush_lag_p99_s": p99(flush_lag),
        "offline_relay_lag_p99_s": p99(relay_lag),
        "offline_relay_lag_p50_s": p50(relay_lag),
        "offline_detected": sum(1 for x in decided if x != float("inf")),
        "offline_stopped": STOPPED,
        "false_offline": len(beating) - generator_silenced,
        "false_offline_generator": generator_silenced,
        "false_offline_decided_s_after_stop": [round(min(false_at), 2), round(max(false_at), 2)]
        if false_at
        else None,
        "false_offline_unheard_s_p50": p50(false_silent) if false_silent else None,
        "paced_rate_per_s": round(rate, 1),
        "beats_sent": generator["sent"],
        "beats_not_accepted": max(0, generator["sent"] - (accepted - accepted_before)),
        "intake_backlog_max_s": round(generator["backlog"], 3),
        "beats_late": generator["late"],
        "max_beat_gap_s": round(max(max_gap[STOPPED:]), 3),
        "generator_behind_max_s": round(generator["behind"], 3),
        # The heartbeat process's CPU in the phase: its share of one core (near 1: saturated,
        # latency then is queueing) and per beat taken in (includes sweeps, transitions,
        # checkpoints).
        "offline_phase_hb_cpu_share": round(hb_cpu / hb_wall, 3),
        "offline_phase_hb_cpu_us_per_beat": round(
            hb_cpu / max(1, accepted - accepted_before) * 1e6, 2
        ),
    }


def start_watcher(system: RunningSystem, events_file: Path) -> subprocess.Popen[bytes]:
    """`bench.offline_watcher`, once it is subscribed."""
    watcher = subprocess.Popen(
        [sys.executable, "-m", "bench.offline_watcher", system.nats_url, str(events_file)],
        stdout=subprocess.PIPE,
        env=os.environ | system.shared_nats_env(),
    )
    assert watcher.stdout is not None
    watcher.stdout.readline()  # "ready"
    return watcher


def read_offline_events(
    path: Path, since: float = 0.0
) -> dict[str, tuple[float, float, float, float]]:
    """agent id -> (arrival, decision time `at`, last beat the service saw, when the event was
    built for the store: `occurred_at`), the first event of each agent decided from `since`."""
    events: dict[str, tuple[float, float, float, float]] = {}
    if not path.exists():
        return events
    for line in path.read_text().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue  # a line being written
        if e["at"] >= since:
            events.setdefault(e["agent_id"], (e["arrival"], e["at"], e["last_seen"], e["occurred"]))
    return events


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3)


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 3)


async def memory(nc: Client, pid: int) -> dict[str, Any]:
    before_tracked = (await heartbeat_stats(nc)).tracked
    before = rss_bytes(pid)
    add = TRACKED_TARGET - before_tracked
    msg = await nc.request(
        Heartbeat.BENCH_FILL, BenchFill(count=add).model_dump_json().encode(), timeout=600
    )
    filled = BenchFilled.model_validate(Reply.model_validate_json(msg.data).data)
    await asyncio.sleep(1.0)
    after = rss_bytes(pid)
    return {
        "agents_tracked": filled.tracked,
        "bytes_per_agent": round((after - before) / add, 1),
        "heartbeat_rss_mb": round(after / 1e6, 1),
    }


async def measure(
    system: RunningSystem, workspace_id: str, raw_pid: int, bare_port: int
) -> dict[str, Any]:
    nc = await system.nats_connect(name="bench-heartbeat")
    try:
        bus = BusClient(nc, 30)
        if AGENTS > 10_000:
            agents, last = await asyncio.to_thread(
                append_agents, system.data_dir, workspace_id, AGENTS
            )
            await asyncio.to_thread(wait_projected, system.data_dir, last)
            await wait_quiet(system)
        else:
            agents = await register_agents(bus, workspace_id, AGENTS)
        if ONLY == "offline":
            return await offline_only(nc, system, agents)
        pids = {"raw": raw_pid, "ours": system.pid_of("heartbeat")}
        series = await throughput(nc, agents, pids)
        median = {name: statistics.median(values) for name, values in series.items()}
        # The machine is shared: a ratio of two medians can mix different load periods, so
        # the ratio of each round's adjacent runs is reported as well.
        paired = [o / r for o, r in zip(series["ours_plain"], series["raw_plain"], strict=True)]
        paired_body = [o / r for o, r in zip(series["ours_body"], series["raw_body"], strict=True)]
        results: dict[str, Any] = {
            "heartbeat_agents": AGENTS,
            "raw_nats_hb_per_s": round(median["raw_plain"], 1),
            "nats_hb_per_s": round(median["ours_plain"], 1),
            "nats_ratio_to_raw": round(median["ours_plain"] / median["raw_plain"], 3),
            "nats_ratio_per_round_median": round(statistics.median(paired), 3),
            "raw_cpu_us_per_beat": round(median["raw_plain_cpu_us"], 2),
            "nats_cpu_us_per_beat": round(median["ours_plain_cpu_us"], 2),
            "raw_nats_hb_body_per_s": round(median["raw_body"], 1),
            "nats_hb_body_per_s": round(median["ours_body"], 1),
            "nats_body_ratio_to_raw": round(median["ours_body"] / median["raw_body"], 3),
            "nats_body_ratio_per_round_median": round(statistics.median(paired_body), 3),
            "raw_body_cpu_us_per_beat": round(median["raw_body_cpu_us"], 2),
            "nats_body_cpu_us_per_beat": round(median["ours_body_cpu_us"], 2),
            "rounds": {
                name: [round(r) for r in values]
                for name, values in series.items()
                if not name.endswith("_cpu_us")
            },
        }
        our_rate = median["ours_plain"]
        results.update(await asyncio.to_thread(http_throughput, system, bare_port, agents))
        results.update(await offline_detection(nc, system, agents, FIXED_RATE or 0.8 * our_rate))
        results.update(await memory(nc, system.pid_of("heartbeat")))
        return results
    finally:
        await nc.close()


async def offline_only(
    nc: Client, system: RunningSystem, agents: list[tuple[str, str]]
) -> dict[str, Any]:
    """The offline detection alone, paced at 80 % of one capacity blast (after a warm-up)."""
    plain = [json.dumps({"token": token}).encode() for _, token in agents]
    subjects = [Heartbeat.native(agent_id) for agent_id, _ in agents]
    service = service_progress(nc)
    await blast(nc, subjects, plain, len(agents), service)
    capacity = await blast(nc, subjects, plain, BEATS_PER_ROUND, service)
    results: dict[str, Any] = {"heartbeat_agents": AGENTS, "nats_hb_per_s": round(capacity, 1)}
    results.update(await offline_detection(nc, system, agents, FIXED_RATE or 0.8 * capacity))
    return results


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        system = RunningSystem(Path(tmp) / "data", ENV).start()
        try:
            with httpx.Client(base_url=system.base_url, timeout=30) as client:
                workspace_id = create_workspace(client, system.admin_token)["workspaceId"]
            baseline = subprocess.Popen(
                [sys.executable, "-m", "bench.raw_nats_subscriber", system.nats_url],
                stdout=subprocess.PIPE,
                # The service credential, as AGENTPLANE_NATS_USER / _PASSWORD.
                env=os.environ | system.shared_nats_env(),
            )
            bare_port = free_port()
            bare_http = subprocess.Popen([sys.executable, "-m", "bench.bare_http", str(bare_port)])
            try:
                assert baseline.stdout is not None
                baseline.stdout.readline()  # "ready"
                wait_listening(bare_port)
                heartbeat_pid = system.pid_of("heartbeat")
                results = asyncio.run(measure(system, workspace_id, baseline.pid, bare_port))
                # A restarted heartbeat service holds off offline decisions (startup grace):
                # say so rather than leave a puzzling detection figure.
                results["heartbeat_restarts"] = int(system.pid_of("heartbeat") != heartbeat_pid)
                return results
            finally:
                # What the services warned about (a slow consumer, a reconnect, a restart)
                # explains odd figures or a failed run; to stderr: the result stays one line.
                for line in system.log().splitlines():
                    if " WARNING " in line or " ERROR " in line or "restarting" in line:
                        print(line, file=sys.stderr)
                for proc in (baseline, bare_http):
                    proc.terminate()
                    proc.wait(10)
        finally:
            system.stop()


if __name__ == "__main__":
    print(json.dumps(run()))
