"""Input data that cannot be trusted (issue 15, families 4–6, the data side).

Refusals: the API raises the CoverkitError subclass with one line naming the
file, the value and the fix; the CLI prints that line and exits 2; nothing is
written. Warnings: the plan is made and its notes say what is dubious.
Fixes: files coverkit recognises (UTF-16 CSV, 1.2万, nodata 0...) give the
right inputs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import from_bounds

from coverkit import errors as E  # noqa: N812
from coverkit import settings
from coverkit.api import run_plan
from coverkit.cli.main import main
from coverkit.config import RunConfig
from coverkit.inputs import load_county
from coverkit.io import people_count, read_points, sniff_separator, text_encodings, window_bytes
from coverkit.plan import plan_county

from .conftest import FACILITIES, VILLAGES, facilities_csv, population_raster, villages_csv

Builder = Callable[[Path], dict[str, Any]]

_FLAGS = {
    "population": "--population",
    "roads": "--roads",
    "facilities": "--facilities",
    "villages": "--villages",
    "road_buffer_m": "--road-buffer",
    "out": "--out",
    "county": "--county",
}

_F = list(FACILITIES)
_V = list(VILLAGES)
_TOWN_HEADER = ["id", "name", "lon", "lat", "population", "乡镇"]

# ------------------------------------------------------------------ rasters


def _mwali_window() -> tuple[np.ndarray, Affine, dict[str, Any]]:
    """The Mwali part of the embedded WorldPop raster: values (nodata as NaN), transform, crs."""
    with rasterio.open(population_raster()) as src:
        win = from_bounds(43.55, -12.50, 44.0, -12.18, transform=src.transform)
        win = win.round_offsets().round_lengths()
        arr = src.read(1, window=win, masked=True).astype("float64").filled(np.nan)
        t = src.transform
        crop = Affine(t.a, 0.0, t.c + t.a * win.col_off, 0.0, t.e, t.f + t.e * win.row_off)
        return arr, crop, {"crs": src.crs}


def _write(
    path: Path,
    values: np.ndarray,
    transform: Affine,
    *,
    crs: Any = "EPSG:4326",
    nodata: float | None = -99999.0,
    dtype: str = "float32",
) -> Path:
    profile = {"driver": "GTiff", "width": values.shape[1], "height": values.shape[0]}
    profile |= {"count": 1, "dtype": dtype, "crs": crs, "transform": transform, "nodata": nodata}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(dtype), 1)
    return path


def _mwali_pop(change: Callable[[np.ndarray], np.ndarray], **kw: Any) -> Builder:
    """A Mwali raster with its values changed (NaN = nodata, written as -99999)."""

    def build(tmp: Path) -> dict[str, Any]:
        arr, transform, _ = _mwali_window()
        values = change(arr.copy())
        nodata = kw.get("nodata", -99999.0)
        if nodata is not None and not np.isnan(nodata):
            values = np.where(np.isnan(values), nodata, values)
        return {"population": str(_write(tmp / "pop.tif", values, transform, **kw))}

    return build


def _nodata_east_of(fraction: float) -> Callable[[np.ndarray], np.ndarray]:
    """Nodata on the columns east of ``fraction`` of the island's width (43.62–43.93)."""

    def change(arr: np.ndarray) -> np.ndarray:
        _, t, _ = _mwali_window()
        lon = t.c + t.a * (np.arange(arr.shape[1]) + 0.5)
        cut = 43.62 + fraction * (43.93 - 43.62)
        arr[:, lon > cut] = np.nan
        return arr

    return change


def _west_half(tmp: Path) -> dict[str, Any]:
    """A raster whose extent ends half-way across the island (no nodata in it)."""
    arr, t, _ = _mwali_window()
    lon = t.c + t.a * (np.arange(arr.shape[1]) + 0.5)
    keep = lon <= 43.77
    return {"population": str(_write(tmp / "pop.tif", arr[:, keep], t))}


def _huge_header(tmp: Path) -> dict[str, Any]:
    """A 200,000 × 200,000 float32 GeoTIFF over Mwali, sparse: a few KB on disk."""
    path = tmp / "huge.tif"
    cell = 0.4 / 200_000  # 2e-6 degrees (about 0.2 m)
    profile = {"driver": "GTiff", "width": 200_000, "height": 200_000, "count": 1}
    profile |= {"dtype": "float32", "crs": "EPSG:4326", "nodata": -99999.0}
    profile |= {"transform": Affine(cell, 0, 43.55, 0, -cell, -12.15), "tiled": True}
    profile |= {"blockxsize": 512, "blockysize": 512, "compress": "deflate", "sparse_ok": True}
    with rasterio.open(path, "w", **profile):
        pass
    assert path.stat().st_size < 50_000_000
    return {"population": str(path)}


def _rotated(tmp: Path) -> dict[str, Any]:
    arr, t, _ = _mwali_window()
    rot = Affine(t.a, 0.0001, t.c, 0.0001, t.e, t.f)
    return {"population": str(_write(tmp / "pop.tif", np.nan_to_num(arr), rot))}


def _one_coarse_cell(tmp: Path) -> dict[str, Any]:
    """One 1° cell whose centre (44.1, -11.9) lies outside the island."""
    t = Affine(1.0, 0, 43.6, 0, -1.0, -11.4)
    return {"population": str(_write(tmp / "pop.tif", np.array([[50_000.0]]), t))}


def _all_nan_nodata(tmp: Path) -> dict[str, Any]:
    arr, t, _ = _mwali_window()
    nan = np.full_like(arr, np.nan)
    return {"population": str(_write(tmp / "pop.tif", nan, t, nodata=float("nan")))}


# ------------------------------------------------------------------ tables


def _fac(rows: list[tuple[Any, ...]]) -> Builder:
    return lambda tmp: {"facilities": str(facilities_csv(tmp, rows)), "roads": "none"}


def _towns(names: list[str]) -> Builder:
    """Villages whose 乡镇 column cycles through ``names``."""
    rows = [(*r, names[i % len(names)]) for i, r in enumerate(_V)]
    return lambda tmp: {
        "villages": str(villages_csv(tmp, rows, header=_TOWN_HEADER)),
        "roads": "none",
    }


def _bytes(name: str, data: bytes, key: str = "facilities") -> Builder:
    def build(tmp: Path) -> dict[str, Any]:
        path = tmp / name
        path.write_bytes(data)
        return {key: str(path), "roads": "none"}

    return build


def _xlsx(rows: list[list[Any]], *, merge: str | None = None) -> Builder:
    """An .xlsx facility table written with openpyxl (``merge``: cells to merge)."""

    def build(tmp: Path) -> dict[str, Any]:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        for row in rows:
            ws.append(row)
        if merge:
            ws.merge_cells(merge)
        path = tmp / "facilities.xlsx"
        wb.save(path)
        return {"facilities": str(path), "roads": "none"}

    return build


def _fac_rows_xlsx() -> list[list[Any]]:
    return [["id", "name", "lon", "lat", "tier"], *[list(r) for r in _F]]


def _truncated_xlsx(tmp: Path) -> dict[str, Any]:
    path = Path(_xlsx(_fac_rows_xlsx())(tmp)["facilities"])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return {"facilities": str(path), "roads": "none"}


def _csv_named_xlsx(tmp: Path) -> dict[str, Any]:
    path = facilities_csv(tmp, _F, name="facilities.xlsx")
    return {"facilities": str(path), "roads": "none"}


#: The first bytes of an OLE2 compound file: what Excel writes for an encrypted .xlsx.
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)

_AT_ONE_POINT = [(r[0], r[1], 43.743, -12.285, r[4]) for r in _F]
_CENTRES_AT_HOSPITAL = [
    _F[0],
    *[(r[0], r[1], _F[0][2], _F[0][3], r[4]) for r in _F[1:]],
    ("F5", "Djoiezi clinic", 43.77195, -12.30253, "村卫生室"),
]
_PROJECTED = [(r[0], r[1], 500_000.0 + i * 1_000, 8_640_000.0, r[4]) for i, r in enumerate(_F)]


def _long_path(tmp: Path) -> dict[str, Any]:
    return {"villages": str(tmp / ("v" * 300 + ".csv")), "roads": "none"}


def _nul_path(tmp: Path) -> dict[str, Any]:
    return {"facilities": str(tmp / "fac\x00.csv"), "roads": "none"}


# ------------------------------------------------------------------ refusals

CASES: list[tuple[str, Builder, type[E.CoverkitError], str]] = [
    (
        "pop-all-zeros",
        _mwali_pop(lambda a: np.where(np.isnan(a), np.nan, 0.0)),
        E.EmptyInputError,
        r"pop\.tif' holds 0 people in every cell inside the county; give the raster",
    ),
    (
        "pop-nodata-east-half",
        _mwali_pop(_nodata_east_of(0.5)),
        E.InvalidValueError,
        r"pop\.tif' has data on only \d\d\.\d% of the county .*below the 90% required "
        r"\(settings\.min_population_coverage\); give a raster covering the whole county",
    ),
    (
        "pop-extent-west-half",
        _west_half,
        E.InvalidValueError,
        r"has data on only \d\d\.\d% of the county \(the rest is nodata or beyond the raster",
    ),
    (
        "pop-huge-window",
        _huge_header,
        E.InputFileError,
        r"huge\.tif': the county's window is [\d,]+ × [\d,]+ cells, about [\d,.]+ GiB to read, "
        r"above the 4\.0 GiB limit .*gdalwarp -tr 0\.000833 0\.000833 -r sum",
    ),
    (
        "pop-rotated-grid",
        _rotated,
        E.InputFileError,
        r"pop\.tif' has a rotated or sheared grid .*gdalwarp -r sum",
    ),
    (
        "pop-one-coarse-cell",
        _one_coarse_cell,
        E.EmptyInputError,
        r"no cell whose centre lies in the county: its cells \(1 × 1 degree\) are too coarse",
    ),
    (
        "pop-all-nan-nodata",
        _all_nan_nodata,
        E.EmptyInputError,
        r"has only nodata \(or negative\) cells inside the county",
    ),
    (
        "facilities-at-one-point",
        _fac(_AT_ONE_POINT),
        E.InvalidValueError,
        r"facilities\.csv': all 4 facilities lie at one point \(43\.743000, -12\.285000\); "
        r".*give each facility its own coordinates",
    ),
    (
        "centres-at-hospital",
        _fac(_CENTRES_AT_HOSPITAL),
        E.InvalidValueError,
        r"every township health centre \('Wanani centre', .*\) lies at a county hospital's "
        r"point \(43\.743000, -12\.285000\).*give the centres their own coordinates",
    ),
    (
        "villages-unknown-township",
        _towns(["Fomboni", "Atlantis", "Lemuria"]),
        E.InvalidValueError,
        r"villages\.csv': the township \(乡镇\) column names 2 township\(s\) that are not in "
        r"the county \('Atlantis', 'Lemuria'; 5 rows\); known townships: 'Djando', 'Fomboni'",
    ),
    (
        "villages-ambiguous-township-case",
        _towns(["FOMBONI", "fomboni x"]),
        E.InvalidValueError,
        r"names 1 township\(s\) that is not in the county \('fomboni x'",
    ),
    (
        "xlsx-truncated",
        _truncated_xlsx,
        E.InputFileError,
        r"cannot read '.*facilities\.xlsx' as Excel \(damaged or cut short\? .*save it as "
        r"\.xlsx \(Excel: File → Save As\) or CSV",
    ),
    (
        "xlsx-really-csv",
        _csv_named_xlsx,
        E.InputFileError,
        r"facilities\.xlsx' is not an Excel workbook \(it looks like a text/CSV file\); "
        r"rename a CSV to \.csv",
    ),
    (
        "xlsx-encrypted",
        _bytes("facilities.xlsx", _OLE2),
        E.InputFileError,
        r"facilities\.xlsx' is password-protected \(encrypted\) .*remove the password",
    ),
    (
        "xlsx-zero-bytes",
        _bytes("facilities.xlsx", b""),
        E.InputFileError,
        r"facilities\.xlsx' is empty \(0 bytes\)",
    ),
    (
        "xlsx-empty-sheet",
        _xlsx([]),
        E.EmptyInputError,
        r"facilities\.xlsx' has no rows; give a table with at least one row",
    ),
    (
        "xlsx-merged-header",
        _xlsx([["Facilities of Mwali", None, None, None, None], *_fac_rows_xlsx()], merge="A1:E1"),
        E.MissingColumnError,
        r"facilities\.xlsx' has no lon or lat column .*the first row looks like a title or "
        r"merged header cells: keep one header row",
    ),
    (
        "undecodable-csv",
        _bytes("facilities.csv", b"id,name,lon,lat,tier\nF1,\xff\xfe\xff\xff,43.74,-12.28,x\n"),
        E.InputFileError,
        r"cannot decode '.*facilities\.csv' with utf-8-sig, gb18030 .*--encoding gbk",
    ),
    (
        "path-with-nul",
        _nul_path,
        E.ConfigError,  # RunConfig checks paths first; load_county's own check is below
        r"facilities='.*' contains a NUL byte, which no path can hold",
    ),
    (
        "path-too-long",
        _long_path,
        E.ConfigError,
        r"villages='.*' is too long for a file system \(a name at most 255 bytes",
    ),
    (
        "lonlat-in-metres",
        _fac(_PROJECTED),
        E.InvalidValueError,
        r"facilities\.csv' has latitudes beyond ±90; .*projected x/y",
    ),
]

if __import__("importlib").util.find_spec("xlrd") is None:
    CASES.append(
        (
            "xls-without-xlrd",
            _bytes("facilities.xls", _OLE2),
            E.InputFileError,
            r"facilities\.xls' is an old Excel \.xls file \(needs xlrd, not installed\); "
            r"save it as \.xlsx \(Excel: File → Save As\) or CSV",
        )
    )

#: Refused through the API only (the CLI validates these flags itself).
API_CASES: list[tuple[str, dict[str, Any], type[E.CoverkitError], str]] = [
    ("road-buffer-inf", {"road_buffer_m": float("inf")}, E.ConfigError, r"road_buffer_m=inf"),
    ("road-buffer-nan", {"road_buffer_m": float("nan")}, E.ConfigError, r"road_buffer_m=nan"),
    ("road-buffer-negative", {"road_buffer_m": -5000.0}, E.ConfigError, r"road_buffer_m=-5000"),
    ("road-buffer-text", {"road_buffer_m": "far"}, E.ConfigError, r"road_buffer_m='far'"),
]


def _run_api(options: dict[str, Any]) -> None:
    run_plan(RunConfig().updated(**options))


def _argv(options: dict[str, Any]) -> list[str]:
    argv = ["-q", "plan"]
    for key, value in options.items():
        argv += [_FLAGS[key], str(value)]
    return argv


def _listing(path: Path) -> list[str] | None:
    return sorted(p.name for p in path.rglob("*")) if path.exists() else None


@pytest.mark.parametrize(
    ("builder", "exc_type", "pattern"),
    [pytest.param(b, e, p, id=i) for i, b, e, p in CASES],
)
def test_refused(tmp_path, capsys, builder, exc_type, pattern):
    options = {"county": "Mwali", "out": str(tmp_path / "out"), **builder(tmp_path)}
    out = Path(options["out"])
    with pytest.raises(exc_type, match=pattern) as info:
        _run_api(options)
    assert "\n" not in str(info.value)
    assert "\r" not in str(info.value)
    assert _listing(out) is None
    capsys.readouterr()
    assert main(_argv(options)) == 2
    err = capsys.readouterr().err
    assert err.startswith("coverkit: error: ")
    assert err.count("\n") == 1
    assert re.search(pattern, err)
    assert "Traceback" not in err
    assert _listing(out) is None


@pytest.mark.parametrize(
    ("extra", "exc_type", "pattern"),
    [pytest.param(x, e, p, id=i) for i, x, e, p in API_CASES],
)
def test_refused_by_the_api(tmp_path, extra, exc_type, pattern):
    out = tmp_path / "out"
    with pytest.raises(exc_type, match=r"road_buffer_m.* must be a distance"):
        _run_api({"county": "Mwali", "roads": "none", "out": str(out), **extra})
    with pytest.raises(exc_type, match=pattern + r".* must be a finite number of metres ≥ 0"):
        load_county(county="Mwali", roads="none", **extra)
    assert _listing(out) is None


_LONG = "/tmp/" + "z" * 300


@pytest.mark.parametrize(
    ("option", "pattern"),
    [
        ({"data_dir": "d\x00"}, r"data directory path 'd\\x00' contains a NUL byte"),
        ({"region": "r\x00.toml"}, r"region config path 'r\\x00\.toml' contains a NUL byte"),
        ({"villages": "v\x00.osm.pbf"}, r"OSM file path 'v\\x00\.osm\.pbf' contains a NUL"),
        ({"population": "p\x00.tif"}, r"population raster file path 'p\\x00\.tif' contains"),
        ({"data_dir": _LONG}, r"data directory path '/tmp/z+…z+' cannot be used"),
        ({"region": _LONG + ".toml"}, r"region config path '/tmp/z+…z+\.toml' cannot be used"),
        ({"facilities": _LONG + ".osm.pbf"}, r"OSM file path '/tmp/z+…z+\.osm\.pbf' cannot"),
        ({"roads": _LONG + ".gpkg"}, r"road file path '/tmp/z+…z+\.gpkg' cannot be used"),
    ],
)
def test_unusable_paths_through_the_api(option, pattern):
    with pytest.raises(E.InputFileError, match=pattern) as info:
        load_county(county="Mwali", **({"roads": "none"} | option))
    assert "\x00" not in str(info.value)
    assert len(str(info.value)) < 400


def test_unknown_encoding_name(tmp_path):
    path = villages_csv(tmp_path, _V)
    with pytest.raises(E.ConfigError, match=r"encoding 'klingon' is not known .*utf-16"):
        load_county(county="Mwali", roads="none", villages=path, encoding="klingon")


def test_enough_cases():
    assert len(CASES) + len(API_CASES) >= 25
    assert len({c[0] for c in CASES + API_CASES}) == len(CASES) + len(API_CASES)  # type: ignore[operator]


# ------------------------------------------------------------------ warnings: a plan, with notes


def _plan(tmp: Path, builder: Builder) -> Any:
    options = {"roads": "none", **builder(tmp)}
    return plan_county(load_county(county="Mwali", **options))


def _nodata_east_of_lon(cut: float) -> Callable[[np.ndarray], np.ndarray]:
    def change(arr: np.ndarray) -> np.ndarray:
        _, t, _ = _mwali_window()
        lon = t.c + t.a * (np.arange(arr.shape[1]) + 0.5)
        arr[:, lon > cut] = np.nan
        return arr

    return change


def test_units_times_100_warn_with_density_and_range(tmp_path, caplog):
    plan = _plan(tmp_path, _mwali_pop(lambda a: a * 100))
    text = "\n".join(plan.notes)
    m = re.search(
        r"pop\.tif' gives ([\d,]+) people on ([\d,]+) km², ([\d,.]+) per km², "
        r"outside the plausible 0\.05–5,000 per km² .*check the raster's units",
        text,
    )
    assert m, text
    assert 30e6 < float(m.group(1).replace(",", "")) < 34e6  # 32 million on a small island
    assert 140_000 < float(m.group(3).replace(",", "")) < 160_000
    assert re.search(
        r"has a cell of [\d,]+ people \([\d,]+ per km²\), above the plausible "
        r"100,000 per km²",
        text,
    )
    assert any("outside the plausible" in r.getMessage() for r in caplog.records)


def test_plausible_population_gives_no_unit_warning(tmp_path):
    plan = _plan(tmp_path, _mwali_pop(lambda a: a))
    assert not [n for n in plan.notes if "plausible" in n or "has data on" in n]


def test_partial_coverage_above_threshold_warns_with_share(tmp_path, caplog):
    plan = _plan(tmp_path, _mwali_pop(_nodata_east_of_lon(43.84)))
    notes = [n for n in plan.notes if "has data on" in n]
    assert len(notes) == 1
    share = float(re.search(r"has data on (\d\d\.\d)% of the county only", notes[0]).group(1))
    assert 90.0 <= share < 99.0
    assert any("has data on" in r.getMessage() for r in caplog.records)


def test_coverage_threshold_is_a_setting_read_at_call_time(tmp_path, monkeypatch):
    builder = _mwali_pop(_nodata_east_of_lon(43.82))  # about 88 % covered
    with pytest.raises(E.InvalidValueError, match=r"below the 90% required"):
        load_county(county="Mwali", roads="none", **builder(tmp_path))
    monkeypatch.setattr(settings, "min_population_coverage", 0.8)
    ci = load_county(county="Mwali", roads="none", **builder(tmp_path))
    assert 0.8 < ci.population.coverage < 0.9
    assert any("has data on" in n for n in ci.notes)


def test_window_memory_limit_is_a_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "max_raster_window_bytes", 1000)
    builder = _mwali_pop(lambda a: a)
    with pytest.raises(E.InputFileError, match=r"above the 0\.0 GiB limit"):
        load_county(county="Mwali", roads="none", **builder(tmp_path))
    assert window_bytes(200_000, 200_000, "float32") == 200_000**2 * 26


def test_one_centre_at_the_hospital_warns(tmp_path):
    rows = [*_F[:3], (_F[3][0], _F[3][1], _F[0][2], _F[0][3], _F[3][4])]
    plan = _plan(tmp_path, _fac(rows))
    notes = [n for n in plan.notes if "at a county hospital's point" in n]
    assert len(notes) == 1
    assert "'Nioumachoua centre'" in notes[0]
    assert "(43.743000, -12.285000)" in notes[0]
    assert "F4" not in set(plan.subcentres["id"].astype(str)) if len(plan.subcentres) else True


def test_one_coarse_cell_in_the_county_warns(tmp_path):
    def build(tmp: Path) -> dict[str, Any]:
        t = Affine(1.0, 0, 43.25, 0, -1.0, -11.8)  # centre (43.75, -12.3): on the island
        return {"population": str(_write(tmp / "one.tif", np.array([[50_000.0]]), t))}

    ci = load_county(county="Mwali", roads="none", **build(tmp_path))
    assert ci.population.total == 50_000.0
    assert any(re.search(r"has only 1 cell\(s\) in the county", n) for n in ci.notes)


# ------------------------------------------------------------------ fixed: read right


def _mwali_total() -> float:
    return load_county(county="Mwali", roads="none").population.total


def test_nan_nodata_float_raster_reads_like_the_original(tmp_path):
    arr, t, _ = _mwali_window()
    path = _write(tmp_path / "nan.tif", arr, t, nodata=float("nan"))
    ci = load_county(county="Mwali", roads="none", population=path)
    assert ci.population.total == pytest.approx(_mwali_total(), rel=1e-9)
    assert ci.population.coverage > 0.99


def test_integer_raster_with_nodata_zero(tmp_path):
    arr, t, _ = _mwali_window()
    counts = np.rint(np.nan_to_num(arr) * 10)  # people per cell ×10 as whole numbers
    path = _write(tmp_path / "int.tif", counts, t, nodata=0, dtype="int32")
    ci = load_county(county="Mwali", roads="none", population=path)
    mask = ci.population.mask
    assert ci.population.total == pytest.approx(float(ci.population.values[mask].sum()))
    assert ci.population.total == pytest.approx(10 * _mwali_total(), rel=0.01)
    assert ci.population.coverage > 0.99  # zero cells are not "missing data"
    assert not any("has data on" in n for n in ci.notes)


def test_raster_in_a_feet_crs_keeps_the_total(tmp_path):
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    arr, t, meta = _mwali_window()
    src = np.nan_to_num(arr).astype("float32")
    feet = "+proj=utm +zone=38 +south +datum=WGS84 +units=us-ft +no_defs"
    left, top = t.c, t.f
    right, bottom = left + t.a * src.shape[1], top + t.e * src.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        dst_t, w, h = calculate_default_transform(
            meta["crs"], feet, src.shape[1], src.shape[0], left, bottom, right, top
        )
    out = np.zeros((h, w), "float32")
    reproject(
        src,
        out,
        src_transform=t,
        src_crs=meta["crs"],
        dst_transform=dst_t,
        dst_crs=feet,
        resampling=Resampling.sum,
    )
    path = _write(tmp_path / "feet.tif", out, dst_t, crs=feet)
    ci = load_county(county="Mwali", roads="none", population=path)
    assert ci.population.total == pytest.approx(_mwali_total(), rel=0.02)
    assert not [n for n in ci.notes if "plausible" in n or "has data on" in n]


def test_township_names_match_up_to_case_and_space(tmp_path):
    ci = load_county(
        county="Mwali", **_towns([" fomboni ", "DJANDO", "Moili  Mdjini", ""])(tmp_path)
    )
    towns = ci.villages["township"].tolist()
    assert towns[0] == "Fomboni"
    assert towns[1] == "Djando"
    assert towns[2] == "Moili Mdjini"
    assert towns[3] in set(ci.townships["name"])  # blank: the nearest township


def test_unknown_township_message_lists_few(tmp_path):
    names = [f"Nowhere{i}" for i in range(8)]
    with pytest.raises(E.InvalidValueError) as info:
        load_county(county="Mwali", **_towns(names)(tmp_path))
    msg = str(info.value)
    assert "'Nowhere0', 'Nowhere1', 'Nowhere2', 'Nowhere3', 'Nowhere4', …; 8 rows" in msg
    assert "Nowhere5" not in msg
    assert "\n" not in msg


def _excel_unicode_text(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> Path:
    """What Excel's "Unicode text" export writes: UTF-16LE with a BOM, TAB-separated, CRLF."""
    lines = ["\t".join(header)] + ["\t".join(str(v) for v in r) for r in rows]
    path.write_bytes(b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le"))
    return path


def test_utf16_tab_csv_is_recognised(tmp_path):
    rows = [("V1", "城关村", 43.77195, -12.30253, 4000), ("V2", "大坪村", 43.64314, -12.25802, 900)]
    path = _excel_unicode_text(tmp_path / "村.csv", ["编码", "村名", "经度", "纬度", "人口"], rows)
    pts = read_points(path, kind="villages")
    assert pts["name"].tolist() == ["城关村", "大坪村"]
    assert pts["population"].tolist() == [4000.0, 900.0]
    assert pts.geometry.x.tolist() == [43.77195, 43.64314]
    ci = load_county(county="Mwali", roads="none", villages=path)
    assert ci.villages["name"].tolist() == ["城关村", "大坪村"]


def test_encoding_keyword_reaches_the_tables(tmp_path):
    rows = [("V1", "城关村", 43.77195, -12.30253, 4000)]
    path = villages_csv(
        tmp_path, rows, header=["编码", "村名", "经度", "纬度", "人口"], encoding="gbk"
    )
    ci = load_county(county="Mwali", roads="none", villages=path, encoding="gbk")
    assert ci.villages["name"].tolist() == ["城关村"]
    with pytest.raises(E.InputFileError, match=r"cannot decode .* with utf-16.*--encoding gbk"):
        load_county(county="Mwali", roads="none", villages=path, encoding="utf-16")


def test_encoding_helpers():
    assert text_encodings(b"\xff\xfeh\x00") == ["utf-16"]
    assert text_encodings(b"\xef\xbb\xbfid") == ["utf-8-sig"]
    assert text_encodings(b"\xff\xfe\x00\x00") == ["utf-32"]
    assert text_encodings(b"id,name") == ["utf-8-sig", "gb18030"]
    assert text_encodings(b"\xff\xfe", "gbk") == ["gbk"]
    assert sniff_separator("id\tname\tlon") == "\t"
    assert sniff_separator("id;name;lon") == ";"
    assert sniff_separator("id,name\tx,y") == ","
    assert sniff_separator("id") == ","


def test_population_with_separators_and_chinese_units(tmp_path):
    path = tmp_path / "villages.csv"
    lines = ["id,name,lon,lat,population"]
    values = ['"1,234"', "1.2万", "800人", "３００", "", "2.5千", "1e3", '"12,345.0"']
    for (vid, name, lon, lat, _), v in zip(_V, values, strict=True):
        lines.append(f"{vid},{name},{lon},{lat},{v}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    pop = read_points(path, kind="villages")["population"].tolist()
    assert pop[:4] == [1234.0, 12000.0, 800.0, 300.0]
    assert np.isnan(pop[4])
    assert pop[5:] == [2500.0, 1000.0, 12345.0]
    assert np.isnan(people_count("many"))
    assert people_count(7) == 7.0


def test_control_characters_in_names_are_kept(tmp_path):
    path = tmp_path / "villages.csv"
    odd = [
        "Djo\rie\nzi",
        "# Domoni",
        "Ho\x07ani",
        "  Miringoni\t",
        "|Nio|",
        "Oual\x1blah",
        "N",
        "M",
    ]
    lines = ["id,name,lon,lat,population"]
    for (vid, _, lon, lat, pop), name in zip(_V, odd, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        lines.append(f"{vid},{quoted},{lon},{lat},{pop}")
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    ci = load_county(county="Mwali", roads="none", villages=path)
    names = ci.villages["name"].tolist()
    assert names[0] == "Djo\rie\nzi"
    assert names[2] == "Ho\x07ani"
    assert names[5] == "Oual\x1blah"
    assert names[3] == "Miringoni"  # outer white space stripped
    assert names[1] == "# Domoni"
    assert names[4] == "|Nio|"
    plan = plan_county(ci)
    assert set(plan.villages["name"]) >= {"Djo\rie\nzi", "Ho\x07ani"}


def test_nul_in_a_table_name_does_not_break_reading(tmp_path):
    path = tmp_path / "villages.csv"
    rows = [(vid, f"{name}\x00x", lon, lat, pop) for vid, name, lon, lat, pop in _V]
    villages_csv(tmp_path, rows)
    pts = read_points(path, kind="villages")
    assert len(pts) == len(_V)
    assert pts["population"].tolist() == [float(r[4]) for r in _V]
    assert all(str(n).startswith(r[1]) for n, r in zip(pts["name"], _V, strict=True))
