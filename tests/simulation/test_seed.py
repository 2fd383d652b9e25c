"""Seeding a database with the synthetic city, on SQLite and PostgreSQL (conftest back ends)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from jiefang.areas.models import Area
from jiefang.db import make_engine
from jiefang.errors import Conflict
from jiefang.people.models import Member, MemberSkill
from jiefang.simulation.city import SyntheticCity, build_city
from jiefang.simulation.seed import seed_database
from jiefang.units.models import Team, Unit, UnitEquipment


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    return build_city("small", seed=3, as_of=date(2025, 6, 1))


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[Engine]:
    """An engine on a fresh migrated database, once per back end (see tests/conftest.py)."""
    engine = make_engine(empty_database_url)
    yield engine
    engine.dispose()


def _count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_seeding_writes_the_counts_it_reports(engine: Engine, city: SyntheticCity) -> None:
    report = seed_database(engine, city)
    assert (report.units, report.members) == (len(city.units), len(city.members))
    assert report.districts == 11
    with Session(engine) as s:
        assert _count(s, Area, Area.level == "district") == report.districts
        assert _count(s, Area, Area.level == "street") == report.streets == len(city.streets)
        assert _count(s, Area, Area.level == "grid") == report.grids == len(city.grids)
        assert _count(s, Area, Area.level == "police_grid") == report.police_grids
        assert _count(s, Unit) == report.units
        assert _count(s, Team) == report.teams == sum(len(t) for t in city.units.teams)
        assert _count(s, UnitEquipment) == report.equipment
        assert _count(s, Member) == report.members
        assert _count(s, MemberSkill) == report.member_skills > 0
        assert set(report.stage_seconds) >= {"units", "members", "leaders"}


def test_seeded_units_have_their_leader_and_consistent_areas(
    engine: Engine, city: SyntheticCity
) -> None:
    seed_database(engine, city)
    grid, street = aliased(Area), aliased(Area)
    with Session(engine) as s:
        rows = s.execute(
            select(Unit, Member, grid, street)
            .join(Member, Member.id == Unit.leader_member_id)
            .join(grid, grid.id == Unit.grid_id)
            .join(street, street.id == Unit.street_id)
        ).all()
        assert len(rows) == len(city.units)
        for unit, leader, g, st in rows:
            assert (leader.unit_id, leader.role) == (unit.id, "leader")
            assert g.parent_id == st.id and st.parent_id == unit.district_id
            assert g.district_id == unit.district_id
            assert g.min_lon <= unit.lon <= g.max_lon and g.min_lat <= unit.lat <= g.max_lat
        district = s.scalars(select(Area).where(Area.code == "440106")).one()
        assert district.district_id == district.id and district.parent_id is None
        assert 130 < district.area_km2 < 145  # 天河区 is about 137 km²
        member = s.scalars(select(Member).where(Member.id_number == city.members.id_number[0])).one()
        assert member.team_id is not None and member.insurance_expires_on is not None


def test_seeding_twice_is_refused_and_writes_nothing(engine: Engine, city: SyntheticCity) -> None:
    seed_database(engine, city)
    with pytest.raises(Conflict, match="already has units"):
        seed_database(engine, city)
    with Session(engine) as s:
        assert _count(s, Unit) == len(city.units)
        assert _count(s, Area) == sum(len(layer) for layer in city.area_layers)


def test_rows_added_after_seeding_get_fresh_ids(engine: Engine, city: SyntheticCity) -> None:
    seed_database(engine, city)
    with Session(engine) as s, s.begin():
        district_id = s.scalar(select(Area.id).where(Area.code == "440104"))
        unit = Unit(code="GZ-440104-99999", name="越秀区新增应急单元", category="shop",
                    lon=113.27, lat=23.13, district_id=district_id)
        s.add(unit)
        s.flush()
        member = Member(unit_id=unit.id, name="陈新", phone="13800000000", role="leader")
        s.add(member)
        s.flush()
        assert unit.id == len(city.units) + 1
        assert member.id == len(city.members) + 1


def test_districts_already_imported_are_reused_not_duplicated(
    engine: Engine, city: SyntheticCity
) -> None:
    from jiefang.areas.service import import_areas, load_shipped_districts

    with Session(engine) as s:
        import_areas(s, load_shipped_districts(), default_level="district")
    report = seed_database(engine, city)
    assert report.districts == 0 and report.streets == len(city.streets)
    with Session(engine) as s:
        assert _count(s, Area, Area.level == "district") == 11
        tianhe = s.scalar(select(Area.id).where(Area.code == "440106"))
        assert _count(s, Unit, Unit.district_id == tianhe) == city.units.district_code.count("440106")
