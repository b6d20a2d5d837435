"""The operator's admin token: from settings, else generated once into the data dir."""

from __future__ import annotations

import secrets

from agentplane.security.secret_files import load_or_create_text_secret
from agentplane.settings import GatewaySettings

ADMIN_TOKEN_FILE = "admin_token"


def admin_token(settings: GatewaySettings) -> tuple[str, bool]:
    """The admin token and whether it was generated (so the launcher can print it)."""
    if settings.admin_token:
        return settings.admin_token, False
    path = settings.service_data_dir() / ADMIN_TOKEN_FILE
    return load_or_create_text_secret(path, lambda: "apadm_" + secrets.token_urlsafe(32)), True
