"""Signed QR tokens for duty posts, and the images and printable sheets that carry them.

A token names a post and the post's token version and carries an HMAC-SHA256 of both under the
server's secret: a forged token fails the signature, a printed code whose post was rotated
fails the version. Tokens are short so the QR stays small enough to scan from a wall.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass

import segno

from jiefang.errors import InvalidInput

PREFIX = "JF1"


@dataclass(frozen=True)
class PostToken:
    post_id: int
    version: int


def _signature(secret: bytes, post_id: int, version: int) -> str:
    mac = hmac.new(secret, f"{PREFIX}.{post_id}.{version}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:16]).decode().rstrip("=")


def sign_post_token(secret: bytes, post_id: int, version: int) -> str:
    """Return the token text for version ``version`` of post ``post_id``."""
    return f"{PREFIX}.{post_id}.{version}.{_signature(secret, post_id, version)}"


def read_post_token(secret: bytes, token: str) -> PostToken:
    """Return the post and version a token names; raises InvalidInput if malformed or forged."""
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
        raise InvalidInput("this is not a jiefang duty QR code")
    post_id, version = int(parts[1]), int(parts[2])
    if post_id > 2_147_483_647 or version > 2_147_483_647:
        raise InvalidInput("this is not a jiefang duty QR code")
    if not hmac.compare_digest(parts[3], _signature(secret, post_id, version)):
        raise InvalidInput("QR code signature is invalid: it was not issued by this platform")
    return PostToken(post_id, version)


def qr_png(token: str, scale: int = 8) -> bytes:
    """Return a PNG image of the QR code holding ``token``."""
    buf = io.BytesIO()
    segno.make(token, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_svg(token: str) -> str:
    """Return an SVG of the QR code holding ``token``, for print sheets (sharp at any size)."""
    buf = io.BytesIO()
    segno.make(token, error="m", micro=False).save(buf, kind="svg", scale=10, border=4, xmldecl=False)
    return buf.getvalue().decode()
