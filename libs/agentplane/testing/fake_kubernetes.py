"""A local HTTP server speaking exactly the Kubernetes API paths the kubernetes provisioner
calls (create, read, delete of Deployments, Services, Ingresses and Secrets in a namespace),
recording every request; and a kubeconfig that points the official client at it.

Objects are kept as sent (plus `metadata.namespace` and `uid`); a Deployment's `status` is
what the test sets. `fail(method, kind, code, message)` makes the next such requests answer a
Kubernetes `Status` error.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

# path prefix → kind
COLLECTIONS = {
    "/apis/apps/v1/namespaces/{ns}/deployments": "Deployment",
    "/api/v1/namespaces/{ns}/services": "Service",
    "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses": "Ingress",
    "/api/v1/namespaces/{ns}/secrets": "Secret",
}
# kind → the resource as the API server names it in messages
RESOURCES = {
    "Deployment": "deployments.apps",
    "Service": "services",
    "Ingress": "ingresses.networking.k8s.io",
    "Secret": "secrets",
}
_ITEM = r"(?:/(?P<name>[^/]+))?(?P<sub>/status)?$"
_ROUTES = [
    (re.compile("^" + p.replace("{ns}", "(?P<ns>[^/]+)") + _ITEM), kind)
    for p, kind in COLLECTIONS.items()
]


@dataclass
class Received:
    method: str
    path: str
    kind: str | None
    namespace: str | None
    name: str | None
    body: Any
    authorization: str | None
    query: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FakeKubernetes:
    """The fake API server's state (thread-safe enough for tests: one lock)."""

    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    failures: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, method: str, kind: str, code: int, message: str) -> None:
        self.failures[(method, kind)] = (code, message)

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((kind, namespace, name))

    def set_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        with self.lock:
            self.objects[("Deployment", namespace, name)]["status"] = status

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for (k, _, _), o in self.objects.items() if k == kind]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


_REASONS = {404: "NotFound", 409: "AlreadyExists", 403: "Forbidden", 422: "Invalid"}


def _handler(state: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            kind, match = None, None
            for pattern, route_kind in _ROUTES:
                match = pattern.match(path)
                if match:
                    kind = route_kind
                    break
            ns = match["ns"] if match else None
            name = match["name"] if match else None
            with state.lock:
                state.received.append(
                    Received(
                        method,
                        path,
                        kind,
                        ns,
                        name,
                        body,
                        self.headers.get("Authorization"),
                        parse_qs(query),
                    )
                )
                if match is None or kind is None or ns is None:
                    return self._answer(404, _status(404, "NotFound", f"no route {path}"))
                failure = state.failures.get((method, kind))
                if failure:
                    code, message = failure
                    return self._answer(code, _status(code, _REASONS.get(code, "Failure"), message))
                key_name = name if name else (body or {}).get("metadata", {}).get("name", "")
                key = (kind, ns, key_name)
                plural = RESOURCES[kind]
                if method == "POST" and name is None:
                    if key in state.objects:
                        message = f'{plural} "{key_name}" already exists'
                        return self._answer(409, _status(409, "AlreadyExists", message))
                    obj = dict(body or {})
                    obj["metadata"] = {**obj.get("metadata", {}), "namespace": ns}
                    obj["metadata"]["uid"] = str(uuid.uuid4())
                    state.objects[key] = obj
                    return self._answer(201, obj)
                if name is None:
                    return self._answer(405, _status(405, "MethodNotAllowed", "not here"))
                if key not in state.objects:
                    message = f'{plural} "{name}" not found'
                    return self._answer(404, _status(404, "NotFound", message))
                if method == "GET":
                    return self._answer(200, state.objects[key])
                if method == "DELETE":
                    gone = state.objects.pop(key)
                    if kind == "Service":  # the API answers a deleted Service with itself
                        return self._answer(200, gone)
                    ok = {"kind": "Status", "apiVersion": "v1", "status": "Success"}
                    return self._answer(200, ok)
                return self._answer(405, _status(405, "MethodNotAllowed", "not here"))

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


class FakeKubernetesServer:
    """The fake API server on 127.0.0.1 (a free port), in a thread."""

    TOKEN = "fake-kubernetes-token"

    def __init__(self) -> None:
        self.state = FakeKubernetes()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeKubernetesServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def kubeconfig(self, path: Path, server: str | None = None) -> Path:
        """A kubeconfig (JSON is YAML) pointing at this server, or at `server`."""
        path.write_text(kubeconfig_text(server or self.url, self.TOKEN))
        return path


def kubeconfig_text(server: str, token: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": server}}],
            "users": [{"name": "fake", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
    )
