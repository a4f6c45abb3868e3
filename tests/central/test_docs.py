"""The interactive API docs work on an appliance without internet: every asset is local."""

from __future__ import annotations

import re

from tests.central.conftest import Api


def test_docs_page_loads_only_local_assets(central: Api) -> None:
    page = central.call("GET", "/api/v1/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert sources, page.text
    for source in sources:
        assert source.startswith("/api/v1/"), f"{source} is not served by Central"
        asset = central.call("GET", source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 500
    assert "openapi.json" in page.text
    assert central.call("GET", "/api/v1/openapi.json").json()["openapi"].startswith("3.")
