"""The county map as a whole: draw it, render it to stable HTML, save it."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from coverkit.errors import ConfigError, OutputError
from coverkit.maps.assets import MAP_CSS, inline_leaflet, stable_ids
from coverkit.maps.geodata import as_geodataframe
from coverkit.maps.layers import LAYERS
from coverkit.maps.legend import CONTROLS
from coverkit.maps.raster import raster_wgs84
from coverkit.writers import write_text

if TYPE_CHECKING:
    import folium

    from coverkit.plan import CountyPlan

logger = logging.getLogger(__package__)  # log lines keep the name "coverkit.maps"

_UUID = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")


def plan_bounds(plan: CountyPlan) -> tuple[float, float, float, float]:
    """The (west, south, east, north) of a plan in degrees.

    Parameters
    ----------
    plan
        The county plan.

    Returns
    -------
    tuple of float
        The county boundary's bounds, or the population grid's when the plan
        has no boundary.
    """
    boundary = as_geodataframe(plan.boundary)
    if boundary is not None and len(boundary):
        west, south, east, north = (float(v) for v in boundary.total_bounds)
        return west, south, east, north
    g = plan.population
    _, bounds, _ = raster_wgs84(g.values, g.transform, g.crs, resampling="nearest")
    return bounds


#: Tile names shown when a ``tiles`` name is not known (they need no API key).
TILE_EXAMPLES: tuple[str, ...] = ("OpenStreetMap", "OpenTopoMap", "Esri.WorldImagery")


def check_tiles(name: str) -> str:
    """Check a base-layer name before a map is drawn (``coverkit map --tiles``).

    Parameters
    ----------
    name
        A tile provider name as folium accepts it: ``'OpenStreetMap'`` or any
        :mod:`xyzservices` provider that needs no API key (matched as
        :func:`xyzservices.providers.query_name` does: any case, dots and spaces
        optional, e.g. ``'CartoDB positron'``).

    Returns
    -------
    str
        ``name`` itself, which :func:`map_from_plan` can use.

    Raises
    ------
    ConfigError
        One line naming the value and a few valid names (the closest ones
        first): for an unknown name, a tile URL (folium needs its attribution,
        which coverkit cannot ask for) or a provider that needs an API key.
    """
    import difflib

    import xyzservices

    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"tiles={name!r} is empty; give a name such as {TILE_EXAMPLES[0]}")
    if name.strip().lower() == "openstreetmap":
        return name
    free = [k for k, v in xyzservices.providers.flatten().items() if not v.requires_token()]
    try:
        provider = xyzservices.providers.query_name(name)
    except ValueError:
        provider = None
    if provider is not None and not provider.requires_token():
        return name
    close = difflib.get_close_matches(name, free, n=3, cutoff=0.5)
    names = ", ".join(dict.fromkeys([*close, *TILE_EXAMPLES]))
    why = "needs an API key" if provider is not None else "is not a known tile name"
    shown = name if len(name) <= 60 else name[:57] + "..."
    raise ConfigError(f"tiles={shown!r} {why}; use e.g. {names} (or leave --tiles out: offline)")


def map_from_plan(plan: CountyPlan, *, tiles: str | None = None) -> folium.Map:
    """Draw a county plan on an offline Leaflet map.

    Parameters
    ----------
    plan
        The county plan (:class:`coverkit.plan.CountyPlan`); optional columns
        may be missing.
    tiles
        Base layer: ``None`` (default) for no tiles, which keeps the map fully
        offline, or a folium tile name such as ``'OpenStreetMap'`` (online),
        checked by :func:`check_tiles`.

    Returns
    -------
    folium.Map
        The map with one overlay per layer (county boundary, townships, roads,
        population, travel time before/after, facilities, sub-centres,
        catchments, isochrones, villages), a layer control, a bilingual legend,
        a title and a scale bar, fitted to the county bounds. Render it with
        :func:`html_from_map` or write it with :func:`save_map`.

    Raises
    ------
    ConfigError
        For ``tiles`` that :func:`check_tiles` refuses.

    Notes
    -----
    The overlays are the functions of :data:`coverkit.maps.layers.LAYERS`, in
    that order, then the fixed parts of :data:`coverkit.maps.legend.CONTROLS`.
    """
    import folium

    if tiles is not None:
        check_tiles(tiles)
    west, south, east, north = plan_bounds(plan)
    fmap = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        zoom_start=10,
        tiles=tiles,
        control_scale=True,
        prefer_canvas=False,
    )
    inline_leaflet(fmap, extra_css=MAP_CSS)
    for add_layer in LAYERS:
        add_layer(fmap, plan)
    for add_control in CONTROLS:
        add_control(fmap, plan)
    # keep the county clear of the legend (left) and the title (top)
    fmap.fit_bounds(
        [[south, west], [north, east]], padding_top_left=(290, 90), padding_bottom_right=(20, 20)
    )
    stable_ids(fmap.get_root())
    return fmap


def html_from_map(m: folium.Map) -> str:
    """Render a map to HTML with deterministic element ids.

    Parameters
    ----------
    m
        A map from :func:`map_from_plan` (any folium map works).

    Returns
    -------
    str
        The full HTML document. Random uuid ids that folium creates while
        rendering are replaced by ``ckr0001``, ``ckr0002`` ... in order of
        first appearance, so equal maps give byte-identical HTML.
    """
    import copy

    # folium's render mutates the tree (a second render of the same map would
    # differ), so render a copy and leave ``m`` as it was.
    root = copy.deepcopy(m.get_root())
    stable_ids(root)
    text = root.render()
    mapping: dict[str, str] = {}

    def repl(match: re.Match[str]) -> str:
        key = match.group(0)
        if key not in mapping:
            mapping[key] = f"ckr{len(mapping) + 1:04d}"
        return mapping[key]

    return _UUID.sub(repl, text)


def save_map(plan_or_map: CountyPlan | folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write a plan's map (or a ready map) as one self-contained HTML file.

    Parameters
    ----------
    plan_or_map
        A :class:`~coverkit.plan.CountyPlan` (drawn with :func:`map_from_plan`
        and no base tiles) or a :class:`folium.Map`.
    path
        Output file; its folder must exist. Written to a temporary file in the
        same folder, then renamed, so a failure leaves no partial file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputError
        If the folder does not exist or the file cannot be written.
    """
    import folium

    m = plan_or_map if isinstance(plan_or_map, folium.Map) else map_from_plan(plan_or_map)
    text = html_from_map(m)
    out = Path(path)
    if not out.parent.exists():
        raise OutputError(f"folder '{out.parent}' does not exist; create it or choose another path")
    write_text(text, out)  # atomic; a failure is one OutputError line naming the file
    logger.info("map written to %s (%.1f kB)", out, len(text.encode("utf-8")) / 1024)
    return out


__all__ = [
    "TILE_EXAMPLES",
    "check_tiles",
    "html_from_map",
    "map_from_plan",
    "plan_bounds",
    "save_map",
]
