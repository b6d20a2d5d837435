"""The signed-update check: verify the release with the enrollment key, refuse a downgrade."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from agentplane.contracts.http.device import AgentUpdate
from agentplane.contracts.semver import precedence
from agentplane.security.signing import verify


class Verdict(StrEnum):
    UP_TO_DATE = "up_to_date"
    AVAILABLE = "available"
    BAD_SIGNATURE = "bad_signature"
    REFUSED_LOWER = "refused_lower"


@dataclass(frozen=True)
class UpdateCheck:
    verdict: Verdict
    current: str
    offered: str | None = None
    detail: str = ""

    def exit_code(self) -> int:
        # A bad signature means someone other than the control plane offered a binary.
        return {Verdict.BAD_SIGNATURE: 2, Verdict.REFUSED_LOWER: 1}.get(self.verdict, 0)

    def describe(self) -> dict[str, str | None]:
        return {
            "verdict": self.verdict.value,
            "current": self.current,
            "offered": self.offered,
            "detail": self.detail,
        }


def judge(update: AgentUpdate | None, current: str, public_key: str) -> UpdateCheck:
    """What to do with an offered release: only a newer, control-plane-signed one installs."""
    if update is None:
        return UpdateCheck(Verdict.UP_TO_DATE, current)
    if not public_key or not verify(public_key, update.signed_payload.encode(), update.signature):
        return UpdateCheck(Verdict.BAD_SIGNATURE, current, update.version, "signature invalid")
    try:
        signed = json.loads(update.signed_payload)
    except ValueError:
        signed = None
    # The fields outside the payload are unsigned: they must say what the payload says.
    expected = {"version": update.version, "url": update.download_url, "sha256": update.sha256}
    if signed != expected:
        return UpdateCheck(
            Verdict.BAD_SIGNATURE, current, update.version, "fields differ from the signed ones"
        )
    try:
        newer = precedence(update.version) > precedence(current)
    except ValueError:
        return UpdateCheck(Verdict.BAD_SIGNATURE, current, update.version, "not a semver")
    if not newer:
        return UpdateCheck(Verdict.REFUSED_LOWER, current, update.version, "not newer")
    return UpdateCheck(Verdict.AVAILABLE, current, update.version, update.download_url)
