"""How the county map looks: colours, road styles, time and population classes, sizes.

Colours are keyed by the vocabulary (:class:`~coverkit.vocab.Tier`,
:class:`~coverkit.vocab.ServiceMode`); the words shown next to them come from
:data:`coverkit.vocab.LABELS` (:func:`coverkit.vocab.label`), never from here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from coverkit.maps.cells import is_null, truthy
from coverkit.vocab import ServiceMode, Tier

#: Largest raster width (pixels) drawn on the map; wider grids are downsampled.
MAX_RASTER_WIDTH_PX = 800
#: Geometries are simplified to this tolerance (metres) before drawing.
SIMPLIFY_TOLERANCE_M = 25.0
#: Coordinates are rounded to this many decimals (1e-5° ≈ 1 m).
COORD_DECIMALS = 5

#: Map class of a facility → marker colour (labels: ``vocab.label(key)``). Besides
#: the tiers, ``central_centre`` (a central township centre) and ``other``; the
#: order is the legend's.
FACILITY_TIERS: dict[str, str] = {
    Tier.COUNTY_HOSPITAL: "#c0392b",
    "central_centre": "#154360",
    Tier.TOWNSHIP_CENTRE: "#2e86c1",
    Tier.VILLAGE_CLINIC: "#1e8449",
    "other": "#7f8c8d",
}
#: Marker size (px) by facility class; classes not listed use :data:`FACILITY_SIZE_PX`.
FACILITY_SIZES_PX: dict[str, int] = {
    Tier.COUNTY_HOSPITAL: 20,
    "central_centre": 18,
    Tier.TOWNSHIP_CENTRE: 14,
}
#: Marker size (px) of the other facility classes.
FACILITY_SIZE_PX = 9
#: One-character glyph inside a facility marker, by class.
FACILITY_GLYPHS: dict[str, str] = {Tier.COUNTY_HOSPITAL: "县", "central_centre": "中"}

#: Village service mode → marker colour (labels: ``vocab.label(key)``); ``unknown``
#: is a village without a mode.
SERVICE_MODES: dict[str, str] = {
    ServiceMode.FIXED: "#1f77b4",
    ServiceMode.JOINT: "#2ca02c",
    ServiceMode.ROTATION: "#ff7f0e",
    ServiceMode.STATIONED: "#9467bd",
    ServiceMode.BUILD: "#e377c2",
    "unknown": "#7f7f7f",
}

#: OpenStreetMap ``highway`` values drawn as main roads.
MAIN_ROADS = frozenset(
    {"motorway", "trunk", "primary", "motorway_link", "trunk_link", "primary_link"}
)
#: OpenStreetMap ``highway`` values drawn as secondary roads.
MID_ROADS = frozenset({"secondary", "tertiary", "secondary_link", "tertiary_link"})
#: Road class → (line weight px, colour); labels: ``vocab.label("road.<class>")``.
ROAD_STYLES: dict[str, tuple[float, str]] = {
    "main": (4.0, "#a93226"),
    "secondary": (2.5, "#d68910"),
    "minor": (1.2, "#6e6e6e"),
}

#: Travel-time classes (lower, upper minutes, colour); ``inf`` is unreachable.
TIME_CLASSES: tuple[tuple[float, float, str], ...] = (
    (0.0, 15.0, "#1a9850"),
    (15.0, 30.0, "#91cf60"),
    (30.0, 45.0, "#fee08b"),
    (45.0, 60.0, "#fc8d59"),
    (60.0, math.inf, "#d73027"),
)
#: Colour of unreachable cells on the travel-time layers.
UNREACHABLE_COLOUR = "#3b3b3b"
#: Population density classes (people per km², lower bounds) and colours.
POPULATION_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "#fff5eb"),
    (10.0, "#fdd0a2"),
    (50.0, "#fd8d3c"),
    (200.0, "#e6550d"),
    (1000.0, "#a63603"),
    (5000.0, "#4a1a00"),
)

#: Colours of the accessibility index's classes, lowest first (ColorBrewer YlGnBu, 5).
ACCESS_COLOURS: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
#: Colour of cells with people but no supply within reach (index 0).
ACCESS_ZERO_COLOUR = "#d73027"
#: Quantiles that split the positive index values into the classes (equal counts:
#: the index's scale depends on the supply measured, beds or sites, so fixed class
#: bounds would not fit every run).
ACCESS_QUANTILES: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
#: Values sampled (on a regular stride of the grid) to find the class bounds.
ACCESS_SAMPLE_CELLS = 1_000_000


def access_classes(index: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Class bounds and colours of an accessibility index raster (map layer and legend).

    Parameters
    ----------
    index
        The index per cell (NaN outside the county, 0 without access).

    Returns
    -------
    tuple
        The upper bounds of all classes but the last (increasing, at most
        ``len(ACCESS_QUANTILES)``: the :data:`ACCESS_QUANTILES` of the positive
        values of a regular sample of at most :data:`ACCESS_SAMPLE_CELLS` cells,
        ties merged) and one colour per class from :data:`ACCESS_COLOURS`.
    """
    arr = np.asarray(index)
    stride = max(1, math.ceil(math.sqrt(arr.size / ACCESS_SAMPLE_CELLS))) if arr.ndim == 2 else 1
    sample = np.asarray(arr[::stride, ::stride] if arr.ndim == 2 else arr, dtype="float64")
    positive = sample[np.isfinite(sample) & (sample > 0)]
    bounds = np.unique(np.quantile(positive, ACCESS_QUANTILES)) if positive.size else np.empty(0)
    picks = np.round(np.linspace(0, len(ACCESS_COLOURS) - 1, len(bounds) + 1)).astype(int)
    return bounds, tuple(ACCESS_COLOURS[i] for i in picks)


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """The (red, green, blue) bytes of a ``#rrggbb`` colour.

    Parameters
    ----------
    colour
        A colour such as ``"#3b3b3b"`` (the ``#`` is optional).

    Returns
    -------
    tuple of int
        Red, green and blue, each 0–255.
    """
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def facility_class(tier: Any, central: Any) -> str:
    """The map class of a facility: its tier, ``central_centre`` or ``other``.

    Parameters
    ----------
    tier
        The facility's ``tier`` cell.
    central
        Its ``is_central`` cell (a township centre marked central is drawn as one).

    Returns
    -------
    str
        A key of :data:`FACILITY_TIERS`.
    """
    value = str(tier) if not is_null(tier) else "other"
    if value == Tier.TOWNSHIP_CENTRE and truthy(central):
        return "central_centre"
    return value if value in FACILITY_TIERS else "other"


def road_class(highway: Any) -> str:
    """The map class (``main``, ``secondary`` or ``minor``) of an OSM ``highway`` value.

    Parameters
    ----------
    highway
        The road's ``highway`` cell; a list (or its text) counts by its first value.

    Returns
    -------
    str
        A key of :data:`ROAD_STYLES`.
    """
    h = str(highway) if not is_null(highway) else ""
    h = h.strip("[]'\" ").split(",")[0].strip("'\" ")
    if h in MAIN_ROADS:
        return "main"
    if h in MID_ROADS:
        return "secondary"
    return "minor"


__all__ = [
    "ACCESS_COLOURS",
    "ACCESS_QUANTILES",
    "ACCESS_SAMPLE_CELLS",
    "ACCESS_ZERO_COLOUR",
    "COORD_DECIMALS",
    "FACILITY_GLYPHS",
    "FACILITY_SIZES_PX",
    "FACILITY_SIZE_PX",
    "FACILITY_TIERS",
    "MAIN_ROADS",
    "MAX_RASTER_WIDTH_PX",
    "MID_ROADS",
    "POPULATION_CLASSES",
    "ROAD_STYLES",
    "SERVICE_MODES",
    "SIMPLIFY_TOLERANCE_M",
    "TIME_CLASSES",
    "UNREACHABLE_COLOUR",
    "access_classes",
    "facility_class",
    "hex_rgb",
    "road_class",
]
