"""Where report photos are kept: a small interface and its local-disk implementation.

An S3-compatible store would implement the same three methods (boto3 is not a dependency yet).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from jiefang.errors import NotFound

_KEY = re.compile(r"^[a-z0-9][a-z0-9/_.-]{0,199}$")


class PhotoStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


class LocalPhotoStore:
    """Photos as files under ``root``; keys are relative paths made by the service, never by users."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key:
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        """Write the bytes atomically (a reader never sees half a photo)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """Return the stored bytes; raises NotFound if the file is gone."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("photo file is missing from the store") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
