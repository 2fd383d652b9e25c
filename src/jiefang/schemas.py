"""Shapes shared by every domain: pages of results, bounding boxes, points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

T = TypeVar("T")

def printable(value: str) -> str:
    """Return ``value`` unchanged; raises ValueError if it holds control characters (NUL etc.)."""
    if any((ord(c) < 32 and c not in "\t\n\r") or c == "\x7f" for c in value):
        raise ValueError("must not contain control characters")
    return value


def as_utc(value: datetime) -> datetime:
    """Return ``value`` with UTC assumed when it names no zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


SafeStr = Annotated[str, AfterValidator(printable)]
# A point in time; one without a zone is read as UTC (the database keeps only aware times).
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
# Printable text without surrounding whitespace. Stripping happens before the printable check, so
# a length limit put on top (min_length=1) applies to the stripped text: "   " is not a name.
CleanStr = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(printable)]
SEARCH_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # the same rule for query strings

MAX_ID = 2_147_483_647  # ids are 32-bit on every back end; larger numbers cannot name a row
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]


class ErrorOut(BaseModel):
    """Every error response: a stable code and a message for people."""

    error: str
    message: str


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "not logged in, or the token expired or was revoked"},
    403: {"model": ErrorOut, "description": "your role or scope does not allow this"},
    404: {"model": ErrorOut, "description": "no such resource"},
    409: {"model": ErrorOut, "description": "conflicts with existing data"},
    422: {"model": ErrorOut, "description": "invalid input; the message says which field and why"},
}
RATE_LIMITED: dict[int | str, dict[str, object]] = {
    429: {"model": ErrorOut, "description": "too many attempts: wait the seconds in the Retry-After header"},
}


class Page(BaseModel, Generic[T]):
    """One page of a filtered list; ``total`` counts every match, not just this page."""

    items: list[T]
    total: int
    page: int
    page_size: int


class PageParams(BaseModel):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=500)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class BBox(BaseModel):
    """A WGS84 bounding box (degrees)."""

    model_config = ConfigDict(frozen=True)

    min_lon: float = Field(ge=-180, le=180)
    min_lat: float = Field(ge=-90, le=90)
    max_lon: float = Field(ge=-180, le=180)
    max_lat: float = Field(ge=-90, le=90)

    @model_validator(mode="after")
    def _ordered(self) -> BBox:
        if self.min_lon > self.max_lon or self.min_lat > self.max_lat:
            raise ValueError("bbox must be min_lon,min_lat,max_lon,max_lat with min <= max")
        return self

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Parse ``"min_lon,min_lat,max_lon,max_lat"``; raises ValueError with a clear message."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("bbox needs 4 comma-separated numbers: min_lon,min_lat,max_lon,max_lat")
        try:
            a, b, c, d = (float(p) for p in parts)
        except ValueError as exc:
            raise ValueError(f"bbox has a value that is not a number: {text!r}") from exc
        return cls(min_lon=a, min_lat=b, max_lon=c, max_lat=d)


class Point(BaseModel):
    """A WGS84 position."""

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)


class PatchModel(BaseModel):
    """A partial update: omitted fields stay as they are; fields named in ``not_null`` cannot be
    set to null (they are required columns), the others can be cleared with null."""

    model_config = ConfigDict(extra="forbid")
    not_null: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _no_nulls(self) -> PatchModel:
        bad = [f for f in self.not_null if f in self.model_fields_set and getattr(self, f) is None]
        if bad:
            raise ValueError(f"{', '.join(bad)} cannot be null (leave the field out to keep it)")
        return self
