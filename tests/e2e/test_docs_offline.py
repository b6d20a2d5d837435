"""`/docs` works air-gapped: the page loads Swagger UI from the gateway, never from a CDN."""

from __future__ import annotations

import re

import httpx


def test_docs_page_and_its_assets_come_from_the_gateway(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls = re.findall(r"""url:\\s*['"]([^'"]+)['"]""", page.text)
    assert sources, page.text[:500]
    for url in sources + urls:
        assert not url.startswith(("http://", "https://", "//")), f"external asset: {url}"
        asset = http.get(url)
        assert asset.status_code == 200, (url, asset.status_code)
    script = http.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert http.get("/openapi.json").json()["openapi"].startswith("3.")
