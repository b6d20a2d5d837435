"""The update check with a real Ed25519 key: a verified newer release, a tampered payload,
a downgrade, and a key that is not the enrollment key."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentplane.agent.update import Verdict, judge
from agentplane.contracts.http.device import AgentUpdate
from agentplane.security.signing import SigningKey, canonical_json

SHA = "ab" * 32


def release(key: SigningKey, version: str, **override: str) -> AgentUpdate:
    url = f"https://downloads.example.com/{version}/agent"
    payload = canonical_json({"version": version, "url": url, "sha256": SHA})
    fields = {
        "version": version,
        "download_url": url,
        "sha256": SHA,
        "signature": key.sign(payload.encode()),
        "signed_payload": payload,
    }
    return AgentUpdate.model_validate({**fields, **override})


def new_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


def test_a_newer_signed_release_is_available() -> None:
    key = new_key()
    check = judge(release(key, "1.3.0"), "1.2.0", key.public_key_b64())
    assert check.verdict == Verdict.AVAILABLE and check.exit_code() == 0
    assert check.offered == "1.3.0"


def test_no_release_is_up_to_date() -> None:
    assert judge(None, "1.2.0", new_key().public_key_b64()).verdict == Verdict.UP_TO_DATE


def test_a_tampered_payload_is_a_bad_signature() -> None:
    key = new_key()
    offered = release(key, "1.3.0")
    tampered = offered.signed_payload.replace("1.3.0", "9.9.9")
    check = judge(
        release(key, "9.9.9", signed_payload=tampered, signature=offered.signature),
        "1.2.0",
        key.public_key_b64(),
    )
    assert check.verdict == Verdict.BAD_SIGNATURE and check.exit_code() == 2


def test_unsigned_fields_that_differ_from_the_signed_ones_are_refused() -> None:
    key = new_key()
    swapped = release(key, "1.3.0", download_url="https://evil.example.com/agent")
    check = judge(swapped, "1.2.0", key.public_key_b64())
    assert check.verdict == Verdict.BAD_SIGNATURE


def test_another_key_is_a_bad_signature() -> None:
    check = judge(release(new_key(), "1.3.0"), "1.2.0", new_key().public_key_b64())
    assert check.verdict == Verdict.BAD_SIGNATURE


def test_lower_and_equal_versions_are_refused() -> None:
    key = new_key()
    lower = judge(release(key, "1.1.9"), "1.2.0", key.public_key_b64())
    assert lower.verdict == Verdict.REFUSED_LOWER and lower.exit_code() == 1
    same = judge(release(key, "1.2.0"), "1.2.0", key.public_key_b64())
    assert same.verdict == Verdict.REFUSED_LOWER
    prerelease = judge(release(key, "1.2.0-rc.1"), "1.2.0", key.public_key_b64())
    assert prerelease.verdict == Verdict.REFUSED_LOWER
