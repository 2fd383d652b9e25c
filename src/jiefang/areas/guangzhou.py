"""Published facts about Guangzhou's 11 districts used to import boundaries and shape the demo city.

Codes are the national administrative division codes (GB/T 2260). Resident population is the
7th national census (2020, thousands). Street/town counts are the 2020 administrative divisions
(街道 + 镇). ``core`` marks the old urban core where units are densest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DistrictFact:
    code: str
    name: str
    name_en: str
    population_k: int
    streets: int
    core: bool


GUANGZHOU_DISTRICTS: tuple[DistrictFact, ...] = (
    DistrictFact("440103", "荔湾区", "Liwan", 1238, 22, True),
    DistrictFact("440104", "越秀区", "Yuexiu", 1039, 18, True),
    DistrictFact("440105", "海珠区", "Haizhu", 1819, 18, True),
    DistrictFact("440106", "天河区", "Tianhe", 2241, 21, True),
    DistrictFact("440111", "白云区", "Baiyun", 3744, 24, False),
    DistrictFact("440112", "黄埔区", "Huangpu", 1264, 17, False),
    DistrictFact("440113", "番禺区", "Panyu", 2658, 16, False),
    DistrictFact("440114", "花都区", "Huadu", 1642, 10, False),
    DistrictFact("440115", "南沙区", "Nansha", 847, 9, False),
    DistrictFact("440117", "从化区", "Conghua", 718, 8, False),
    DistrictFact("440118", "增城区", "Zengcheng", 1466, 13, False),
)

BY_NAME = {d.name: d for d in GUANGZHOU_DISTRICTS}
BY_CODE = {d.code: d for d in GUANGZHOU_DISTRICTS}
