"""The relay library on real sockets: TLS ends (memory BIOs) with half-close both ways, the
hello frame read exactly, a stream between plain and TLS ends, and the public Host rules."""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentplane.contracts.tunnels import TunnelStreamHello
from agentplane.edge.public_http import host_of, subdomain_of
from agentplane.relay.ends import PlainEnd, TlsEnd, client_context, load_chain_pem, server_context
from agentplane.relay.hello import BadHello, encode_hello, read_hello
from agentplane.relay.stream import Stream
from agentplane.security.ca import CertificateAuthority


def pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    return client, server


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(Path(tmp_path_factory.mktemp("ca")))


def tls_pair(ca: CertificateAuthority) -> tuple[TlsEnd, TlsEnd]:
    issued = ca.issue_server(["127.0.0.1"], datetime.now(UTC))
    assert issued.key_pem is not None
    context = server_context()
    load_chain_pem(context, issued.cert_pem + issued.ca_pem, issued.key_pem)
    raw_client, raw_server = pair()
    client = TlsEnd(raw_client, client_context(ca.ca_pem), server_side=False,
                    server_hostname="127.0.0.1")  # fmt: skip
    server = TlsEnd(raw_server, context, server_side=True)
    handshake = threading.Thread(target=server.handshake)
    handshake.start()
    client.handshake()
    handshake.join()
    return client, server


def read_all(end: PlainEnd) -> bytes:
    data = bytearray()
    buf = bytearray(65536)
    while n := end.read_into(buf):
        data += buf[:n]
    return bytes(data)


def test_tls_half_close_keeps_the_other_direction(ca: CertificateAuthority) -> None:
    client, server = tls_pair(ca)
    request = os.urandom(1_000_000)
    client.write(request)
    client.shutdown_write()
    assert read_all(server) == request  # the FIN reads as a clean end
    answer = os.urandom(700_000)
    server.write(answer)  # writing after the peer's end still works
    server.shutdown_write()
    assert read_all(client) == answer
    client.close()
    server.close()


def test_hello_frame_is_read_exactly_and_checked(ca: CertificateAuthority) -> None:
    client, server = tls_pair(ca)
    hello = TunnelStreamHello(stream_id="s1", stream_token="t" * 43)
    client.write(encode_hello(hello) + b"payload after the frame")
    client.shutdown_write()
    assert read_hello(server) == hello
    assert read_all(server) == b"payload after the frame"
    raw_client, raw_server = pair()
    raw_client.sendall(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(BadHello):
        read_hello(PlainEnd(raw_server))
    for sock in (raw_client, raw_server):
        sock.close()


def test_stream_between_plain_and_tls_ends(ca: CertificateAuthority) -> None:
    visitor, edge_side = pair()
    tls_edge, tls_agent = tls_pair(ca)
    agent_side, target = pair()
    ended = threading.Event()
    Stream(PlainEnd(edge_side), tls_edge, lambda _: ended.set()).start()
    Stream(tls_agent, PlainEnd(agent_side)).start()
    payload = os.urandom(2_000_000)
    threading.Thread(target=lambda: (visitor.sendall(payload), visitor.shutdown(1))).start()
    received = bytearray()
    while chunk := target.recv(65536):
        received += chunk
    assert bytes(received) == payload
    target.sendall(b"answer")
    target.close()
    assert visitor.recv(100) == b"answer" and visitor.recv(100) == b""
    assert ended.wait(10)
    visitor.close()


def test_public_hosts() -> None:
    head = b"GET / HTTP/1.1\r\nAccept: */*\r\nHOST: PC-Shop.Example.COM:8443\r\n\r\n"
    assert host_of(head) == "pc-shop.example.com"
    assert subdomain_of("pc-shop.example.com", "example.com") == "pc-shop"
    assert subdomain_of("shop.example.com", "example.com") is None  # no pc- prefix
    assert subdomain_of("a.pc-shop.example.com", "example.com") is None
    assert subdomain_of("pc-shop.example.org", "example.com") is None
    assert host_of(b"GET / HTTP/1.0\r\n\r\n") is None
