"""Reading uploaded files with a size bound and a content check."""

from __future__ import annotations

import json
from typing import Any

from fastapi import UploadFile

from jiefang.errors import InvalidInput


async def read_bytes_upload(file: UploadFile, max_bytes: int) -> bytes:
    """Return the upload's bytes; raises InvalidInput if it is larger than ``max_bytes``."""
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidInput(f"file {file.filename!r} is larger than the limit of {max_bytes} bytes")
    return data


async def read_text_upload(file: UploadFile, max_bytes: int) -> str:
    """Return the upload decoded as UTF-8 (BOM allowed); raises InvalidInput if too big or binary."""
    data = await read_bytes_upload(file, max_bytes)
    if b"\x00" in data[:4096]:
        raise InvalidInput(f"file {file.filename!r} is binary, expected text (CSV or GeoJSON)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"file {file.filename!r} is not UTF-8 text") from exc


async def read_json_upload(file: UploadFile, max_bytes: int) -> Any:
    """Return the upload parsed as JSON; raises InvalidInput with the parse error position."""
    text = await read_text_upload(file, max_bytes)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"file {file.filename!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
