"""Resident ID numbers (居民身份证号码, GB 11643-1999): the check character."""

from __future__ import annotations

import numpy as np

# weights 2^(17-i) mod 11; the weighted sum's remainder mod 11 picks the check character
ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
ID_CHECK = "10X98765432"


def id_check_digit(body: str) -> str:
    """Return the check character ('0'-'9' or 'X') for the first 17 digits of an ID.

    Raises ValueError unless ``body`` is exactly 17 ASCII digits.
    """
    if len(body) != 17 or not body.isascii() or not body.isdigit():
        raise ValueError(f"an ID body is 17 digits, got {body!r}")
    return ID_CHECK[sum(int(c) * int(w) for c, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def id_check_digits(bodies: list[str]) -> list[str]:
    """Return the check character of each 17-digit body (vectorised ``id_check_digit``)."""
    digits = np.frombuffer("".join(bodies).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - 48
    return [ID_CHECK[r] for r in (digits.astype(np.int64) @ ID_WEIGHTS) % 11]
