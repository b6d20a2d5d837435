"""`/docs` without the internet: Swagger UI's assets come from the gateway itself
(the static files the `fastapi-offline` package ships), not from a public CDN, so the page
works air-gapped. Swagger UI 5 is needed: FastAPI writes an OpenAPI 3.1 document, which
Swagger UI 4 refuses to render ("Unable to render this definition")."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
# Swagger UI's bundle, stylesheet and favicon as files inside the installed package.
STATIC = files("fastapi_offline") / "static"


def install_offline_docs(app: FastAPI) -> None:
    """Serve /docs with local assets; call on an app created with `docs_url=None`."""
    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
