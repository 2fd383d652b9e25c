"""Serve the command-centre page, the 1-3-5 compliance report, the member app and vendored Leaflet files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import xstatic.pkg.leaflet as xstatic_leaflet
import xstatic.pkg.leaflet_markercluster as xstatic_markercluster
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
MEMBER_DIR = STATIC_DIR / "member"
MANIFEST_MEDIA_TYPE = "application/manifest+json"

# The page is small and changes with each release: always revalidate it.
_NO_CACHE = {"Cache-Control": "no-cache"}


# The report pages beside the command centre: 1-3-5 compliance, coverage analytics (hex map by
# hour, gaps, placement, index), readiness drills (拉动测试), hazard reports (弱信号) and hotspots.
REPORT_PAGES = ("compliance.html", "analytics.html", "drills.html", "reports.html")


def _page(name: str) -> Callable[[], FileResponse]:
    def serve() -> FileResponse:
        return FileResponse(STATIC_DIR / name, headers=_NO_CACHE)

    return serve


def mount_web(app: FastAPI) -> None:
    """Mount the static files at /static, Leaflet under /static/vendor/, the page at GET /, the
    compliance report at GET /compliance.html, the drills report at GET /drills.html, the hazard
    reports page at GET /reports.html and the member
    app at GET /app (with its web manifest and its service worker, allowed to control /app although
    it lives below it).

    Vendor mounts come first: Starlette matches mounts in order and /static would shadow them.
    """
    app.mount(
        "/static/vendor/leaflet",
        StaticFiles(directory=xstatic_leaflet.BASE_DIR),
        name="vendor-leaflet",
    )
    app.mount(
        "/static/vendor/markercluster",
        StaticFiles(directory=xstatic_markercluster.BASE_DIR),
        name="vendor-markercluster",
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def command_centre() -> FileResponse:
        """Return the command-centre page."""
        return FileResponse(STATIC_DIR / "index.html", headers=_NO_CACHE)

    for page in REPORT_PAGES:
        app.add_api_route(f"/{page}", _page(page), methods=["GET"], include_in_schema=False)

    @app.get("/app", include_in_schema=False)
    def member_app() -> FileResponse:
        """Return the member app (installable web app for phones)."""
        return FileResponse(MEMBER_DIR / "index.html", headers=_NO_CACHE)

    @app.get("/app/manifest.webmanifest", include_in_schema=False)
    def member_manifest() -> FileResponse:
        """Return the member app's web manifest."""
        return FileResponse(MEMBER_DIR / "manifest.webmanifest", media_type=MANIFEST_MEDIA_TYPE, headers=_NO_CACHE)

    @app.get("/app/sw.js", include_in_schema=False)
    def member_service_worker() -> FileResponse:
        """Return the member app's service worker; its scope is /app."""
        return FileResponse(MEMBER_DIR / "sw.js", media_type="text/javascript",
                            headers={**_NO_CACHE, "Service-Worker-Allowed": "/app"})
