"""The accessibility index layer of the county map (coverkit.maps.layers.add_access)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re

import numpy as np
import plan_fixture as pf
import pytest

from coverkit import maps
from coverkit.maps.layers import rgba_access
from coverkit.maps.styles import ACCESS_COLOURS, ACCESS_ZERO_COLOUR, access_classes, hex_rgb

LAYER = "可及性指数 (2SFCA) accessibility index"


def _with_access(plan, index, text):
    """The plan with ``access_index``/``access_label`` (a field once the lead adds it)."""
    names = {f.name for f in dataclasses.fields(plan)}
    if {"access_index", "access_label"} <= names:
        return dataclasses.replace(plan, access_index=index, access_label=text)
    plan = dataclasses.replace(plan)  # a copy: the fixture's plan stays without
    object.__setattr__(plan, "access_index", index)
    object.__setattr__(plan, "access_label", text)
    return plan


def _index(plan):
    # per 1,000 people: 0 in the top row (no site within reach), else r + 1 for row r;
    # NaN outside the county
    grid = plan.population
    rows = np.mgrid[0 : pf.N, 0 : pf.N][0].astype("float32")
    index = np.where(rows == 0, 0.0, rows + 1).astype("float32")
    index[~grid.mask] = np.nan
    return index


@pytest.fixture(scope="module")
def plan():
    return pf.make_plan()


@pytest.fixture(scope="module")
def html_with(plan):
    p = _with_access(plan, _index(plan), "E2SFCA, beds, step, 30 min <b>")
    return maps.html_from_map(maps.map_from_plan(p))


def _overlay_names(text):
    block = text[text.index("overlays :") : text.index("L.control.layers(")]
    return [json.loads(f'"{name}"') for name in re.findall(r'"([^"]+)" :', block)]


def test_layer_listed_after_the_travel_times_and_hidden(html_with):
    names = _overlay_names(html_with)
    assert LAYER in names
    assert names.index(LAYER) == names.index("服务范围 Catchments") - 1
    # one more inline PNG than the population and the two time layers
    assert html_with.count("L.imageOverlay(") == 4
    assert html_with.count('L.imageOverlay("data:image/png;base64,') == 4
    # hidden at start: its group is not added to the map (the after-time layer is)
    # (names are written JSON-escaped: \uXXXX)
    var = re.search(re.escape(json.dumps(LAYER)) + r" : (feature_group_\w+)", html_with).group(1)
    assert f"{var}.addTo(" not in html_with


def test_legend_shows_the_classes_and_the_escaped_label(html_with):
    legend = re.search(r'<div class="ck-legend" id="ck-legend">(.*)', html_with).group(1)
    assert "可及性指数 (2SFCA) accessibility index（每千人 per 1,000 people）" in legend
    assert "E2SFCA, beds, step, 30 min &lt;b&gt;" in legend
    assert "0 无可及 no supply within reach" in legend


def test_no_layer_without_an_index(plan):
    text = maps.html_from_map(maps.map_from_plan(plan))
    assert LAYER not in _overlay_names(text)
    assert json.dumps(LAYER) not in text
    assert "无可及" not in text
    assert text.count("L.imageOverlay(") == 3


def test_offline(html_with):
    assert not re.search(r"""src\s*=\s*["']?https?:""", html_with)
    assert not re.search(r"<script[^>]+src\s*=", html_with)
    assert not re.search(r"L\.tileLayer\(", html_with)


def test_classes_by_hand():
    # positive values 1..10 (one each): quantiles 0.2, 0.4, 0.6, 0.8 of 1..10 by linear
    # interpolation are 2.8, 4.6, 6.4, 8.2 → 5 classes, all five colours
    values = np.array([[np.nan, 0.0, *range(1, 11)]])
    bounds, colours = access_classes(values)
    np.testing.assert_allclose(bounds, [2.8, 4.6, 6.4, 8.2])
    assert colours == ACCESS_COLOURS
    rgba = rgba_access(values, bounds, colours)
    assert rgba[0, 0, 3] == 0  # NaN: transparent
    assert tuple(rgba[0, 1, :3]) == hex_rgb(ACCESS_ZERO_COLOUR)
    assert tuple(rgba[0, 2, :3]) == hex_rgb(ACCESS_COLOURS[0])  # 1 ≤ 2.8
    assert tuple(rgba[0, 11, :3]) == hex_rgb(ACCESS_COLOURS[4])  # 10 > 8.2


def test_classes_of_a_constant_index():
    # 2SFCA without decay is often constant over large areas: one class, the lowest colour
    bounds, colours = access_classes(np.full((3, 3), 2.5))
    np.testing.assert_allclose(bounds, [2.5])
    assert colours == (ACCESS_COLOURS[0], ACCESS_COLOURS[4])
    bounds, colours = access_classes(np.zeros((2, 2)))
    assert bounds.size == 0
    assert colours == (ACCESS_COLOURS[0],)


def test_access_raster_pixels(html_with):
    # The fixture's index: row 0 → 0 (no access), row r → r + 1 per 1,000. Its positive
    # values 2..20 (fewer cells in the cut-off rows) fall in five classes; the darkest
    # colour holds the largest values (bottom row), the zero colour the top row.
    image = pytest.importorskip("PIL.Image")
    uris = re.findall(r'L\.imageOverlay\("data:image/png;base64,([^"]+)"', html_with)
    access = np.asarray(image.open(io.BytesIO(base64.b64decode(uris[3]))).convert("RGBA"))
    assert access.shape == (20, 20, 4)
    assert tuple(access[0, 0, :3]) == hex_rgb(ACCESS_ZERO_COLOUR)
    assert tuple(access[19, 0, :3]) == hex_rgb(ACCESS_COLOURS[4])
    assert tuple(access[1, 0, :3]) == hex_rgb(ACCESS_COLOURS[0])
    assert access[0, 19, 3] == 0  # outside the county: transparent
