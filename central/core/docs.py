"""The interactive API documentation, served from the appliance itself.

FastAPI's default docs page loads Swagger UI from a CDN, which an appliance without internet
cannot reach; the same Swagger UI (5.x, which reads OpenAPI 3.1) is installed as a Python
package and served from ``/api/v1/docs/assets``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/api/v1/docs/assets"


def install(app: FastAPI, *, openapi_url: str, docs_url: str) -> None:
    """Add the docs page at ``docs_url`` with its assets served locally."""
    import swagger_ui_bundle  # a package of static files; imported only here

    app.mount(ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )
