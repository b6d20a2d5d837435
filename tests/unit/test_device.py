"""Seed 003 use cases with in-memory persistence: signing key, enrollment, key checks,
server-initiated rotation, signed releases (no network)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import multiprocessing
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agentplane.contracts.agents import EnrollmentKind, IssueEnrollmentToken, ListAgents
from agentplane.contracts.device import (
    AuthenticateDevice,
    DeviceIdentity,
    EnrollDevice,
    FindUpdate,
    PublishRelease,
    RotateDeviceKey,
    SyncDeviceHeartbeat,
)
from agentplane.contracts.errors import ErrorKind, ServiceError
from agentplane.contracts.semver import is_semver, precedence
from agentplane.contracts.workspaces import CreateWorkspace
from agentplane.eventstore.integration import to_integration
from agentplane.eventstore.views import SQLiteViewStore
from agentplane.registry.agents import Agents
from agentplane.registry.application import Registry, RegistryStore
from agentplane.registry.dialects.device import DeviceAgents
from agentplane.registry.domain.device_key import MAX_DELIVERIES
from agentplane.registry.enrollment import Enrollment
from agentplane.registry.releases import Releases
from agentplane.registry.workspaces import Workspaces
from agentplane.security.signing import SIGNING_KEY_FILE, SigningKey, canonical_json, verify

GRACE = timedelta(seconds=60)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 21, 14, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(tmp_path: Path, clock: Clock) -> Registry:
    return Registry(
        RegistryStore(allow_memory=True),
        SQLiteViewStore(tmp_path / "views.sqlite"),
        b"k" * 32,
        clock=clock,
    )


@pytest.fixture
def signing_key(tmp_path: Path) -> SigningKey:
    return SigningKey.load_or_create(tmp_path / "keys")


@pytest.fixture
def device(registry: Registry, signing_key: SigningKey) -> DeviceAgents:
    return DeviceAgents(registry, signing_key, key_grace=GRACE)


@pytest.fixture
def releases(registry: Registry, signing_key: SigningKey) -> Releases:
    return Releases(registry, signing_key)


@pytest.fixture
def workspace_id(registry: Registry) -> str:
    return (
        Workspaces(registry)
        .create_workspace(CreateWorkspace(name=f"ws-{uuid4().hex[:8]}"))[0]
        .workspace_id
    )


def enrollment_token(registry: Registry, workspace_id: str, **kw: object) -> str:
    cmd = IssueEnrollmentToken(workspace_id=workspace_id, kind=EnrollmentKind.ENROLLMENT, **kw)
    return Enrollment(registry).issue_enrollment_token(cmd)[0].token


def enroll(device: DeviceAgents, token: str, version: str = "1.0.0") -> tuple[str, str, str]:
    enrolled, _ = device.enroll(
        EnrollDevice(
            token=token,
            hostname="WORKSTATION-01",
            os="windows",
            arch="amd64",
            agent_version=version,
        )
    )
    return str(enrolled.agent_id), enrolled.api_key, enrolled.public_key


def auth(device: DeviceAgents, agent_id: str, key: str) -> DeviceIdentity:
    return device.authenticate(AuthenticateDevice(agent_id=agent_id, api_key=key))[0]


def rejected(device: DeviceAgents, agent_id: str, key: str) -> bool:
    try:
        auth(device, agent_id, key)
    except ServiceError as exc:
        assert exc.kind is ErrorKind.UNAUTHORIZED
        return True
    return False


def kind_of(call: object) -> ErrorKind:
    with pytest.raises(ServiceError) as err:
        call()  # type: ignore[operator]
    return err.value.kind


# -- signing key --------------------------------------------------------------------------


def test_signing_key_is_created_once_owner_only_and_reloaded(tmp_path: Path) -> None:
    first = SigningKey.load_or_create(tmp_path)
    path = tmp_path / SIGNING_KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = SigningKey.load_or_create(tmp_path)
    assert first.public_key_b64() == again.public_key_b64()
    assert len(base64.b64decode(first.public_key_b64())) == 32


def _public_key_of(data_dir: str) -> str:
    return SigningKey.load_or_create(Path(data_dir)).public_key_b64()


def test_signing_key_creation_race_yields_one_key(tmp_path: Path) -> None:
    # Services and replicas start as processes at once; exactly one key must come out.
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(8, mp_context=context) as pool:
        keys = list(pool.map(_public_key_of, [str(tmp_path)] * 16))
    assert len(set(keys)) == 1 and len(keys) == 16
    assert keys[0] == SigningKey.load_or_create(tmp_path).public_key_b64()


def test_signature_verifies_with_the_raw_public_key(signing_key: SigningKey) -> None:
    data = canonical_json({"version": "1.0.0", "url": "https://x/y", "sha256": "a" * 64})
    assert data == '{"sha256":"' + "a" * 64 + '","url":"https://x/y","version":"1.0.0"}'
    signature = signing_key.sign(data.encode())
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(signing_key.public_key_b64()))
    public.verify(base64.b64decode(signature), data.encode())  # raises when invalid
    assert verify(signing_key.public_key_b64(), data.encode(), signature)
    assert not verify(signing_key.public_key_b64(), data.encode() + b" ", signature)


# -- semantic versions --------------------------------------------------------------------


def test_semver_precedence_follows_semver_org() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    assert sorted(reversed(ordered), key=precedence) == ordered
    assert precedence("1.0.0+build.1") == precedence("1.0.0")
    for bad in ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "latest", ""]:
        assert not is_semver(bad), bad
        with pytest.raises(ValueError):
            precedence(bad)


# -- enrollment and key checks ------------------------------------------------------------


def test_enroll_creates_a_device_agent_of_the_fleet(
    registry: Registry, device: DeviceAgents, workspace_id: str, signing_key: SigningKey
) -> None:
    agent_id, api_key, public_key = enroll(device, enrollment_token(registry, workspace_id))
    # The workspace's own release key, not the root key.
    workspace_key = signing_key.for_workspace(workspace_id).public_key_b64()
    assert api_key.startswith("ap_dev_") and public_key == workspace_key
    assert public_key != signing_key.public_key_b64()
    listed = Agents(registry).list_agents(ListAgents(workspace_id=workspace_id)).agents
    assert [str(a.id) for a in listed] == [agent_id]
    assert listed[0].dialect == "device" and listed[0].name == "WORKSTATION-01"
    assert listed[0].attributes == {
        "hostname": "WORKSTATION-01",
        "os": "windows",
        "arch": "amd64",
        "agent_version": "1.0.0",
    }
    assert api_key not in json.dumps(listed[0].model_dump(mode="json"))
    identity = auth(device, agent_id, api_key)
    assert identity.workspace_id == workspace_id and identity.agent_version == "1.0.0"
    assert not identity.rotation_due


def test_enrollment_token_is_single_use_of_its_kind_and_expires(
    registry: Registry, device: DeviceAgents, workspace_id: str, clock: Clock
) -> None:
    token = enrollment_token(registry, workspace_id)
    enroll(device, token)
    assert kind_of(lambda: enroll(device, token)) is ErrorKind.UNAUTHORIZED
    registration = (
        Enrollment(registry)
        .issue_enrollment_token(
            IssueEnrollmentToken(workspace_id=workspace_id, kind=EnrollmentKind.REGISTRATION)
        )[0]
        .token
    )
    assert kind_of(lambda: enroll(device, registration)) is ErrorKind.UNAUTHORIZED
    expiring = enrollment_token(registry, workspace_id, ttl_seconds=60)
    clock.advance(60)
    assert kind_of(lambda: enroll(device, expiring)) is ErrorKind.UNAUTHORIZED
    assert kind_of(lambda: enroll(device, "ap_enr_garbage")) is ErrorKind.UNAUTHORIZED


def test_wrong_key_unknown_agent_and_other_dialects_are_rejected(
    registry: Registry, device: DeviceAgents, workspace_id: str
) -> None:
    agent_id, api_key, _ = enroll(device, enrollment_token(registry, workspace_id))
    other_id, other_key, _ = enroll(device, enrollment_token(registry, workspace_id))
    assert rejected(device, agent_id, other_key)
    assert rejected(device, str(uuid4()), api_key)
    assert rejected(device, agent_id, api_key[:-1] + ("A" if api_key[-1] != "A" else "B"))
    assert rejected(device, agent_id, "not-a-key")
    assert not rejected(device, other_id, other_key)


# -- server-initiated rotation ------------------------------------------------------------


def test_rotation_old_key_works_until_new_key_is_first_used(
    registry: Registry, device: DeviceAgents, workspace_id: str, clock: Clock
) -> None:
    agent_id, old_key, _ = enroll(device, enrollment_token(registry, workspace_id))
    assert device.device_heartbeat_rotation(agent_id)[0] is None  # nothing requested
    rotation, _ = device.request_key_rotation(
        RotateDeviceKey(workspace_id=workspace_id, agent_id=agent_id)
    )
    assert rotation.delivered_at is None
    assert auth(device, agent_id, old_key).rotation_due
    new_key, _ = device.device_heartbeat_rotation(agent_id)
    assert new_key is not None and new_key.startswith("ap_dev_") and new_key != old_key
    clock.advance(30)
    assert not rejected(device, agent_id, old_key)  # still inside the grace
    assert auth(device, agent_id, old_key).key_expires_at == clock.now + timedelta(seconds=30)
    identity = auth(device, agent_id, new_key)  # first use completes the rotation
    assert not identity.rotation_due
    assert rejected(device, agent_id, old_key)
    assert not rejected(device, agent_id, new_key)
    assert device.device_heartbeat_rotation(agent_id)[0] is None
    record = Agents(registry).list_agents(ListAgents(workspace_id=workspace_id)).agents[0]
    assert record.token_prefix == new_key[: len("ap_dev_") + 8]


def test_rotation_old_key_expires_after_the_grace(
    registry: Registry, device: DeviceAgents, workspace_id: str, clock: Clock
) -> None:
    agent_id, old_key, _ = enroll(device, enrollment_token(registry, workspace_id))
    device.request_key_rotation(RotateDeviceKey(workspace_id=workspace_id, agent_id=agent_id))
    clock.advance(600)  # no grace runs before the key is delivered
    assert not rejected(device, agent_id, old_key)
    new_key, _ = device.device_heartbeat_rotation(agent_id)
    assert new_key is not None
    clock.advance(59.9)
    assert not rejected(device, agent_id, old_key)
    clock.advance(0.1)
    assert rejected(device, agent_id, old_key)
    assert not rejected(device, agent_id, new_key)
    assert rejected(device, agent_id, old_key)


def test_lost_delivery_is_redelivered_and_any_delivered_key_completes(
    registry: Registry, device: DeviceAgents, workspace_id: str
) -> None:
    agent_id, old_key, _ = enroll(device, enrollment_token(registry, workspace_id))
    device.request_key_rotation(RotateDeviceKey(workspace_id=workspace_id, agent_id=agent_id))
    # A repeated request while one is in progress changes nothing.
    again, position = device.request_key_rotation(
        RotateDeviceKey(workspace_id=workspace_id, agent_id=agent_id)
    )
    assert position == 0 and again.delivered_at is None
    keys = []
    for _ in range(MAX_DELIVERIES):
        assert auth(device, agent_id, old_key).rotation_due
        synced, _ = device.sync_heartbeat(SyncDeviceHeartbeat(agent_id=agent_id))
        assert synced.new_api_key
        keys.append(synced.new_api_key)
    assert len(set(keys)) == MAX_DELIVERIES
    assert not auth(device, agent_id, old_key).rotation_due  # capped
    assert device.device_heartbeat_rotation(agent_id)[0] is None
    assert not rejected(device, agent_id, keys[1])
    for key in (old_key, keys[0], keys[2]):
        assert rejected(device, agent_id, key)
    assert not rejected(device, agent_id, keys[1])


def test_rotation_request_needs_a_device_agent_of_the_workspace(
    registry: Registry, device: DeviceAgents, workspace_id: str
) -> None:
    agent_id, _, _ = enroll(device, enrollment_token(registry, workspace_id))
    other = Workspaces(registry).create_workspace(CreateWorkspace(name="other"))[0].workspace_id
    for ws, aid in ((other, agent_id), (workspace_id, str(uuid4()))):
        cmd = RotateDeviceKey(workspace_id=ws, agent_id=aid)
        assert kind_of(lambda cmd=cmd: device.request_key_rotation(cmd)) is ErrorKind.NOT_FOUND


def test_no_secret_leaves_the_service_in_events(
    registry: Registry, device: DeviceAgents, workspace_id: str
) -> None:
    agent_id, old_key, _ = enroll(device, enrollment_token(registry, workspace_id))
    device.request_key_rotation(RotateDeviceKey(workspace_id=workspace_id, agent_id=agent_id))
    new_key, _ = device.device_heartbeat_rotation(agent_id)
    assert new_key
    auth(device, agent_id, new_key)
    stored = registry.store.recorder.select_notifications(1, 1000)
    assert stored
    for notification in stored:
        assert old_key.encode() not in notification.state
        assert new_key.encode() not in notification.state
        public = to_integration(
            "registry",
            notification.id,
            registry.store.mapper.to_domain_event(notification),
            registry.store.translator,
        )
        text = public.model_dump_json()
        assert "hash" not in json.dumps(sorted(public.data)), public.type
        assert old_key not in text and new_key not in text
    types = [
        registry.store.mapper.to_domain_event(n).TOPIC  # type: ignore[attr-defined]
        for n in stored
    ]
    assert types[-4:] == [
        "agent.ApiKeyRotationRequested",
        "agent.ApiKeyDelivered",
        "agent.TokenRotated",
        "agent.ApiKeyRotationCompleted",
    ]


def test_heartbeat_records_a_new_agent_version_once(
    registry: Registry, device: DeviceAgents, workspace_id: str
) -> None:
    agent_id, api_key, _ = enroll(device, enrollment_token(registry, workspace_id))
    synced, position = device.sync_heartbeat(
        SyncDeviceHeartbeat(agent_id=agent_id, agent_version="1.1.0")
    )
    assert synced.new_api_key is None and position > 0
    assert auth(device, agent_id, api_key).agent_version == "1.1.0"
    _, position = device.sync_heartbeat(
        SyncDeviceHeartbeat(agent_id=agent_id, agent_version="1.1.0")
    )
    assert position == 0


# -- signed releases ----------------------------------------------------------------------


def publish(releases: Releases, workspace_id: str, version: str) -> object:
    return releases.publish(
        PublishRelease(
            workspace_id=workspace_id,
            version=version,
            url=f"https://downloads.example.com/agent-{version}.exe",
            sha256="AB" * 32,
        )
    )[0]


def test_release_is_signed_over_canonical_json_of_three_fields(
    releases: Releases, workspace_id: str, signing_key: SigningKey
) -> None:
    release = publish(releases, workspace_id, "1.2.0")
    payload = json.loads(release.signed_payload)  # type: ignore[attr-defined]
    assert payload == {
        "version": "1.2.0",
        "url": "https://downloads.example.com/agent-1.2.0.exe",
        "sha256": "ab" * 32,
    }
    assert release.signed_payload == canonical_json(payload)  # type: ignore[attr-defined]
    assert verify(
        signing_key.for_workspace(workspace_id).public_key_b64(),
        release.signed_payload.encode(),  # type: ignore[attr-defined]
        release.signature,  # type: ignore[attr-defined]
    )
    # Another workspace's key (or the root key) does not verify it.
    for other in (signing_key.for_workspace("ws_other"), signing_key):
        assert not verify(
            other.public_key_b64(),
            release.signed_payload.encode(),  # type: ignore[attr-defined]
            release.signature,  # type: ignore[attr-defined]
        )


def test_update_is_the_newest_release_and_never_a_rollback(
    releases: Releases, workspace_id: str, registry: Registry
) -> None:
    def offered(version: str | None) -> str | None:
        offer = releases.find_update(FindUpdate(workspace_id=workspace_id, agent_version=version))
        return offer.release.version if offer.release else None

    assert offered("1.0.0") is None
    for version in ("1.1.0", "1.3.0-rc.1", "1.2.0"):
        publish(releases, workspace_id, version)
    assert offered("1.0.0") == "1.3.0-rc.1"
    assert offered(None) == "1.3.0-rc.1"
    assert offered("1.3.0-rc.1") == "1.3.0-rc.1"  # equal: offered, not older
    assert offered("1.3.0") is None  # every release is older: no rollback
    assert offered("2.0.0") is None
    assert offered("garbage") is None
    other = Workspaces(registry).create_workspace(CreateWorkspace(name="other-ws"))[0].workspace_id
    assert releases.find_update(FindUpdate(workspace_id=other)).release is None


def test_release_versions_are_immutable_and_urls_checked(
    releases: Releases, workspace_id: str
) -> None:
    publish(releases, workspace_id, "1.0.0")
    assert kind_of(lambda: publish(releases, workspace_id, "1.0.0")) is ErrorKind.CONFLICT
    assert kind_of(lambda: publish(releases, workspace_id, "1.0.0+b2")) is ErrorKind.CONFLICT
    for url in ("ftp://x/y", "downloads/agent.exe", "https://", " https://x/y"):
        cmd = PublishRelease(workspace_id=workspace_id, version="2.0.0", url=url, sha256="a" * 64)
        assert kind_of(lambda cmd=cmd: releases.publish(cmd)) is ErrorKind.VALIDATION, url
