"""Site categories and equipment kinds, with their Chinese and English labels."""

from __future__ import annotations

# site category -> (中文, English)
CATEGORIES: dict[str, tuple[str, str]] = {
    "business_district": ("商圈", "Business district"),
    "scenic_spot": ("景区", "Scenic spot"),
    "key_target": ("重点目标单位", "Key target"),
    "enterprise": ("企事业单位", "Enterprise / institution"),
    "crowded_place": ("人员密集场所", "Crowded place"),
    "community_public": ("社区公共区域", "Community public area"),
    "urban_village": ("城中村", "Urban village"),
    "hotel": ("酒店", "Hotel"),
    "shop": ("商铺", "Shop"),
    "market": ("市场", "Market"),
}

# equipment kind -> (中文, English)
EQUIPMENT: dict[str, tuple[str, str]] = {
    "fire_extinguisher": ("灭火器", "Fire extinguisher"),
    "aed": ("AED除颤仪", "AED"),
    "first_aid_kit": ("急救包", "First-aid kit"),
    "shield": ("防暴盾牌", "Shield"),
    "restraint_fork": ("钢叉", "Restraint fork"),
    "e_bike": ("电动车", "E-bike"),
    "radio": ("对讲机", "Radio"),
}

UNIT_STATUSES = ("active", "suspended", "disbanded")
