"""The county map's fixed parts: layer control, title box and bilingual legend.

Each is an ``add_<part>(fmap, plan)`` function like the layers; :data:`CONTROLS`
lists them in the order they are added, after the overlays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from coverkit.maps.assets import escape_html
from coverkit.maps.cells import format_number
from coverkit.maps.layers import access_index_of
from coverkit.maps.styles import (
    ACCESS_ZERO_COLOUR,
    FACILITY_TIERS,
    POPULATION_CLASSES,
    ROAD_STYLES,
    SERVICE_MODES,
    TIME_CLASSES,
    UNREACHABLE_COLOUR,
    access_classes,
)
from coverkit.vocab import Tier, label

if TYPE_CHECKING:
    import folium

    from coverkit.plan import CountyPlan


def title_html(plan: CountyPlan) -> str:
    """The title box: county, threshold, p and the proposed sub-centres.

    Parameters
    ----------
    plan
        The county plan.

    Returns
    -------
    str
        ``<div class="ck-title" id="ck-title">...</div>``; says so when the
        travel times are estimated (no road network).
    """
    params = plan.params
    p = plan.summary.get("p") if plan.summary else None
    if p is None and plan.subcentres is not None:
        p = len(plan.subcentres)
    names = plan.summary.get("subcentre_names") if plan.summary else None
    if not names and plan.subcentres is not None and "name" in plan.subcentres:
        names = plan.subcentres["name"].astype(str).tolist()
    subs = "、".join(escape_html(n) for n in (names or [])) or "无 none"
    return (
        '<div class="ck-title" id="ck-title">'
        f"<b>{escape_html(plan.county_name)} 县域医疗卫生次中心规划</b><br>"
        f"Sub-centre plan for {escape_html(plan.county_name)} "
        f"({escape_html(plan.county_id)}) — "
        f"T = {format_number(params.threshold_min)} min, p = {escape_html(p)}<br>"
        f"次中心 sub-centres: {subs}"
        + (
            "<br><b>出行时间为估算值（无道路数据）Travel times ESTIMATED: no road network</b>"
            if (plan.summary or {}).get("travel_times_estimated")
            else ""
        )
        + "</div>"
    )


def _legend_facilities() -> list[str]:
    """Legend rows of the facility classes and the sub-centre ring."""
    parts = ["<h4>医疗机构 Facilities</h4>"]
    for key, colour in FACILITY_TIERS.items():
        if key == "other":
            continue
        radius = "3px" if key == Tier.COUNTY_HOSPITAL else "50%"
        parts.append(
            f'<div><span class="sw" style="background:{colour};border-radius:{radius}"></span>'
            f"{label(key, 'both')}</div>"
        )
    parts.append(
        '<div><span class="sw" style="border:2px dashed #000"></span>假定位置 assumed</div>'
        '<div><span class="dot" style="border:3px solid #f1c40f;width:12px;height:12px">'
        "</span>拟建次中心 proposed sub-centre</div>"
    )
    return parts


def _legend_modes() -> list[str]:
    """Legend rows of the village service modes."""
    parts = ["<h4>村服务方式 Village service mode</h4>"]
    for key, colour in SERVICE_MODES.items():
        if key == "unknown":
            continue
        parts.append(
            f'<div><span class="dot" style="background:{colour}"></span>{label(key, "both")}</div>'
        )
    return parts


def _legend_times() -> list[str]:
    """Legend rows of the travel-time classes."""
    parts = ["<h4>到县级医疗时间 Time to county care (min)</h4>"]
    for lo, hi, colour in TIME_CLASSES:
        text = f"&gt; {lo:.0f}" if math.isinf(hi) else f"{lo:.0f}–{hi:.0f}"
        parts.append(f'<div><span class="sw" style="background:{colour}"></span>{text}</div>')
    parts.append(
        f'<div><span class="sw" style="background:{UNREACHABLE_COLOUR}"></span>'
        "不可达 unreachable</div>"
    )
    return parts


def _legend_population() -> list[str]:
    """Legend rows of the population density classes."""
    parts = ["<h4>人口密度 Population (人/km²)</h4>"]
    lows = [c[0] for c in POPULATION_CLASSES]
    for j, (lo, colour) in enumerate(POPULATION_CLASSES):
        text = f"&ge; {lo:,.0f}" if j == len(lows) - 1 else f"{lo:,.0f}–{lows[j + 1]:,.0f}"
        parts.append(f'<div><span class="sw" style="background:{colour}"></span>{text}</div>')
    return parts


def _legend_roads() -> list[str]:
    """Legend rows of the road classes."""
    parts = ["<h4>道路 Roads</h4>"]
    for key, (weight, colour) in ROAD_STYLES.items():
        parts.append(
            f'<div><span class="ln" style="border-top:{weight:.0f}px solid {colour}"></span>'
            f"{label(f'road.{key}', 'both')}</div>"
        )
    return parts


def _legend_access(plan: CountyPlan | None) -> list[str]:
    """Legend rows of the accessibility index classes; none when the plan has no index."""
    index = None if plan is None else access_index_of(plan)
    if index is None:
        return []
    bounds, colours = access_classes(index)
    what = escape_html(getattr(plan, "access_label", "") or "")
    parts = [
        f"<h4>{label('access.layer', 'both')}（{label('access.unit', 'both')}）</h4>",
        *([f"<div>{what}</div>"] if what else []),
    ]
    edges = [0.0, *(float(b) for b in bounds)]
    for j, colour in enumerate(colours):
        text = f"&gt; {edges[j]:.3g}" if j == len(bounds) else f"{edges[j]:.3g}–{edges[j + 1]:.3g}"
        parts.append(f'<div><span class="sw" style="background:{colour}"></span>{text}</div>')
    parts.append(
        f'<div><span class="sw" style="background:{ACCESS_ZERO_COLOUR}"></span>'
        f"0 {label('access.none', 'both')}</div>"
    )
    return parts


def legend_html(plan: CountyPlan | None = None) -> str:
    """The legend: facilities, service modes, travel times, population and roads.

    The accessibility index's classes follow when ``plan`` carries ``access_index``.

    Parameters
    ----------
    plan
        The county plan (None: the fixed parts only).

    Returns
    -------
    str
        ``<div class="ck-legend" id="ck-legend">...</div>``, Chinese before English.
    """
    parts = [
        '<div class="ck-legend" id="ck-legend">',
        *_legend_facilities(),
        *_legend_modes(),
        *_legend_times(),
        *_legend_population(),
        *_legend_roads(),
        *_legend_access(plan),
        "</div>",
    ]
    return "".join(parts)


def add_layer_control(fmap: folium.Map, plan: CountyPlan) -> None:
    """The expanded layer control (lists the overlays added before it).

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    import folium

    folium.LayerControl(collapsed=False).add_to(fmap)


def add_title(fmap: folium.Map, plan: CountyPlan) -> None:
    """The title box (:func:`title_html`), fixed at the top.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    from coverkit.maps.assets import text_element

    fmap.get_root().html.add_child(text_element(title_html(plan)), name="ck_title")


def add_legend(fmap: folium.Map, plan: CountyPlan) -> None:
    """The legend (:func:`legend_html`), fixed at the bottom left.

    Parameters
    ----------
    fmap
        The map to draw on.
    plan
        The county plan.
    """
    from coverkit.maps.assets import text_element

    fmap.get_root().html.add_child(text_element(legend_html(plan)), name="ck_legend")


#: The fixed parts of the county map, added after :data:`~coverkit.maps.layers.LAYERS`.
CONTROLS: tuple[Callable[[folium.Map, CountyPlan], None], ...] = (
    add_layer_control,
    add_title,
    add_legend,
)


__all__ = [
    "CONTROLS",
    "add_layer_control",
    "add_legend",
    "add_title",
    "legend_html",
    "title_html",
]
