"""One connectivity probe: TCP connect, then (when asked) a TLS handshake and an HTTP GET on
the same connection, each timed. Never raises for a network failure: the result says what
failed and why."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

OK = "OK"
FAILED = "FAILED"
TIMEOUT = "TIMEOUT"
NOT_APPLICABLE = "N/A"
# Below this an HTTP answer counts as the service answering (a 404 is a live server).
HTTP_FAILURE_FROM = 500
_MAX_ERROR = 300


@dataclass(frozen=True)
class ProbeTarget:
    """Where to connect and what to expect there.

    `connect_host:connect_port` is where the bytes go (the target itself, or the hub's tunnel
    port that leads to it); `server_name` is the target's name for TLS and the Host header.
    """

    connect_host: str
    connect_port: int
    server_name: str
    server_port: int
    tls: bool = False
    http: bool = False
    ca_file: str | None = None


@dataclass
class ProbeResult:
    """Each step's status (OK, FAILED, TIMEOUT or N/A when it does not apply), its latency in
    milliseconds and, when it failed, the reason."""

    tcp_status: str = NOT_APPLICABLE
    tcp_latency_ms: int | None = None
    tcp_error: str | None = None
    tls_status: str = NOT_APPLICABLE
    tls_error: str | None = None
    cert_expires_at: datetime | None = None
    http_status: str = NOT_APPLICABLE
    http_status_code: int | None = None
    http_latency_ms: int | None = None
    http_error: str | None = None
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def failure(self) -> str | None:
        """The first failed step as one word (e.g. `TLS_FAILED`), None when all passed."""
        for step, status in (("TCP", self.tcp_status), ("TLS", self.tls_status),
                             ("HTTP", self.http_status)):  # fmt: skip
            if status in (FAILED, TIMEOUT):
                return f"{step}_{status}"
        return None


def _ms(since: float) -> int:
    return max(0, round((time.perf_counter() - since) * 1000))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        text = f"certificate verification failed: {exc.verify_message or exc.reason}"
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return text[:_MAX_ERROR]


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's trust store, plus `ca_file` when given (an internal CA)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def _expiry(writer: asyncio.StreamWriter) -> datetime | None:
    cert = writer.get_extra_info("peercert")
    not_after = cert.get("notAfter") if isinstance(cert, dict) else None
    if not isinstance(not_after, str):
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), UTC)


def _host_header(target: ProbeTarget) -> str:
    default = 443 if target.tls else 80
    name = f"[{target.server_name}]" if ":" in target.server_name else target.server_name
    return name if target.server_port == default else f"{name}:{target.server_port}"


async def probe(target: ProbeTarget, timeout: float) -> ProbeResult:
    """Run the probe within `timeout` seconds in all."""
    result = ProbeResult()
    deadline = time.perf_counter() + timeout

    def left() -> float:
        return max(0.001, deadline - time.perf_counter())

    started = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.connect_host, target.connect_port), left()
        )
    except TimeoutError:
        result.tcp_status, result.tcp_error = TIMEOUT, f"no connection within {timeout:g} s"
        _not_attempted(result, target, "TCP connect failed")
        return result
    except OSError as exc:
        result.tcp_status, result.tcp_error = FAILED, _reason(exc)
        _not_attempted(result, target, "TCP connect failed")
        return result
    result.tcp_status, result.tcp_latency_ms = OK, _ms(started)
    try:
        if target.tls:
            try:
                context = tls_context(target.ca_file)
                handshake = writer.start_tls(context, server_hostname=target.server_name)
                await asyncio.wait_for(handshake, left())
            except TimeoutError:
                result.tls_status, result.tls_error = TIMEOUT, "no TLS handshake in time"
                _not_attempted(result, target, "TLS handshake failed")
                return result
            except (ssl.SSLError, OSError, ConnectionError) as exc:
                result.tls_status, result.tls_error = FAILED, _reason(exc)
                _not_attempted(result, target, "TLS handshake failed")
                return result
            result.tls_status = OK
            result.cert_expires_at = _expiry(writer)
        if target.http:
            await _http_get(reader, writer, target, result, left)
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1.0)
        except (TimeoutError, OSError, ssl.SSLError):
            pass
    return result


def _not_attempted(result: ProbeResult, target: ProbeTarget, why: str) -> None:
    if target.tls and result.tls_status == NOT_APPLICABLE:
        result.tls_status, result.tls_error = FAILED, f"not attempted: {why}"
    if target.http:
        result.http_status, result.http_error = FAILED, f"not attempted: {why}"


async def _http_get(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    target: ProbeTarget,
    result: ProbeResult,
    left: Callable[[], float],
) -> None:
    request = (
        f"GET / HTTP/1.1\r\nHost: {_host_header(target)}\r\n"
        "User-Agent: agentplane-diagnostics\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    try:
        writer.write(request)
        await asyncio.wait_for(writer.drain(), left())
        line = await asyncio.wait_for(reader.readline(), left())
    except TimeoutError:
        result.http_status, result.http_error = TIMEOUT, "no HTTP answer in time"
        return
    except (OSError, ssl.SSLError, ConnectionError) as exc:
        result.http_status, result.http_error = FAILED, _reason(exc)
        return
    result.http_latency_ms = _ms(started)
    parts = line.decode("latin-1").split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        result.http_status = FAILED
        result.http_error = "not an HTTP answer" if line else "connection closed without an answer"
        return
    result.http_status_code = int(parts[1])
    if result.http_status_code >= HTTP_FAILURE_FROM:
        result.http_status, result.http_error = FAILED, f"HTTP {result.http_status_code}"
    else:
        result.http_status = OK
