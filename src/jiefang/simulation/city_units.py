"""Synthetic minimum emergency units (最小应急单元): category, size, teams, equipment, names.

Where the figures come from: the city publishes only totals — 23,000 units and 227,000 registered
members (9.9 members per unit), the list of site categories, and one worked example, the urban
village 车陂村 with 156 members in 8 teams on 3 shifts. The category shares and size
distributions below are our assumptions, chosen so that (a) the mean unit size lands near 9.9
before the exact rescaling in ``unit_sizes``, (b) an urban village of about 150 members is a
plausible upper-tail case with ~20 members per team, and (c) shops and hotels are small (a
handful of staff) while business districts and scenic spots have a few dozen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from jiefang.simulation.city_names import place_words
from jiefang.units.vocab import CATEGORIES, EQUIPMENT

CATEGORY_KEYS = tuple(CATEGORIES)

# share of units per category: (old core districts, outer districts). The outer districts have
# more factories/enterprises, villages and scenic spots; the core more shops and business streets.
CATEGORY_SHARE: dict[str, tuple[float, float]] = {
    "business_district": (0.08, 0.04),
    "scenic_spot": (0.02, 0.04),
    "key_target": (0.07, 0.07),
    "enterprise": (0.14, 0.18),
    "crowded_place": (0.08, 0.06),
    "community_public": (0.20, 0.20),
    "urban_village": (0.04, 0.08),
    "hotel": (0.08, 0.06),
    "shop": (0.24, 0.20),
    "market": (0.05, 0.07),
}

# members per unit: (median, log-sd, minimum, maximum, members per team)
UNIT_SIZE: dict[str, tuple[float, float, int, int, int]] = {
    "business_district": (22, 0.50, 6, 120, 12),
    "scenic_spot": (16, 0.50, 5, 90, 10),
    "key_target": (10, 0.40, 4, 60, 8),
    "enterprise": (9, 0.50, 3, 80, 8),
    "crowded_place": (14, 0.45, 5, 90, 10),
    "community_public": (10, 0.45, 4, 60, 8),
    "urban_village": (36, 0.65, 12, 220, 20),  # 车陂村: 156 members, 8 teams
    "hotel": (7, 0.40, 3, 40, 8),
    "shop": (4, 0.35, 3, 15, 10),
    "market": (10, 0.40, 4, 60, 8),
}

SITE_SUFFIX: dict[str, tuple[str, ...]] = {
    "business_district": ("商圈", "商业街", "步行街", "商业广场"),
    "scenic_spot": ("公园", "景区", "湿地公园", "森林公园", "古村景区"),
    "key_target": ("变电站", "自来水厂", "燃气门站", "银行支行", "政务服务中心", "客运站"),
    "enterprise": ("科技有限公司", "实业有限公司", "物流园", "工业园", "中学", "医院"),
    "crowded_place": ("地铁站", "购物中心", "体育馆", "文化广场", "影城"),
    "community_public": ("社区", "花园小区", "新村"),
    "urban_village": ("村",),
    "hotel": ("酒店", "大酒店", "宾馆", "公寓酒店"),
    "shop": ("商行", "便利店", "五金店", "茶餐厅", "药店"),
    "market": ("市场", "农贸市场", "批发市场", "肉菜市场"),
}

ROAD_SUFFIX = ("路", "大道", "街", "大街", "东路", "西路", "北路", "南路", "一横路")

# equipment kind -> (probability a unit has it, base quantity, extra per member); category
# overrides below. Every unit keeps extinguishers and radios (对讲机 are how units are summoned).
EQUIPMENT_DEFAULT: dict[str, tuple[float, float, float]] = {
    "fire_extinguisher": (1.0, 2.0, 0.3),
    "aed": (0.2, 1.0, 0.0),
    "first_aid_kit": (0.9, 1.0, 0.08),
    "shield": (0.3, 1.0, 0.05),
    "restraint_fork": (0.3, 1.0, 0.05),
    "e_bike": (0.1, 1.0, 0.03),
    "radio": (1.0, 1.0, 0.4),
}
EQUIPMENT_OVERRIDE: dict[str, dict[str, tuple[float, float, float]]] = {
    "business_district": {"aed": (0.8, 1, 0.02), "shield": (0.9, 2, 0.05),
                          "restraint_fork": (0.9, 2, 0.05), "e_bike": (0.4, 1, 0.05)},
    "scenic_spot": {"aed": (0.7, 1, 0.02), "e_bike": (0.4, 1, 0.05)},
    "key_target": {"aed": (0.5, 1, 0.0), "shield": (0.95, 2, 0.1),
                   "restraint_fork": (0.95, 2, 0.1), "radio": (1.0, 2, 0.6)},
    "crowded_place": {"aed": (0.7, 1, 0.02), "shield": (0.7, 1, 0.05),
                      "restraint_fork": (0.7, 1, 0.05)},
    "enterprise": {"aed": (0.3, 1, 0.0), "shield": (0.5, 1, 0.05),
                   "restraint_fork": (0.5, 1, 0.05)},
    "community_public": {"e_bike": (0.5, 1, 0.05)},
    "urban_village": {"fire_extinguisher": (1.0, 4, 0.5), "shield": (0.8, 2, 0.05),
                      "restraint_fork": (0.8, 2, 0.05), "e_bike": (0.9, 1, 0.08)},
    "hotel": {"aed": (0.4, 1, 0.0), "shield": (0.15, 1, 0.0), "restraint_fork": (0.15, 1, 0.0)},
    "shop": {"aed": (0.05, 1, 0.0), "first_aid_kit": (0.6, 1, 0.0), "shield": (0.05, 1, 0.0),
             "restraint_fork": (0.05, 1, 0.0), "e_bike": (0.05, 1, 0.0), "radio": (0.6, 1, 0.2)},
    "market": {"shield": (0.6, 1, 0.05), "restraint_fork": (0.6, 1, 0.05)},
}


@dataclass
class UnitTable:
    """Units column by column; member ``i`` of unit ``u`` is global member ``member_start[u] + i``."""

    code: list[str]
    name: list[str]
    category: list[str]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    address: list[str]
    district_code: list[str]
    street_code: list[str]
    grid_code: list[str]
    police_grid_code: list[str]
    teams: list[list[str]]
    equipment: list[dict[str, int]]
    size: NDArray[np.int64]
    member_start: NDArray[np.int64]
    leader: NDArray[np.int64]  # global member index of the unit's leader

    def __len__(self) -> int:
        return len(self.code)


def draw_categories(rng: np.random.Generator, core: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Return a category index (into ``CATEGORY_KEYS``) per unit, by core/outer district mix."""
    share = np.array([CATEGORY_SHARE[k] for k in CATEGORY_KEYS], dtype=np.float64)
    out = np.empty(core.size, dtype=np.int64)
    for column, mask in ((0, core), (1, ~core)):
        p = share[:, column] / share[:, column].sum()
        out[mask] = rng.choice(len(CATEGORY_KEYS), size=int(mask.sum()), p=p)
    return out


def unit_sizes(rng: np.random.Generator, category: NDArray[np.int64], total: int) -> NDArray[np.int64]:
    """Return members per unit summing exactly to ``total``, within each category's bounds.

    Raises ValueError if ``total`` cannot respect the minimum or maximum sizes.
    """
    table = np.array([UNIT_SIZE[k][:4] for k in CATEGORY_KEYS], dtype=np.float64)
    median, sigma, low, high = (table[category, i] for i in range(4))
    if not low.sum() <= total <= high.sum():
        raise ValueError(f"{total} members cannot fill {category.size} units within size bounds")
    raw = np.clip(median * np.exp(sigma * rng.standard_normal(category.size)), low, high)
    sizes = np.clip(np.round(raw * total / raw.sum()), low, high).astype(np.int64)
    while (gap := total - int(sizes.sum())) != 0:
        room = sizes < high if gap > 0 else sizes > low
        pick = rng.choice(np.flatnonzero(room), size=min(abs(gap), int(room.sum())), replace=False)
        sizes[pick] += 1 if gap > 0 else -1
    return sizes


def team_names(category: NDArray[np.int64], sizes: NDArray[np.int64]) -> list[list[str]]:
    """Return the team (小队) names of each unit: one team per ``members per team`` members."""
    per_team = np.array([UNIT_SIZE[k][4] for k in CATEGORY_KEYS])[category]
    counts = np.maximum(1, np.round(sizes / per_team)).astype(np.int64)
    names = [f"第{k}小队" for k in range(1, int(counts.max(initial=1)) + 1)]
    return [names[:c] for c in counts]


def equipment(
    rng: np.random.Generator, category: NDArray[np.int64], sizes: NDArray[np.int64]
) -> list[dict[str, int]]:
    """Return each unit's equipment as kind -> quantity (kinds from ``EQUIPMENT``)."""
    out: list[dict[str, int]] = [{} for _ in range(category.size)]
    for kind in EQUIPMENT:
        rule = np.array(
            [EQUIPMENT_OVERRIDE.get(k, {}).get(kind, EQUIPMENT_DEFAULT[kind]) for k in CATEGORY_KEYS]
        )[category]
        has = rng.random(category.size) < rule[:, 0]
        qty = np.maximum(1, np.round((rule[:, 1] + rule[:, 2] * sizes) * rng.uniform(0.7, 1.3, sizes.size)))
        for u in np.flatnonzero(has):
            out[u][kind] = int(qty[u])
    return out


def site_names(
    rng: np.random.Generator, category: NDArray[np.int64], district_names: list[str]
) -> tuple[list[str], list[str]]:
    """Return (unit name, site word) per unit, e.g. ("天河区龙涌商圈应急单元", "龙涌商圈").

    Repeated names get an ordinal (第2应急单元) so every unit name is unique.
    """
    words = place_words(rng, category.size)
    pick = rng.random(category.size)
    seen: dict[str, int] = {}
    names, sites = [], []
    for u, c in enumerate(category):
        suffixes = SITE_SUFFIX[CATEGORY_KEYS[c]]
        site = words[u] + suffixes[int(pick[u] * len(suffixes))]
        base = district_names[u] + site
        seen[base] = seen.get(base, 0) + 1
        names.append(f"{base}应急单元" if seen[base] == 1 else f"{base}第{seen[base]}应急单元")
        sites.append(site)
    return names, sites


def addresses(
    rng: np.random.Generator, category: NDArray[np.int64], sites: list[str],
    district_names: list[str], street_names: list[str], street_index: NDArray[np.int64],
    n_streets: int,
) -> list[str]:
    """Return a postal-style address per unit: 广州市 + district + street + road and number.

    Villages and residential communities are addressed by their own name instead of a road.
    """
    roads_per_street = 6
    road_words = place_words(rng, n_streets * roads_per_street)
    road_suffix = rng.integers(0, len(ROAD_SUFFIX), size=len(road_words))
    roads = [w + ROAD_SUFFIX[s] for w, s in zip(road_words, road_suffix, strict=True)]
    road_pick = rng.integers(0, roads_per_street, size=category.size)
    number = rng.integers(1, 400, size=category.size)
    by_name = {CATEGORY_KEYS.index("urban_village"), CATEGORY_KEYS.index("community_public")}
    out = []
    for u, c in enumerate(category):
        s = int(street_index[u])
        head = f"广州市{district_names[u]}{street_names[s]}"
        if c in by_name:
            out.append(head + sites[u])
        else:
            out.append(f"{head}{roads[s * roads_per_street + road_pick[u]]}{number[u]}号")
    return out
