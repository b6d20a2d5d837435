"""Typed error replies: a failing request always gets an answer, never a timeout."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorKind(StrEnum):
    """What went wrong, in terms a caller can map to a status code."""

    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"
    TOO_LARGE = "too_large"
    # The request waited past the caller's deadline and was not run: nothing changed (503).
    DEADLINE_EXCEEDED = "deadline_exceeded"
    # A bug: logged with its traceback under the id in `details.requestId` (HTTP 500).
    INTERNAL = "internal"


class ErrorBody(BaseModel):
    """The error part of a reply."""

    model_config = ConfigDict(frozen=True)

    kind: ErrorKind
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ServiceError(Exception):
    """Raised by application code; handlers turn it into an error reply."""

    def __init__(self, kind: ErrorKind, message: str, **details: Any) -> None:
        super().__init__(message)
        self.body = ErrorBody(kind=kind, message=message, details=details)

    @property
    def kind(self) -> ErrorKind:
        return self.body.kind


def not_found(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorKind.NOT_FOUND, message, **details)


def conflict(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorKind.CONFLICT, message, **details)


def unauthorized(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorKind.UNAUTHORIZED, message, **details)


def forbidden(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorKind.FORBIDDEN, message, **details)


def invalid(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorKind.VALIDATION, message, **details)


def too_large(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorKind.TOO_LARGE, message, **details)


def unavailable(message: str, **details: Any) -> ServiceError:
    return ServiceError(ErrorKind.UNAVAILABLE, message, **details)
