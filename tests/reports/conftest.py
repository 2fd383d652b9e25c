"""Helpers of the hazard report tests: real images made with Pillow, the demo member's site."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

Headers = dict[str, str]


def dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4)


def jpeg_with_gps(lon: float, lat: float, size: tuple[int, int] = (640, 480)) -> bytes:
    """A real JPEG whose EXIF carries a GPS position and a camera maker."""
    image = Image.new("RGB", size, (180, 60, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(abs(lat)), 3: "E" if lon >= 0 else "W", 4: dms(abs(lon))}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def png_plain(size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def site(client: TestClient, member: Headers) -> tuple[float, float]:
    """(lon, lat) of the demo member's unit site, in 天河."""
    me = client.get("/api/auth/me", headers=member).json()
    unit = client.get(f"/api/units/{me['unit_id']}", headers=member).json()
    return unit["lon"], unit["lat"]


def file_report(
    client: TestClient,
    headers: Headers,
    lon: float | None,
    lat: float | None,
    photos: list[tuple[str, bytes, str]] = (),
    category: str = "fire_hazard",
    text: str = "楼道堆放杂物",
):  # type: ignore[assignment]
    data: dict[str, str] = {"category": category, "text": text}
    if lon is not None and lat is not None:
        data |= {"lon": str(lon), "lat": str(lat)}
    files = [("photos", p) for p in photos]
    return client.post("/api/reports", headers=headers, data=data, files=files or None)
