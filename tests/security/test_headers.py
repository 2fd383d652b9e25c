"""Security headers on pages and API answers; the CSP the pages are written to satisfy."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from jiefang.api.app import create_app
from jiefang.api.headers import tile_source
from jiefang.config import Settings

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # headers do not depend on it


@sqlite_only
@pytest.mark.parametrize("path", ["/", "/app", "/static/app.js", "/api/auth/me", "/open311/v2/services.json",
                                  "/no/such/page"])
def test_every_answer_carries_the_security_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = r.headers["permissions-policy"]
    assert all(f"{feature}=(self)" in policy for feature in ("camera", "microphone", "geolocation"))


@sqlite_only
def test_voice_and_photos_may_use_blob_urls(client: TestClient) -> None:
    csp = client.get("/app").headers["content-security-policy"]
    assert "media-src 'self' blob:" in csp and "img-src 'self' data: blob:" in csp and "connect-src 'self'" in csp


@sqlite_only
def test_the_configured_tile_host_may_serve_images(settings: Settings) -> None:
    tiles = settings.model_copy(update={"tile_url": "https://{s}.tile.example.org/{z}/{x}/{y}.png"})
    with TestClient(create_app(tiles)) as client:
        assert "https://*.tile.example.org" in client.get("/").headers["content-security-policy"]


@sqlite_only
def test_the_api_docs_get_the_policy_their_cdn_scripts_need(client: TestClient) -> None:
    csp = client.get("/docs").headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in csp and "frame-ancestors 'none'" in csp


@pytest.mark.parametrize(("url", "source"), [
    (None, None),
    ("https://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
    ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
    ("http://t{s}.example.org:8080/{z}/{x}/{y}.png", "http://*.example.org:8080"),
    ("https://tiles.{s}.example.org/{z}/{x}/{y}.png", "https:"),
    ("ftp://example.org/{z}.png", None),
])
def test_tile_source_is_the_narrowest_csp_source(url: str | None, source: str | None) -> None:
    assert tile_source(url) == source
