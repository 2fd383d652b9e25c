"""Checking an uploaded photo by its content, reading its GPS position, and re-encoding it bare.

Pure functions over bytes (Pillow): no database, no web. The stored image is a fresh JPEG or PNG
written from the pixels alone, so no EXIF (GPS, camera serial, owner) of the upload survives.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from jiefang.errors import InvalidInput

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "MPO"}
GPS_IFD = 0x8825
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4


@dataclass(frozen=True)
class Photo:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    gps: tuple[float, float] | None  # (lon, lat) from the upload's EXIF, if it had a usable one


def _degrees(value: Any) -> float:
    d, m, s = (float(x) for x in value)
    return d + m / 60.0 + s / 3600.0


def read_gps(exif: Image.Exif) -> tuple[float, float] | None:
    """Return (lon, lat) from an image's EXIF GPS block, or None if absent or out of range."""
    gps = exif.get_ifd(GPS_IFD)
    try:
        lat = _degrees(gps[GPS_LAT]) * (-1 if str(gps.get(GPS_LAT_REF, "N")).upper().startswith("S") else 1)
        lon = _degrees(gps[GPS_LON]) * (-1 if str(gps.get(GPS_LON_REF, "E")).upper().startswith("W") else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lon, lat


def process_photo(raw: bytes, name: str, max_pixels: int, max_side_px: int) -> Photo:
    """Return the photo re-encoded without metadata, with the GPS position it carried.

    Raises InvalidInput if the bytes are not an image of an accepted format (whatever the file is
    called), are damaged, or hold more than ``max_pixels`` pixels.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload = Image.open(io.BytesIO(raw))
            fmt = upload.format or ""
            if fmt not in ACCEPTED_FORMATS:
                raise InvalidInput(f"file {name!r} is a {fmt or 'unknown'} image; send JPEG, PNG or WebP")
            if upload.width * upload.height > max_pixels:
                raise InvalidInput(f"file {name!r} has {upload.width}×{upload.height} pixels, more than {max_pixels}")
            gps = read_gps(upload.getexif())
            image = ImageOps.exif_transpose(upload)  # keep the picture upright once the orientation tag is gone
            image.load()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"file {name!r} is not an image (JPEG, PNG or WebP expected)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"file {name!r} is a damaged image: {exc}") from exc
    image.thumbnail((max_side_px, max_side_px))
    keep_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
    out = io.BytesIO()
    if keep_alpha:
        image.convert("RGBA").save(out, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        image.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
        content_type = "image/jpeg"
    data = out.getvalue()
    return Photo(data, content_type, image.width, image.height, hashlib.sha256(data).hexdigest(), gps)
