"""Offline Folium map of a county plan.

:func:`map_from_plan` draws a :class:`~coverkit.plan.CountyPlan` on a Leaflet
map and :func:`save_map` writes it as ONE self-contained HTML file: Leaflet's
JS/CSS (vendored in ``coverkit/assets/leaflet`` with its licence) are inlined,
rasters are PNG data URIs and no base tiles are loaded unless asked for.

Every name shown on the map comes from user data and is HTML-escaped (and
its backticks, ``$`` and backslashes turned into entities, so it cannot break
out of a JavaScript string or template literal either). Element ids are made
stable so the same plan gives byte-identical HTML.

Modules
-------
``assets``
    Offline Leaflet blocks (inlined JS/CSS, PNG data URIs, escaping, the two
    custom folium elements), also used by the province overview map.
``styles``
    Colours, road styles, time and population classes (labels: :mod:`coverkit.vocab`).
``cells``, ``geodata``, ``raster``
    The plan's tables and rasters as the map shows them.
``layers``
    One ``add_<layer>(fmap, plan)`` per overlay, in the ordered :data:`LAYERS`.
``legend``
    Layer control, title and legend (:data:`~coverkit.maps.legend.CONTROLS`).
``build``
    :func:`map_from_plan`, :func:`html_from_map`, :func:`save_map`.
"""

from __future__ import annotations

from coverkit.maps.assets import (
    element_classes,
    escape_html,
    inline_json,
    inline_leaflet,
    leaflet_assets,
    png_data_uri,
    text_element,
)
from coverkit.maps.build import html_from_map, map_from_plan, save_map
from coverkit.maps.geodata import as_geodataframe, located_subcentres
from coverkit.maps.layers import LAYERS
from coverkit.maps.styles import (
    COORD_DECIMALS,
    FACILITY_TIERS,
    MAX_RASTER_WIDTH_PX,
    POPULATION_CLASSES,
    ROAD_STYLES,
    SERVICE_MODES,
    SIMPLIFY_TOLERANCE_M,
    TIME_CLASSES,
    UNREACHABLE_COLOUR,
)

__all__ = [
    "COORD_DECIMALS",
    "FACILITY_TIERS",
    "LAYERS",
    "MAX_RASTER_WIDTH_PX",
    "POPULATION_CLASSES",
    "ROAD_STYLES",
    "SERVICE_MODES",
    "SIMPLIFY_TOLERANCE_M",
    "TIME_CLASSES",
    "UNREACHABLE_COLOUR",
    "as_geodataframe",
    "element_classes",
    "escape_html",
    "html_from_map",
    "inline_json",
    "inline_leaflet",
    "leaflet_assets",
    "located_subcentres",
    "map_from_plan",
    "png_data_uri",
    "save_map",
    "text_element",
]
