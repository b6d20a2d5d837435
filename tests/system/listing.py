"""Every page of a listing that hands the next page's cursor in `X-Next-Cursor`."""

from __future__ import annotations

from typing import Any

import httpx


def every_page(http: httpx.Client, path: str, field: str, key: dict[str, str]) -> list[Any]:
    """The `field` items of every page of `path` (a query string with the page size)."""
    items: list[Any] = []
    cursor = None
    while True:
        response = http.get(path + (f"&cursor={cursor}" if cursor else ""), headers=key)
        assert response.status_code == 200, response.text
        items += response.json()[field]
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            return items
