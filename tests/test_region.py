"""Region configs, facility mapping rules and the embedded Comoros region."""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.features import geometry_mask
from rasterio.windows import Window
from shapely.geometry import Point

from coverkit.errors import ConfigError, InputFileError
from coverkit.inputs import (
    REGIONS_DIR,
    TIERS,
    CountyInputs,
    classify_facilities,
    default_data_dir,
    load_county,
    pick_county,
    read_region_config,
    region_config,
)

DATA = Path(__file__).resolve().parent.parent / "data"
FACILITY_COLUMNS = [
    "id",
    "name",
    "tier",
    "is_central",
    "meets_standard",
    "standard_known",
    "beds",
    "staff",
    "outside",
    "assumed",
    "township",
    "mapping_rule",
    "source",
    "geometry",
]
VILLAGE_COLUMNS = ["id", "name", "township", "population", "clinic", "source", "geometry"]


# --------------------------------------------------------------------------- config


def test_embedded_config_is_valid():
    cfg = read_region_config("comoros")
    assert cfg["region"]["default_county"] == "Ngazidja"
    assert [c["name"] for c in cfg["counties"]] == ["Ngazidja", "Nzwani", "Mwali"]
    ids = [r["id"] for r in cfg["facilities"]["rules"]]
    assert len(ids) == len(set(ids))


def _write_config(tmp_path: Path, extra: str) -> Path:
    base = (REGIONS_DIR / "comoros.toml").read_text(encoding="utf-8")
    path = tmp_path / "mine.toml"
    path.write_text(base + extra, encoding="utf-8")
    return path


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[region]\nname = "x"\nspeed = 3\n[[counties]]\nid = "a"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'region\.speed'"):
        read_region_config(path)
    path.write_text('[region]\nname = "x"\n[[counties]]\nid = "a"\ncolour = "red"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'counties\[0\]\.colour'"):
        read_region_config(path)


def test_bad_rule_tier_and_type(tmp_path):
    path = _write_config(tmp_path, '\n[[facilities.rules]]\nid = "x"\ntier = "clinic"\n')
    with pytest.raises(ConfigError, match="rule 'x' has tier 'clinic'"):
        read_region_config(path)
    path = tmp_path / "t.toml"
    path.write_text('[region]\nroad_buffer_m = "far"\n[[counties]]\nid = "a"\n')
    with pytest.raises(ConfigError, match="must be a number"):
        read_region_config(path)


def test_unknown_region_and_county():
    with pytest.raises(ConfigError, match="unknown region 'atlantis'; choose one of comoros"):
        read_region_config("atlantis")
    with pytest.raises(ConfigError, match=r"choose one of Ngazidja \(KM-G\), Nzwani"):
        load_county("comoros", county="Mayotte")
    cfg = read_region_config("comoros")
    assert pick_county(cfg, "Mohéli")["id"] == "KM-M"
    assert pick_county(cfg, "km-a")["name"] == "Nzwani"
    assert pick_county(cfg, None)["name"] == "Ngazidja"


def test_loader_is_named_by_the_config(tmp_path):
    assert region_config("china")["region"]["loader"] == "china"
    assert region_config("comoros")["region"]["loader"] == "toml"
    text = (REGIONS_DIR / "comoros.toml").read_text(encoding="utf-8")
    path = tmp_path / "other.toml"
    path.write_text(text.replace('loader = "toml"', 'loader = "shapefile"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="loader 'shapefile' is unknown; use one of toml, china"):
        load_county(path)


def test_data_dir_resolution(tmp_path, monkeypatch):
    assert default_data_dir() == DATA
    monkeypatch.setenv("COVERKIT_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path
    with pytest.raises(InputFileError, match="COVERKIT_DATA"):
        default_data_dir(tmp_path / "missing")
    # an existing but empty data dir: the boundary file is missing
    with pytest.raises(InputFileError, match=r"comoros_islands\.gpkg"):
        load_county("comoros")


# --------------------------------------------------------------------------- rules


def _features(rows: list[tuple]) -> gpd.GeoDataFrame:
    """rows: (osm_id, name, tags, lon, lat)."""
    return gpd.GeoDataFrame(
        {
            "osm_id": [r[0] for r in rows],
            "osm_type": ["way" if r[0].startswith("w") else "node" for r in rows],
            "name": [r[1] for r in rows],
            "tags": [r[2] for r in rows],
        },
        geometry=[Point(r[3], r[4]) for r in rows],
        crs=4326,
    )


M = 1 / 111_320.0  # degrees per metre (near the equator)


def test_rules_first_match_and_duplicates():
    fcfg = read_region_config("comoros")["facilities"]
    feats = _features(
        [
            # node + building way of one hospital, 100 m apart; the way's point wins
            ("n1", "Hôpital de Test", {"amenity": "hospital"}, 43.0, -11.0),
            ("w2", "Hôpital de Test", {"amenity": "hospital"}, 43.0 + 100 * M, -11.0),
            # unnamed building 250 m from the named hospital: same campus
            ("w3", None, {"building": "hospital"}, 43.0, -11.0 + 250 * M),
            ("n4", "CMC Nord", {"amenity": "hospital"}, 43.1, -11.0),
            ("n5", "Centre de santé de Sud", {"amenity": "clinic"}, 43.2, -11.0),
            ("n6", "PS Est", {"amenity": "hospital"}, 43.3, -11.0),
            ("n7", None, {"amenity": "hospital"}, 43.4, -11.0),
            ("n8", "hôpital", {"amenity": "hospital"}, 43.5, -11.0),  # generic name
            ("n9", "Pharmacie X", {"amenity": "pharmacy"}, 43.6, -11.0),
            ("n10", None, {"amenity": "doctors"}, 43.7, -11.0),
            # unnamed node 1 km from the unnamed centre n7: not a duplicate
            ("n11", None, {"amenity": "clinic"}, 43.4 + 1000 * M, -11.0),
        ]
    )
    fac, mapping = classify_facilities(feats, fcfg)
    got = dict(zip(fac["id"], zip(fac["tier"], fac["mapping_rule"], strict=True), strict=True))
    assert got == {
        "w2": ("county_hospital", "name-hospital"),
        "n4": ("township_centre", "name-cmc"),
        "n5": ("township_centre", "name-health-centre"),
        "n7": ("township_centre", "unnamed-hospital"),
        "n8": ("township_centre", "unnamed-hospital"),
        "n6": ("village_clinic", "name-health-post"),
        "n10": ("village_clinic", "tag-clinic-doctors"),
        "n11": ("village_clinic", "tag-clinic-doctors"),
    }
    hosp = fac[fac["id"] == "w2"].iloc[0]
    assert hosp["name"] == "Hôpital de Test"
    assert hosp["source"] == "OpenStreetMap n1,w2,w3"
    assert hosp.geometry.x == pytest.approx(43.0 + 100 * M)
    assert fac.set_index("id").loc["n4", "is_central"]
    assert not fac.set_index("id").loc["n5", "is_central"]
    assert fac.set_index("id").loc["n8", "name"] == "unnamed township centre n8"
    table = mapping.set_index("rule_id")
    assert table.loc["drop-pharmacy", "features"] == 1
    assert table.loc["name-hospital", "features"] == 2
    assert table.loc["name-hospital", "facilities"] == 1
    assert table.loc["merged-duplicates", "features"] == 2  # n1 and w3
    assert table.loc["unnamed-hospital", "facilities"] == 2
    # tiers ordered county → township → village
    assert list(fac["tier"]) == sorted(fac["tier"], key=TIERS.index)


# --------------------------------------------------------------------------- Comoros


@functools.cache
def _county(county: str | None) -> CountyInputs:
    """Each island is loaded once per test session (about 3 s each)."""
    return load_county("comoros", county=county)


@pytest.fixture(params=[None, "Nzwani", "Mwali"], ids=["Ngazidja", "Nzwani", "Mwali"])
def island(request) -> CountyInputs:
    return _county(request.param)


def test_county_inputs_shape(island):
    assert island.boundary.shape[0] == 1
    assert island.seat.shape[0] == 1
    assert list(island.facilities.columns) == FACILITY_COLUMNS
    assert list(island.villages.columns) == VILLAGE_COLUMNS
    assert list(island.townships.columns) == ["id", "name", "derived", "geometry"]
    assert list(island.roads.columns) == ["id", "highway", "maxspeed", "name", "geometry"]
    for gdf in (island.boundary, island.townships, island.seat, island.facilities):
        assert gdf.crs.to_epsg() == 4326
    assert set(island.facilities["tier"]) <= set(TIERS)
    assert island.boundary.geometry.iloc[0].contains(island.seat.geometry.iloc[0])
    assert len(island.roads) > 100
    assert len(island.villages) > 0
    assert island.villages["population"].isna().all()
    assert set(island.villages["clinic"]) <= {"standard", "weak", "none"}
    assert set(island.villages["township"]) <= set(island.townships["name"])
    assert island.facilities["township"].notna().all()
    assert len(island.facility_mapping) > 0
    assert island.facility_mapping["facilities"].sum() == len(island.facilities)
    assert (island.facilities["tier"] == "county_hospital").sum() >= 1
    # OSM carries no accreditation, beds or staff: assumed to meet the standard, NaN
    assert island.facilities["meets_standard"].all()
    assert not island.facilities["standard_known"].any()
    assert island.facilities[["beds", "staff"]].isna().all().all()
    assert not island.facilities["outside"].any()
    assert island.notes


def test_population_equals_independent_raster_sum(island):
    with rasterio.open(DATA / "population" / "comoros_ppp_2020_100m.tif") as src:
        arr = src.read(1).astype("float64")
        inside = geometry_mask(
            [island.boundary.geometry.iloc[0]],
            out_shape=arr.shape,
            transform=src.transform,
            invert=True,
        )
        arr[(arr < 0) | ~np.isfinite(arr)] = 0.0
        expected = float(arr[inside].sum())
        # and the grid is a window of the file at the right place
        col_off = round((island.population.transform.c - src.transform.c) / src.transform.a)
        row_off = round((island.population.transform.f - src.transform.f) / src.transform.e)
        rows, cols = island.population.shape
        window = src.read(1, window=Window(col_off, row_off, cols, rows)).astype("float64")
    assert island.population.total == pytest.approx(expected, rel=1e-9)
    assert island.population.total > 10_000
    assert island.population.values.shape == window.shape
    inside_window = island.population.mask & (window > 0)
    np.testing.assert_allclose(island.population.values[inside_window], window[inside_window])


def test_ngazidja_known_mapping():
    ci = _county(None)  # the default county
    assert ci.county_id == "KM-G"
    assert ci.county_name == "Ngazidja"
    assert "Moroni" in ci.seat["name"].iloc[0]
    fac = ci.facilities.set_index("name")
    assert fac.loc["Hôpital El Maarouf", "tier"] == "county_hospital"
    assert fac.loc["CMC Mitsamiouli", "tier"] == "township_centre"
    assert fac.loc["CMC Mitsamiouli", "is_central"]
    assert fac.loc["Centre de santé de Mitsoudjé", "tier"] == "township_centre"
    assert fac.loc["PS Ivembeni", "tier"] == "village_clinic"
    assert fac.loc["Dispensaire Caritas", "tier"] == "village_clinic"
    # OSM has a node and a building way for these: one facility each, at the way
    assert fac.index.tolist().count("CMC Mitsamiouli") == 1
    assert fac.loc["CMC Mitsamiouli", "id"] == "w783882642"
    assert not ci.facilities["name"].str.contains("Pharm", case=False).any()
    assert ci.townships["derived"].all()
    assert (ci.facilities["tier"] == "township_centre").sum() >= 1


def test_mwali_uses_osm_communes():
    ci = _county("Mwali")
    assert ci.county_name == "Mwali"
    assert not ci.townships["derived"].any()
    assert set(ci.townships["name"]) == {
        "Djando",
        "Fomboni",
        "Moili Mdjini",
        "Moimbao",
        "Moimbassa",
        "M'lédjélé",
    }
    hosp = ci.facilities[ci.facilities["tier"] == "county_hospital"]
    assert hosp["id"].tolist() == ["w390174517"]
    assert (ci.facilities["tier"] == "township_centre").sum() == 4


def test_nzwani_promotes_its_only_centre():
    ci = _county("Nzwani")
    hosp = ci.facilities[ci.facilities["tier"] == "county_hospital"]
    assert hosp["name"].tolist() == ["Polyclinique du Croissant Rouge Iranien"]
    assert hosp["mapping_rule"].tolist() == ["promoted-seat-hospital"]
    assert "promoted-seat-hospital" in ci.facility_mapping["rule_id"].tolist()
    assert any("promoted" in n for n in ci.notes)
    # OSM has no other centre on Nzwani: said, not invented
    assert (ci.facilities["tier"] == "township_centre").sum() == 0
    assert any("no township health centre" in n for n in ci.notes)


def test_user_facility_table_replaces_osm(tmp_path):
    # Nzwani with a user table: tiers in Chinese, one central centre outside the seat
    path = tmp_path / "fac.csv"
    path.write_text(
        "名称,经度,纬度,类型\n"
        "Hombo,44.3990,-12.1700,县级医院\n"
        "Domoni,44.5250,-12.2560,中心乡镇卫生院\n"
        "Sima,44.2800,-12.1950,乡镇卫生院\n"
        "Mayotte,45.1500,-12.8000,乡镇卫生院\n",
        encoding="utf-8",
    )
    ci = load_county("comoros", county="Nzwani", facilities=path)
    fac = ci.facilities.set_index("name")
    assert fac.index.tolist() == ["Hombo", "Domoni", "Sima"]  # Mayotte is off the island
    assert fac["tier"].tolist() == ["county_hospital", "township_centre", "township_centre"]
    assert fac["is_central"].tolist() == [False, True, False]
    assert (fac["mapping_rule"] == "user-table").all()
    assert ci.facility_mapping.set_index("tier")["facilities"].to_dict() == {
        "county_hospital": 1,
        "township_centre": 2,
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("名称,经度,纬度,类型\nX,44.4,-12.2,诊所\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="unknown tiers"):
        load_county("comoros", county="Nzwani", facilities=bad)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([None, "Hôpital A", "CMC B", "PS C", "Pharmacie D"]),
            st.sampled_from(["hospital", "clinic", "pharmacy", "doctors"]),
            st.integers(0, 20),
            st.integers(0, 20),
            st.booleans(),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_merging_partitions_the_kept_features(rows):
    fcfg = read_region_config("comoros")["facilities"]
    feats = _features(
        [
            (
                f"{'w' if way else 'n'}{i}",
                name,
                {"amenity": amenity},
                43 + x * 50 * M,
                -11 + y * 50 * M,
            )
            for i, (name, amenity, x, y, way) in enumerate(rows)
        ]
    )
    fac, mapping = classify_facilities(feats, fcfg)
    members = [m for src in fac["source"] for m in src.removeprefix("OpenStreetMap ").split(",")]
    assert len(members) == len(set(members))  # each feature in at most one facility
    # pharmacies are dropped by their tag; every other feature is kept or merged
    dropped = set(feats.loc[[t["amenity"] == "pharmacy" for t in feats["tags"]], "osm_id"])
    assert set(members) == set(feats["osm_id"]) - dropped
    assert fac["members"].sum() == len(members)
    n_kept = int(mapping.loc[~mapping["tier"].isin(["drop", ""]), "features"].sum())
    assert n_kept == len(members)
    assert mapping.set_index("rule_id").loc["merged-duplicates", "features"] == n_kept - len(fac)


def test_villages_outside_the_county_are_counted_not_kept(tmp_path):
    table = tmp_path / "villages.csv"
    table.write_text(
        "村名,经度,纬度,人口,卫生室\n"
        "Fomboni A,43.7420,-12.2820,1200,标准\n"
        "Nioumachoua,43.7100,-12.3600,800,无\n"
        "Moroni (wrong island),43.2550,-11.6980,500,无\n",
        encoding="utf-8",
    )
    county = load_county("comoros", county="Mwali", villages=str(table))
    assert list(county.villages["name"]) == ["Fomboni A", "Nioumachoua"]
    note = next(n for n in county.notes if "outside Mwali" in n)
    assert "1 of 3 villages in villages.csv" in note
    assert "Moroni (wrong island)" in note


def test_road_buffer_controls_roads_beyond_the_border():
    import shapely

    near = load_county("comoros", county="Mwali", road_buffer_m=0)
    far = load_county("comoros", county="Mwali", road_buffer_m=5000)
    inside = near.boundary.geometry.iat[0].buffer(1e-6)
    assert shapely.covered_by(np.asarray(near.roads.geometry.values), inside).all()
    assert far.roads.to_crs(32738).length.sum() > near.roads.to_crs(32738).length.sum()
