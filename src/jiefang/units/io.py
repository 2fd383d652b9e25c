"""Units as CSV and GeoJSON, in and out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jiefang.areas.models import Area
from jiefang.areas.service import AreaLocator
from jiefang.errors import InvalidInput
from jiefang.people.access import Principal
from jiefang.units.models import Team, Unit
from jiefang.units.schemas import UnitCreate, UnitImportReport, UnitUpdate
from jiefang.units.service import Locator, create_unit, update_unit

CSV_FIELDS = ("code", "name", "category", "status", "lon", "lat", "address", "district_code",
              "teams", "equipment")
MAX_IMPORT_ROWS = 50_000


def _equipment_text(unit: Unit) -> str:
    return ";".join(f"{e.kind}:{e.quantity}" for e in unit.equipment)


def _parse_equipment(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        kind, _, qty = part.partition(":")
        try:
            out[kind.strip()] = int(qty)
        except ValueError as exc:
            raise ValueError(f"equipment {part!r} must look like kind:quantity") from exc
    return out


def _units_with_children(session: Session, district_id: int | None) -> Iterator[tuple[Unit, str]]:
    district_codes = dict(session.execute(select(Area.id, Area.code).where(Area.level == "district")).all())
    stmt = select(Unit).options(selectinload(Unit.teams), selectinload(Unit.equipment)).order_by(Unit.code)
    if district_id is not None:
        stmt = stmt.where(Unit.district_id == district_id)
    for unit in session.scalars(stmt.execution_options(yield_per=2000)):
        yield unit, district_codes.get(unit.district_id, "")


def export_csv(session: Session, district_id: int | None = None) -> Iterator[str]:
    """Yield CSV text (header first) of units, teams as ``a|b``, equipment as ``kind:qty;...``."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    for unit, district_code in _units_with_children(session, district_id):
        writer.writerow([unit.code, unit.name, unit.category, unit.status, f"{unit.lon:.6f}",
                         f"{unit.lat:.6f}", unit.address or "", district_code,
                         "|".join(t.name for t in unit.teams), _equipment_text(unit)])
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def export_geojson(session: Session, district_id: int | None = None) -> dict[str, Any]:
    """Return units as a GeoJSON FeatureCollection of points."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(u.lon, 6), round(u.lat, 6)]},
            "properties": {
                "code": u.code, "name": u.name, "category": u.category, "status": u.status,
                "address": u.address, "district_code": district_code,
                "teams": [t.name for t in u.teams],
                "equipment": {e.kind: e.quantity for e in u.equipment},
            },
        }
        for u, district_code in _units_with_children(session, district_id)
    ]
    return {"type": "FeatureCollection", "features": features}


def _rows_from_csv(text: str) -> list[dict[str, Any]]:
    try:
        return _read_csv(text)
    except csv.Error as exc:
        raise InvalidInput(f"CSV is malformed: {exc}") from exc


def _read_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = {"code", "name", "category", "lon", "lat"} - set(reader.fieldnames or [])
    if missing:
        raise InvalidInput(f"CSV is missing columns: {', '.join(sorted(missing))}")
    return [
        {
            "code": row["code"], "name": row["name"], "category": row["category"],
            "status": row.get("status") or "active", "lon": row["lon"], "lat": row["lat"],
            "address": row.get("address") or None,
            "teams": [t for t in (row.get("teams") or "").split("|") if t.strip()],
            "equipment": row.get("equipment") or "",
        }
        for row in reader
    ]


def _rows_from_geojson(collection: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("expected a GeoJSON FeatureCollection")
    rows = []
    for i, feat in enumerate(collection.get("features") or []):
        geom = (feat or {}).get("geometry") or {}
        if geom.get("type") != "Point" or len(geom.get("coordinates") or []) < 2:
            raise InvalidInput(f"feature {i}: unit geometry must be a Point")
        props = dict(feat.get("properties") or {})
        props.pop("district_code", None)
        props["lon"], props["lat"] = geom["coordinates"][:2]
        rows.append(props)
    return rows


def import_units(session: Session, who: Principal, text: str, fmt: str) -> UnitImportReport:
    """Create or update units (matched by code) from CSV or GeoJSON text, all or nothing.

    Raises InvalidInput listing the first bad rows (nothing is kept then), Forbidden for a unit
    outside the caller's scope.
    """
    if fmt == "csv":
        rows = _rows_from_csv(text)
    else:
        try:
            rows = _rows_from_geojson(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not rows:
        raise InvalidInput("no units in the file")
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"{len(rows)} units, more than the limit of {MAX_IMPORT_ROWS}")
    codes = [str(r.get("code")) for r in rows]
    existing = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    created = updated = 0
    locator = AreaLocator(session) if len(rows) > 20 else None
    try:
        for i, row in enumerate(rows, start=1):
            try:
                if isinstance(row.get("equipment"), str):
                    row["equipment"] = _parse_equipment(row["equipment"])
                if row.get("code") in existing:
                    data = UnitUpdate.model_validate({k: v for k, v in row.items() if k not in ("code", "teams")})
                    _apply_update(session, who, existing[row["code"]], data, row.get("teams") or [], locator)
                    updated += 1
                else:
                    create_unit(session, who, UnitCreate.model_validate(row), commit=False, locator=locator)
                    created += 1
            except (ValidationError, ValueError) as exc:
                raise InvalidInput(f"row {i} ({row.get('code')}): {_first_error(exc)}") from exc
            except InvalidInput as exc:
                raise InvalidInput(f"row {i} ({row.get('code')}): {exc.message}") from exc
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return UnitImportReport(created=created, updated=updated)


def _apply_update(
    session: Session, who: Principal, unit: Unit, data: UnitUpdate, teams: list[str], locator: Locator | None
) -> None:
    update_unit(session, who, unit.id, data, commit=False, locator=locator)
    have = {t.name for t in unit.teams}
    unit.teams.extend(Team(name=n) for n in teams if n not in have)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        return f"{loc}: {err['msg']}" if loc else err["msg"]
    return str(exc)
