"""Tests of the offline Folium map (coverkit.maps)."""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib

import numpy as np
import plan_fixture as pf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverkit import maps
from coverkit.errors import OutputError
from coverkit.maps.assets import escape_html, inline_json, png_data_uri
from coverkit.maps.raster import downsample, rgba_time
from coverkit.maps.styles import hex_rgb


@pytest.fixture(scope="module")
def plan():
    return pf.make_plan()


@pytest.fixture(scope="module")
def html_text(plan):
    return maps.html_from_map(maps.map_from_plan(plan))


LAYER_NAMES = [
    "县界 County boundary",
    "乡镇 Townships",
    "道路 Roads",
    "人口分布 Population",
    "到县级医疗时间（现状）Time to county care – before",
    "到县级医疗时间（规划后）Time to county care – after",
    "服务范围 Catchments",
    "等时圈 Isochrones",
    "医疗机构 Facilities",
    "拟建次中心 Proposed sub-centres",
    "村（服务方式）Villages by service mode",
]


def _overlay_names(text: str) -> list[str]:
    block = text[text.index("overlays :") : text.index("L.control.layers(")]
    return [json.loads(f'"{name}"') for name in re.findall(r'"([^"]+)" :', block)]


def test_layer_control_lists_every_layer_in_order(html_text):
    assert _overlay_names(html_text) == LAYER_NAMES


def test_marker_counts(html_text):
    # 6 villages as circle markers, coloured by mode: 2 fixed, 1 joint, 2 rotation, 1 stationed
    assert html_text.count("L.circleMarker(") == pf.N_VILLAGES
    for mode, n in pf.MODES.items():
        assert html_text.count(f"ck-village ck-mode-{mode}") == n
    # 8 facilities: 1 county hospital, 1 central centre, 2 township centres, 4 clinics
    assert html_text.count("var facility_") == pf.N_FACILITIES
    assert html_text.count("ck-fac ck-county_hospital") == 1
    assert html_text.count("ck-fac ck-central_centre") == 1
    assert html_text.count("ck-fac ck-township_centre") == 2
    assert html_text.count("ck-fac ck-village_clinic") == 4
    assert html_text.count(" ck-assumed") == 2  # C3 and V4
    assert html_text.count("var subcentre_") == 1
    # two township labels and two rasters per time layer + population
    assert html_text.count("var label_") == 2
    assert html_text.count("L.imageOverlay(") == 3


def test_bounds_fit_the_county(html_text):
    m = re.search(r"\.fitBounds\(\s*\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]", html_text)
    assert m is not None
    south, west, north, east = (float(v) for v in m.groups())
    assert (south, west, north, east) == pytest.approx((30.0, 110.0, 30.2, 110.2))
    assert "L.control.scale()" in html_text


def test_raster_overlays_cover_the_grid(html_text):
    bounds = re.findall(
        r"L\.imageOverlay\(\"data:image/png;base64,[^\"]+\", (\[\[[^\]]+\],\[[^\]]+\]\])", html_text
    )
    assert bounds == ["[[30.0,110.0],[30.2,110.2]]"] * 3


def test_injection_names_are_escaped(html_text):
    for raw in pf.INJECTIONS:
        assert raw not in html_text
    assert "<img src=x" not in html_text
    assert "<script>document" not in html_text
    assert "${document" not in html_text
    # ... but they are shown as text
    assert "\\u0026lt;script\\u0026gt;document.body.setAttribute" in html_text
    assert "\\u0026quot;\\u0026gt;\\u0026lt;img src=x onerror=" in html_text
    assert "\\u0026#96;\\u0026#36;{document.body" in html_text


def test_no_external_scripts_or_styles(html_text):
    assert not re.search(r"<script[^>]+src\s*=", html_text)
    assert not re.search(r"<link[^>]+href\s*=\s*[\"']?https?:", html_text)
    assert not re.search(r"url\(\s*[\"']?(https?:|//|images/)", html_text)
    assert not re.search(r"L\.tileLayer\(", html_text)
    assert "window.L=t" in html_text  # Leaflet is inlined
    assert "leaflet-control-layers-toggle" in html_text  # its CSS too


def test_tiles_option_adds_an_online_layer(plan):
    text = maps.html_from_map(maps.map_from_plan(plan, tiles="OpenStreetMap"))
    assert "L.tileLayer(" in text
    assert "tile.openstreetmap.org" in text


def test_title_and_legend(html_text):
    title = re.search(r'<div class="ck-title" id="ck-title">(.*?)</div>', html_text).group(1)
    assert "示例县 县域医疗卫生次中心规划" in title
    assert "T = 30 min, p = 1" in title
    legend = re.search(r'<div class="ck-legend" id="ck-legend">(.*)', html_text).group(1)
    for text in (
        "县级医院 County hospital",
        "中心乡镇卫生院",
        "村卫生室 Village clinic",
        "固定村卫生室 Fixed clinic",
        "邻（联）村延伸服务",
        "乡镇卫生院定期巡诊 Rotation visits",
        "派驻 Stationed staff",
        "0–15",
        "15–30",
        "30–45",
        "45–60",
        "&gt; 60",
        "不可达 unreachable",
        "假定位置 assumed",
    ):
        assert text in legend
    assert legend.index("县级医院") < legend.index("County hospital")


def test_village_popup_content(html_text):
    # village v6: 90 people, stationed, served by C2 (西乡卫生院), 48.25 min, rule R4
    popup = next(line for line in html_text.splitlines() if "bindPopup" in line and "己村" in line)
    for part in (
        "己村",
        "90",
        "派驻 Stationed staff",
        "西乡卫生院 (C2)",
        "48.2",
        "R4",
        "偏远，派驻",
    ):
        assert part in popup


def test_deterministic(plan, html_text):
    again = maps.html_from_map(maps.map_from_plan(plan))
    assert again == html_text
    assert not re.search(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])", html_text)


def test_rendering_twice_gives_the_same_html(plan):
    m = maps.map_from_plan(plan)
    assert maps.html_from_map(m) == maps.html_from_map(m)


def test_size_small(html_text):
    assert len(html_text.encode("utf-8")) < 5_000_000


def _decode_png(uri: str) -> np.ndarray:
    """Decode the (unfiltered) PNGs maps writes: palette (type 3) or RGBA (type 6)."""
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        chunks[data[pos + 4 : pos + 8]] = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    w, h, _, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8)
    if ctype == 6:
        return raw.reshape(h, 1 + 4 * w)[:, 1:].reshape(h, w, 4)
    assert ctype == 3
    idx = raw.reshape(h, 1 + w)[:, 1:]
    rgb = np.frombuffer(chunks[b"PLTE"], dtype=np.uint8).reshape(-1, 3)
    alpha = np.frombuffer(chunks[b"tRNS"], dtype=np.uint8)
    return np.concatenate([rgb, alpha[:, None]], axis=1)[idx]


def test_png_round_trip():
    # few colours → palette PNG
    rgba = np.arange(3 * 5 * 4, dtype=np.uint8).reshape(3, 5, 4)
    uri = png_data_uri(rgba)
    assert np.array_equal(_decode_png(uri), rgba)
    # > 256 colours → RGBA PNG
    many = np.arange(20 * 20 * 4, dtype=np.uint32).reshape(20, 20, 4).astype(np.uint8)
    many[..., 0] = np.arange(400).reshape(20, 20) % 256
    many[..., 1] = np.arange(400).reshape(20, 20) // 256
    assert np.array_equal(_decode_png(png_data_uri(many)), many)


def test_time_colours_by_class():
    minutes = np.array([[0.0, 14.9, 15.0, 29.0, 30.5], [45.0, 59.9, 61.0, np.inf, np.nan]])
    rgba = rgba_time(minutes)
    colours = ["#{:02x}{:02x}{:02x}".format(*tuple(px[:3])) for px in rgba.reshape(-1, 4)]
    assert colours[:9] == [
        "#1a9850",
        "#1a9850",
        "#1a9850",
        "#91cf60",
        "#fee08b",
        "#fee08b",
        "#fc8d59",
        "#d73027",
        maps.UNREACHABLE_COLOUR,
    ]
    assert rgba[1, 4, 3] == 0  # NaN (outside the county) is transparent


def test_time_raster_pixels(html_text):
    uris = re.findall(r'L\.imageOverlay\("(data:image/png;base64,[^"]+)"', html_text)
    after = _decode_png(uris[2])
    assert after.shape == (20, 20, 4)
    # cell (15, 4) holds the county hospital: 0 min → darkest green
    assert tuple(after[15, 4, :3]) == (0x1A, 0x98, 0x50)
    # cell (0, 0) is unreachable, cell (0, 19) is outside the county
    assert tuple(after[0, 0, :3]) == hex_rgb(maps.UNREACHABLE_COLOUR)
    assert after[0, 19, 3] == 0


def test_downsample_keeps_width_and_mean():
    arr = np.ones((10, 2000))
    arr[:, :3] = 4.0
    out, k = downsample(arr, how="mean")
    assert k == 3
    assert out.shape == (4, 667)
    assert out[0, 0] == pytest.approx(4.0)
    assert out[0, 1] == pytest.approx(1.0)
    assert out.shape[1] <= maps.MAX_RASTER_WIDTH_PX


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_escape_never_leaks_markup(text):
    out = escape_html(text)
    assert not set("<>\"'`$\\") & set(out)
    js = inline_json(out)
    assert "<" not in js
    assert ">" not in js
    assert "</" not in js


def test_save_map_writes_file(tmp_path, plan, html_text):
    path = maps.save_map(plan, tmp_path / "m.html")
    assert path.read_text(encoding="utf-8") == html_text
    assert [p.name for p in tmp_path.iterdir()] == ["m.html"]


def test_save_map_missing_folder(tmp_path, plan):
    with pytest.raises(OutputError, match="does not exist"):
        maps.save_map(plan, tmp_path / "nope" / "m.html")


def test_missing_optional_columns(plan):
    import dataclasses

    slim = dataclasses.replace(
        plan,
        villages=plan.villages[["id", "name", "mode", "geometry"]],
        facilities=plan.facilities[["id", "tier", "geometry"]],
        townships=plan.townships[["id", "geometry"]],
        catchments=plan.catchments.iloc[0:0],
        summary={},
    )
    text = maps.html_from_map(maps.map_from_plan(slim))
    assert text.count("L.circleMarker(") == pf.N_VILLAGES
    assert text.count("var facility_") == pf.N_FACILITIES
    assert _overlay_names(text) == LAYER_NAMES


def test_subcentres_without_geometry_are_located_from_facilities(plan):
    import dataclasses

    import pandas as pd

    subs = pd.DataFrame(plan.subcentres.drop(columns=["geometry", "name"]))
    catch = plan.catchments.drop(columns=["facility_id", "name", "tier"]).assign(id=["H1", "C1"])
    text = maps.html_from_map(
        maps.map_from_plan(dataclasses.replace(plan, subcentres=subs, catchments=catch))
    )
    # C1 sits at (110.145, 30.145); its name comes from the facilities table
    assert "var subcentre_" in text
    assert re.search(r"var subcentre_\w+ = L\.marker\(\[30\.14500, 110\.14500\]", text)
    assert "服务范围 catchment: 东镇中心卫生院" in text
    located = maps.located_subcentres(dataclasses.replace(plan, subcentres=subs))
    assert located["name"].tolist() == ["东镇中心卫生院"]


def test_template_markup_in_the_county_name_is_shown_not_run(plan):
    # the title was a Jinja template: "{{ 7 * 7 }}" showed as 49, and a crafted name
    # (received in a plan folder) could reach Python objects through the template
    import dataclasses

    name = "示例县 {{ 7 * 7 }} {{ cycler.__init__.__globals__ }}"
    text = maps.html_from_map(maps.map_from_plan(dataclasses.replace(plan, county_name=name)))
    assert "示例县 {{ 7 * 7 }} {{ cycler.__init__.__globals__ }}" in text
    assert "示例县 49" not in text
