"""The overlays of the county map: one ``add_<layer>(fmap, plan)`` function per layer.

:data:`LAYERS` lists them in the order of the layer control; :func:`map_from_plan
<coverkit.maps.build.map_from_plan>` calls each in turn. To add a layer, write one
function ``add_<layer>(fmap, plan)`` that makes its group with :func:`new_group`
and draws into it, and put it into :data:`LAYERS`.

Every user string drawn here goes through :func:`~coverkit.maps.assets.escape_html`;
geometry travels as GeoJSON without properties.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit.maps.assets import circle_marker_class, element_classes, escape_html, inline_json
from coverkit.maps.cells import column_values, format_number, is_null, popup_table, truthy
from coverkit.maps.geodata import as_geodataframe, geojson_of, located_subcentres
from coverkit.maps.raster import (
    downsample,
    image_overlay_js,
    population_overlay_js,
    raster_wgs84,
    time_overlay_js,
)
from coverkit.maps.styles import (
    ACCESS_ZERO_COLOUR,
    COORD_DECIMALS,
    FACILITY_GLYPHS,
    FACILITY_SIZE_PX,
    FACILITY_SIZES_PX,
    FACILITY_TIERS,
    ROAD_STYLES,
    SERVICE_MODES,
    access_classes,
    facility_class,
    hex_rgb,
    road_class,
)
from coverkit.vocab import Tier, label

if TYPE_CHECKING:
    import folium

    from coverkit.plan import CountyPlan


# --------------------------------------------------------------------------- building blocks


def new_group(fmap: folium.Map, name: str, *, show: bool = True) -> folium.FeatureGroup:
    """A new overlay of ``fmap``, listed in the layer control.

    Parameters
    ----------
    fmap
        The map.
    name
        The overlay's name in the layer control.
    show
        Whether it is on when the map opens.

    Returns
    -------
    folium.FeatureGroup
    """
    import folium

    group = folium.FeatureGroup(name=name, show=show, overlay=True, control=True)
    group.add_to(fmap)
    return group


def add_geojson(parent: Any, data: dict[str, Any], style: dict[str, Any]) -> Any:
    """Draw a GeoJSON FeatureCollection with one style into ``parent``.

    Parameters
    ----------
    parent
        The group (or map) to draw into.
    data
        A FeatureCollection (:func:`~coverkit.maps.geodata.geojson_of`).
    style
        Leaflet path options.

    Returns
    -------
    JsLayer
        The drawn layer (bind a tooltip or popup to it).
    """
    js_layer, _ = element_classes()
    layer = js_layer(
        f"L.geoJSON({inline_json(data)}, {{style: {inline_json(style)}}}).addTo({{parent}})",
        "geojson",
    )
    parent.add_child(layer)
    return layer


def bind(element: Any, kind: str, content_html: str, options: dict[str, Any]) -> None:
    """Bind a popup or tooltip of HTML-safe content to a drawn element.

    Parameters
    ----------
    element
        The layer or marker.
    kind
        ``"Popup"`` or ``"Tooltip"``.
    content_html
        The content, already HTML-escaped where it holds user strings.
    options
        Leaflet options of the popup or tooltip.
    """
    _, binder = element_classes()
    element.add_child(binder(kind, content_html, options))


def marker_js(geom: Any, options_js: str) -> str:
    """JS of a Leaflet marker at a geometry's point (``{parent}`` is filled in later).

    Parameters
    ----------
    geom
        A point, or any geometry (its representative point is used).
    options_js
        The marker's options as a JS object literal.

    Returns
    -------
    str
        ``L.marker([lat, lon], options).addTo({parent})``, coordinates rounded
        to :data:`~coverkit.maps.styles.COORD_DECIMALS` decimals.
    """
    pt = geom if geom.geom_type == "Point" else geom.representative_point()
    return (
        f"L.marker([{pt.y:.{COORD_DECIMALS}f}, {pt.x:.{COORD_DECIMALS}f}], "
        f"{options_js}).addTo({{parent}})"
    )


def facility_names(plan: CountyPlan) -> dict[str, str]:
    """Name of each facility by its id (as text).

    Parameters
    ----------
    plan
        The county plan.

    Returns
    -------
    dict of str to str
        Empty when the plan has no located facilities.
    """
    facilities = as_geodataframe(plan.facilities)
    if facilities is None or not len(facilities):
        return {}
    ids = column_values(facilities, "id", "")
    names = column_values(facilities, "name", "")
    return {str(i): str(n) for i, n in zip(ids, names, strict=True)}


# --------------------------------------------------------------------------- base layers


def add_county_boundary(fmap: folium.Map, plan: CountyPlan) -> None:
    """The county outline (black, unfilled).

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    group = new_group(fmap, "县界 County boundary")
    style = {"color": "#000000", "weight": 3, "fill": False}
    add_geojson(group, geojson_of(as_geodataframe(plan.boundary)), style)


def add_townships(fmap: folium.Map, plan: CountyPlan) -> None:
    """Township outlines (dashed) with their names as labels and population tooltips.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    js_layer, _ = element_classes()
    townships = as_geodataframe(plan.townships)
    group = new_group(fmap, "乡镇 Townships")
    if townships is None or not len(townships):
        return
    names = column_values(townships, "name", "")
    pops = column_values(townships, "population")
    style = {"color": "#555555", "weight": 1.5, "dashArray": "4 4", "fillOpacity": 0.0}
    for i in range(len(townships)):
        layer = add_geojson(group, geojson_of(townships.iloc[[i]]), style)
        text = f"{escape_html(names[i])}<br>人口 population: {format_number(pops[i])}"
        bind(layer, "Tooltip", text, {"sticky": True})
        options = (
            "{interactive: false, icon: L.divIcon({className: 'ck-label', "
            f"iconSize: null, html: {inline_json(escape_html(names[i]))}}})}}"
        )
        point = townships.geometry.iloc[i].representative_point()
        group.add_child(js_layer(marker_js(point, options), "label"))


def _road_classes(values: list[Any]) -> np.ndarray:
    """:func:`~coverkit.maps.styles.road_class` of each value, once per distinct text."""
    known: dict[str, str] = {}  # a county has a few distinct classes and many roads
    out = []
    for h in values:
        if type(h) is str:
            c = known.get(h)
            if c is None:
                c = known[h] = road_class(h)
        else:
            c = road_class(h)
        out.append(c)
    return np.array(out)


def add_roads(fmap: folium.Map, plan: CountyPlan) -> None:
    """Roads in three classes (:data:`~coverkit.maps.styles.ROAD_STYLES`), main roads on top.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    roads = as_geodataframe(plan.roads)
    group = new_group(fmap, "道路 Roads")
    if roads is None or not len(roads):
        return
    classes = _road_classes(column_values(roads, "highway", ""))
    for key in ("minor", "secondary", "main"):
        selected = roads[classes == key]
        if len(selected):
            weight, colour = ROAD_STYLES[key]
            style = {"color": colour, "weight": weight, "opacity": 0.9}
            add_geojson(group, geojson_of(selected, merge=True), style)


# --------------------------------------------------------------------------- rasters


def add_population(fmap: folium.Map, plan: CountyPlan) -> None:
    """Population density of the plan's grid (off when the map opens).

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    js_layer, _ = element_classes()
    overlay = population_overlay_js(plan.population)
    group = new_group(fmap, "人口分布 Population", show=False)
    group.add_child(js_layer(overlay, "image"))


def _add_travel_time(fmap: folium.Map, plan: CountyPlan, scenario: str) -> None:
    """Travel time to county-level care in one scenario (``before`` or ``after``)."""
    js_layer, _ = element_classes()
    key = f"scenario.{scenario}"
    minutes = plan.time_before_min if scenario == "before" else plan.time_after_min
    name = f"到县级医疗时间（{label(key)}）Time to county care – {label(key, 'en')}"
    group = new_group(fmap, name, show=scenario == "after")
    if minutes is not None:
        overlay = time_overlay_js(plan.population, np.asarray(minutes, dtype="float64"))
        group.add_child(js_layer(overlay, "image"))


def add_time_before(fmap: folium.Map, plan: CountyPlan) -> None:
    """Travel time to county-level care today (off when the map opens).

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    _add_travel_time(fmap, plan, "before")


def add_time_after(fmap: folium.Map, plan: CountyPlan) -> None:
    """Travel time to county-level care with the proposed sub-centres.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    _add_travel_time(fmap, plan, "after")


def access_index_of(plan: CountyPlan) -> np.ndarray | None:
    """The plan's accessibility index raster (per 1,000 people), or None when it has none.

    Parameters
    ----------
    plan
        The county plan (``access_index``: float32 on the population grid, NaN
        outside the county; plans made before the index existed have none).

    Returns
    -------
    numpy.ndarray or None
    """
    index = getattr(plan, "access_index", None)
    return None if index is None else np.asarray(index)


def rgba_access(values: np.ndarray, bounds: np.ndarray, colours: tuple[str, ...]) -> np.ndarray:
    """Colours of accessibility index values by the classes of :func:`access_classes`.

    Parameters
    ----------
    values
        The index (NaN: transparent; 0: :data:`~coverkit.maps.styles.ACCESS_ZERO_COLOUR`).
    bounds
        Upper bounds of all classes but the last (a value equal to a bound is in its class).
    colours
        One colour per class.

    Returns
    -------
    numpy.ndarray
        (h, w, 4) uint8 RGBA.
    """
    rgba = np.zeros((*values.shape, 4), dtype=np.uint8)
    finite = np.isfinite(values)
    positive = finite & (values > 0)
    cls = np.searchsorted(bounds, np.where(positive, values, 0.0), side="left")
    palette = np.array([(*hex_rgb(c), 190) for c in colours], dtype=np.uint8)
    rgba[positive] = palette[cls[positive]]
    rgba[finite & (values <= 0)] = (*hex_rgb(ACCESS_ZERO_COLOUR), 190)
    return rgba


def add_access(fmap: folium.Map, plan: CountyPlan) -> None:
    """The 2SFCA / E2SFCA accessibility index per cell (off when the map opens).

    Drawn only when the plan carries ``access_index``; the classes are those of
    :func:`~coverkit.maps.styles.access_classes`, shown in the legend.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    index = access_index_of(plan)
    if index is None:
        return
    js_layer, _ = element_classes()
    group = new_group(fmap, label("access.layer", "both"), show=False)
    grid = plan.population
    bounds, colours = access_classes(index)
    arr, extent, _ = raster_wgs84(
        np.asarray(index, dtype="float64"), grid.transform, grid.crs, resampling="nearest"
    )
    arr, _ = downsample(arr, how="nearest")
    overlay = image_overlay_js(rgba_access(arr, bounds, colours), extent, opacity=0.7)
    group.add_child(js_layer(overlay, "image"))


# --------------------------------------------------------------------------- areas


def _catchment_facts(plan: CountyPlan, catchments: Any) -> tuple[list[Any], list[Any]]:
    """Tier and name of each catchment's facility (from the facilities when missing)."""
    fac = as_geodataframe(plan.facilities)
    if "facility_id" in catchments:
        fid = column_values(catchments, "facility_id")
    else:
        fid = column_values(catchments, "id", "")
    lookup_name, lookup_tier = {}, {}
    if fac is not None and "id" in fac.columns:
        keys = fac["id"].astype(str).tolist()
        lookup_name = dict(zip(keys, column_values(fac, "name", ""), strict=True))
        lookup_tier = dict(zip(keys, column_values(fac, "tier", "other"), strict=True))
    tiers = [
        t if t is not None else lookup_tier.get(str(f), "other")
        for t, f in zip(column_values(catchments, "tier"), fid, strict=True)
    ]
    names = [
        n if n is not None else lookup_name.get(str(f), f)
        for n, f in zip(column_values(catchments, "name"), fid, strict=True)
    ]
    return tiers, names


def add_catchments(fmap: folium.Map, plan: CountyPlan) -> None:
    """The area each county-level facility serves (off when the map opens).

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    catchments = as_geodataframe(plan.catchments)
    group = new_group(fmap, "服务范围 Catchments", show=False)
    if catchments is None or not len(catchments):
        return
    tiers, names = _catchment_facts(plan, catchments)
    pops = column_values(catchments, "population")
    for i in range(len(catchments)):
        colour = "#e67e22" if tiers[i] != Tier.COUNTY_HOSPITAL else "#c0392b"
        style = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.12}
        layer = add_geojson(group, geojson_of(catchments.iloc[[i]]), style)
        text = (
            f"服务范围 catchment: {escape_html(names[i])}<br>"
            f"人口 population: {format_number(pops[i])}"
        )
        bind(layer, "Tooltip", text, {"sticky": True})


def add_isochrones(fmap: folium.Map, plan: CountyPlan) -> None:
    """Areas within each threshold, before (grey, dashed) and after (purple); off at start.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    iso = as_geodataframe(plan.isochrones)
    group = new_group(fmap, "等时圈 Isochrones", show=False)
    if iso is None or not len(iso):
        return
    scen = column_values(iso, "scenario", "after")
    thr = column_values(iso, "threshold_min")
    pops = column_values(iso, "population")
    order = sorted(range(len(iso)), key=lambda i: (str(scen[i]), -float(thr[i] or 0), i))
    for i in order:
        after = scen[i] == "after"
        colour = "#8e44ad" if after else "#7f8c8d"
        style = {
            "color": colour,
            "weight": 1.5,
            "dashArray": None if after else "6 3",
            "fillColor": colour,
            "fillOpacity": 0.08,
        }
        layer = add_geojson(group, geojson_of(iso.iloc[[i]]), style)
        zh = label("scenario.after" if after else "scenario.before")
        text = (
            f"{zh} {escape_html(scen[i])}: ≤ {format_number(thr[i])} min<br>人口 population: "
            f"{format_number(pops[i])}"
        )
        bind(layer, "Tooltip", text, {"sticky": True})


# --------------------------------------------------------------------------- points


def _add_facility(group: Any, geom: Any, row: dict[str, Any]) -> None:
    """One facility marker (shape, colour and glyph by class) with popup and tooltip."""
    js_layer, _ = element_classes()
    role = facility_class(row["tier"], row["central"])
    size = FACILITY_SIZES_PX.get(role, FACILITY_SIZE_PX)
    assumed = truthy(row["assumed"])
    cls = f"ck-fac ck-{role}" + (" ck-assumed" if assumed else "")
    icon_html = (
        f'<div class="{cls}" style="width:{size}px;height:{size}px;'
        f'line-height:{size - 4}px;background:{FACILITY_TIERS[role]}">'
        f"{FACILITY_GLYPHS.get(role, '')}</div>"
    )
    options = (
        f"{{icon: L.divIcon({{className: '', iconSize: [{size}, {size}], "
        f"html: {inline_json(icon_html)}}})}}"
    )
    marker = js_layer(marker_js(geom, options), "facility")
    group.add_child(marker)
    rows = [
        ("名称 name", escape_html(row["name"])),
        ("类别 tier", label(role, "both")),
        ("编号 id", escape_html(row["id"])),
    ]
    if assumed:
        rows.append(("假定 assumed", "是 yes（位置/存在为推定 location assumed）"))
    bind(marker, "Popup", popup_table(rows), {"maxWidth": 320})
    bind(marker, "Tooltip", f"{escape_html(row['name'])}（{label(role)}）", {})


def add_facilities(fmap: folium.Map, plan: CountyPlan) -> None:
    """Health facilities by class (:data:`~coverkit.maps.styles.FACILITY_TIERS`).

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    facilities = as_geodataframe(plan.facilities)
    group = new_group(fmap, "医疗机构 Facilities")
    if facilities is None or not len(facilities):
        return
    columns = {
        "id": column_values(facilities, "id", ""),
        "name": column_values(facilities, "name", ""),
        "tier": column_values(facilities, "tier", "other"),
        "central": column_values(facilities, "is_central", False),
        "assumed": column_values(facilities, "assumed", False),
    }
    for i, geom in enumerate(facilities.geometry):
        if geom is not None and not geom.is_empty:
            _add_facility(group, geom, {k: v[i] for k, v in columns.items()})


def add_subcentres(fmap: folium.Map, plan: CountyPlan) -> None:
    """The proposed sub-centres (yellow rings) with their gains in the popup.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    js_layer, _ = element_classes()
    subs = located_subcentres(plan)
    group = new_group(fmap, "拟建次中心 Proposed sub-centres")
    if subs is None or not len(subs):
        return
    names = column_values(subs, "name", "")
    ranks = column_values(subs, "rank")
    newly = column_values(subs, "pop_newly_within")
    mean_saved = column_values(subs, "mean_saved_min")
    max_saved = column_values(subs, "max_saved_min")
    threshold = format_number(plan.params.threshold_min)
    options = (
        "{icon: L.divIcon({className: '', iconSize: [34, 34], html: "
        + inline_json('<div class="ck-sub" style="width:34px;height:34px"></div>')
        + "}), zIndexOffset: -100}"
    )
    for i, geom in enumerate(subs.geometry):
        if geom is None or geom.is_empty:
            continue
        marker = js_layer(marker_js(geom, options), "subcentre")
        group.add_child(marker)
        rows = [
            ("次中心 sub-centre", escape_html(names[i])),
            ("排序 rank", format_number(ranks[i])),
            (f"新增 {threshold} 分钟内人口 newly within", format_number(newly[i])),
            ("平均节省 mean saved (min)", format_number(mean_saved[i], 1)),
            ("最多节省 max saved (min)", format_number(max_saved[i], 1)),
        ]
        bind(marker, "Popup", popup_table(rows), {"maxWidth": 320})


def _add_village(group: Any, geom: Any, row: dict[str, Any], fac_names: dict[str, str]) -> None:
    """One village circle coloured by its service mode, with popup and tooltip."""
    pt = geom if geom.geom_type == "Point" else geom.representative_point()
    mode = str(row["mode"]) if str(row["mode"]) in SERVICE_MODES else "unknown"
    marker = circle_marker_class()(
        location=[round(pt.y, COORD_DECIMALS), round(pt.x, COORD_DECIMALS)],
        radius=6,
        color="#222222",
        weight=1,
        fill_color=SERVICE_MODES[mode],
        fill_opacity=0.95,
        className=f"ck-village ck-mode-{mode}",
    )
    marker.add_to(group)
    serving = "" if is_null(row["serving"]) else str(row["serving"])
    serving_txt = escape_html(fac_names.get(serving, serving))
    if serving in fac_names:
        serving_txt += f" ({escape_html(serving)})"
    estimated = "（估计 estimated）" if truthy(row["estimated"]) else ""
    rows = [
        ("村 village", escape_html(row["name"])),
        ("人口 population", format_number(row["population"]) + estimated),
        ("服务方式 mode", label(mode, "both")),
        ("服务机构 serving facility", serving_txt),
        ("时间 minutes", format_number(row["minutes"], 1)),
        ("规则 rule", escape_html(row["rule"])),
        ("理由 reason", escape_html(row["reason"])),
    ]
    bind(marker, "Popup", popup_table(rows), {"maxWidth": 340})
    bind(marker, "Tooltip", f"{escape_html(row['name'])}（{label(mode)}）", {})


def add_villages(fmap: folium.Map, plan: CountyPlan) -> None:
    """Villages coloured by service mode (:data:`~coverkit.maps.styles.SERVICE_MODES`).

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    villages = as_geodataframe(plan.villages)
    group = new_group(fmap, "村（服务方式）Villages by service mode")
    if villages is None or not len(villages):
        return
    fac_names = facility_names(plan)
    columns = {
        "name": column_values(villages, "name", ""),
        "population": column_values(villages, "population"),
        "estimated": column_values(villages, "population_estimated", False),
        "mode": column_values(villages, "mode", "unknown"),
        "serving": column_values(villages, "serving_facility", ""),
        "minutes": column_values(villages, "minutes"),
        "rule": column_values(villages, "rule_id", ""),
        "reason": column_values(villages, "reason_zh", ""),
    }
    for i, geom in enumerate(villages.geometry):
        if geom is not None and not geom.is_empty:
            _add_village(group, geom, {k: v[i] for k, v in columns.items()}, fac_names)


#: A layer function: draws one overlay of the plan onto the map.
AddLayer = Callable[["folium.Map", "CountyPlan"], None]

#: The overlays of the county map, in the order of the layer control.
LAYERS: tuple[AddLayer, ...] = (
    add_county_boundary,
    add_townships,
    add_roads,
    add_population,
    add_time_before,
    add_time_after,
    add_access,
    add_catchments,
    add_isochrones,
    add_facilities,
    add_subcentres,
    add_villages,
)


__all__ = [
    "LAYERS",
    "AddLayer",
    "access_index_of",
    "add_access",
    "add_catchments",
    "add_county_boundary",
    "add_facilities",
    "add_geojson",
    "add_isochrones",
    "add_population",
    "add_roads",
    "add_subcentres",
    "add_time_after",
    "add_time_before",
    "add_townships",
    "add_villages",
    "bind",
    "facility_names",
    "marker_js",
    "new_group",
    "rgba_access",
]
