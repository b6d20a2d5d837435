"""`/docs` works air-gapped: the page loads Swagger UI from the gateway, never from a CDN, and
that Swagger UI renders the gateway's document (checked once by hand with headless Chromium
and no route off the machine: the page lists every operation)."""

from __future__ import annotations

import re

import httpx


def test_docs_page_and_its_assets_come_from_the_gateway(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls = re.findall(r"""url:\s*['"]([^'"]+)['"]""", page.text)
    assert sources and urls == ["/openapi.json"], page.text[:800]
    for url in sources + urls:
        assert not url.startswith(("http://", "https://", "//")), f"external asset: {url}"
        asset = http.get(url)
        assert asset.status_code == 200, (url, asset.status_code)
    # The stylesheet pulls nothing from elsewhere either (fonts, images, @import).
    css = http.get("/docs-assets/swagger-ui.css").text
    for reference in re.findall(r"""(?:url\(|@import\s+)['"]?([^'")\s;]+)""", css):
        assert reference.startswith("data:") or not re.match(r"(https?:)?//", reference), reference
    script = http.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    # The served Swagger UI can render the served document: OpenAPI 3.1 needs Swagger UI 5
    # (4 shows "Unable to render this definition", which is how /docs was blank before).
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.(\d+)\.(\d+)"', script.text)
    assert version, "no PACKAGE_VERSION in swagger-ui-bundle.js"
    openapi = http.get("/openapi.json").json()["openapi"]
    assert openapi.startswith("3.")
    if openapi.startswith("3.1"):
        assert int(version.group(1)) >= 5, f"Swagger UI {version.group(0)} for OpenAPI {openapi}"
