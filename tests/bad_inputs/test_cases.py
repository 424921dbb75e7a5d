"""Forty-odd bad inputs: the API raises a CoverkitError subclass naming the file,
column or value and the fix; the CLI prints that one line and exits 2."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString, Point, Polygon

from coverkit import errors as E  # noqa: N812
from coverkit.api import run_plan
from coverkit.cli.main import main
from coverkit.config import RunConfig, read_config

from .conftest import (
    FACILITIES,
    VILLAGES,
    facilities_csv,
    points_gpkg,
    raster,
    roads_gpkg,
    villages_csv,
)

Builder = Callable[[Path], dict[str, Any]]

_FLAGS = {
    "config": "--config",
    "region": "--region",
    "county": "--county",
    "population": "--population",
    "roads": "--roads",
    "facilities": "--facilities",
    "villages": "--villages",
    "coords": "--coords",
    "out": "--out",
}


def _toml(tmp: Path, text: str) -> dict[str, Any]:
    path = tmp / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return {"config": str(path)}


def _fac(rows: list[tuple[Any, ...]] | None = None, **kw: Any) -> Builder:
    return lambda tmp: {"facilities": str(facilities_csv(tmp, rows, **kw))}


def _vil(rows: list[tuple[Any, ...]] | None = None, **kw: Any) -> Builder:
    return lambda tmp: {"villages": str(villages_csv(tmp, rows, **kw))}


def _file(name: str, data: bytes, key: str) -> Builder:
    def build(tmp: Path) -> dict[str, Any]:
        path = tmp / name
        path.write_bytes(data)
        return {key: str(path)}

    return build


# Mwali lies in lon 43.62–43.93, lat -12.43 – -12.24; a 0.01° grid over it.
_MWALI = Affine(0.01, 0, 43.6, 0, -0.01, -12.2)


def _pop(values: np.ndarray, *, transform: Affine = _MWALI, **kw: Any) -> Builder:
    return lambda tmp: {"population": str(raster(tmp, values, transform=transform, **kw))}


def _roads(lines: list[list[tuple[float, float]]], **kw: Any) -> Builder:
    return lambda tmp: {"roads": str(roads_gpkg(tmp, lines, **kw))}


def _unreadable_dir(key: str, name: str) -> Builder:
    def build(tmp: Path) -> dict[str, Any]:
        path = tmp / name
        path.mkdir()
        return {key: str(path)}

    return build


def _out_is_a_file(tmp: Path) -> dict[str, Any]:
    path = tmp / "taken"
    path.write_text("not a folder\n", encoding="utf-8")
    return {"out": str(path), "roads": "none"}


def _both(*builders: Builder) -> Builder:
    def build(tmp: Path) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for b in builders:
            options.update(b(tmp))
        return options

    return build


_F = list(FACILITIES)
_V = list(VILLAGES)
_OUTSIDE = [(r[0], r[1], r[2] + 1.0, r[3], *r[4:]) for r in _V]  # 1° east: in the sea
_FAR_ROAD = [[(44.5, -12.0), (44.6, -12.0)]]  # ~80 km away: no edge in the county

CASES: list[tuple[str, Builder, type[E.CoverkitError], str]] = [
    # ----------------------------------------------------------------- config
    (
        "config-missing",
        lambda t: {"config": str(t / "nope.toml")},
        E.InputFileError,
        r"config file .*nope\.toml does not exist; check the path",
    ),
    (
        "config-not-toml",
        lambda t: _toml(t, "minutes = = 3\n"),
        E.InputFileError,
        r"plan\.toml is not valid TOML .*fix the line",
    ),
    (
        "config-unknown-key",
        lambda t: _toml(t, "minute = 30\n"),
        E.ConfigError,
        r"unknown key 'minute'; known keys are .*minutes",
    ),
    (
        "config-wrong-type",
        lambda t: _toml(t, 'minutes = "thirty"\n'),
        E.ConfigError,
        r"key 'minutes' must be a number of minutes, got 'thirty'",
    ),
    (
        "config-minutes-zero",
        lambda t: _toml(t, "minutes = 0\n"),
        E.ConfigError,
        r"minutes=0\.0 must be a positive number of minutes",
    ),
    (
        "config-threshold-negative",
        lambda t: _toml(t, "thresholds = [15, -30]\n"),
        E.ConfigError,
        r"thresholds=\[15\.0, -30\.0\] must all be positive",
    ),
    (
        "config-p-zero",
        lambda t: _toml(t, "subcentres = [0]\n"),
        E.ConfigError,
        r"subcentres=\[0\] must be whole numbers ≥ 1",
    ),
    (
        "config-objective",
        lambda t: _toml(t, 'objective = "fastest"\n'),
        E.ConfigError,
        r"objective='fastest' is not known; use one of pmedian",
    ),
    (
        "config-bool-type",
        lambda t: _toml(t, 'standard_only = "yes"\n'),
        E.ConfigError,
        r"'standard_only' must be true or false, got 'yes'",
    ),
    (
        "config-road-speed-zero",
        lambda t: _toml(t, "[road_speeds_kph]\ntrack = 0\n"),
        E.ConfigError,
        r"plan\.toml: road_speeds_kph\.track must be a positive speed in km/h, got 0",
    ),
    (
        "config-road-speed-negative",
        lambda t: _toml(t, "[road_speeds_kph]\nprimary = -40\n"),
        E.ConfigError,
        r"road_speeds_kph\.primary must be a positive speed in km/h, got -40",
    ),
    (
        "config-mode-unknown",
        lambda t: _toml(t, 'mode = "bicycle"\n'),
        E.ConfigError,
        r"mode='bicycle' is not known; use one of drive, walk",
    ),
    ("unknown-region", lambda t: {"region": str(t / "atlantis.toml")}, E.ConfigError, r"atlantis"),
    ("unknown-county", lambda t: {"county": "Atlantis"}, E.ConfigError, r"Atlantis"),
    # ------------------------------------------------------------- facilities
    (
        "facilities-missing",
        lambda t: {"facilities": str(t / "none.csv")},
        E.InputFileError,
        r"facilities file '.*none\.csv' does not exist; give a CSV/XLSX",
    ),
    (
        "facilities-is-folder",
        _unreadable_dir("facilities", "fac.csv"),
        E.InputFileError,
        r"fac\.csv",
    ),
    (
        "facilities-binary",
        _file("fac.csv", b"\x00\xff\xfe\x00PK\x03\x04" * 50, "facilities"),
        E.InputFileError,
        r"fac\.csv",
    ),
    (
        "facilities-wrong-format",
        _file("fac.gpkg", b"hello, not a geopackage\n", "facilities"),
        E.InputFileError,
        r"cannot read '.*fac\.gpkg' as a facilities layer",
    ),
    (
        "facilities-empty-file",
        _file("fac.csv", b"", "facilities"),
        E.InputFileError,
        r"cannot read '.*fac\.csv' as CSV",
    ),
    (
        "facilities-header-only",
        _fac([]),
        E.EmptyInputError,
        r"'.*facilities\.csv' has no rows; give a table with at least one row",
    ),
    (
        "facilities-no-lon",
        _fac([(r[0], r[1], r[3], r[4]) for r in _F], header=["id", "name", "lat", "tier"]),
        E.MissingColumnError,
        r"facilities\.csv' has no lon column .*name them 经度/纬度 or lon/lat",
    ),
    (
        "facilities-misnamed",
        _fac(header=["id", "name", "lnog", "ltat", "tier"]),
        E.MissingColumnError,
        r"has no lon or lat column \(columns: id, name, lnog, ltat, tier\)",
    ),
    (
        "facilities-non-numeric",
        _fac([*_F[:2], ("F9", "x", "east", -12.3, "村卫生室")]),
        E.InvalidValueError,
        r"1 rows without numeric lon/lat \(file lines \[4\]\)",
    ),
    (
        "facilities-swapped",
        _fac([(r[0], r[1], r[3], r[2], r[4]) for r in _F]),
        E.InvalidValueError,
        r"facilities\.csv': none of the 4 facilities lies in Mwali.*look swapped",
    ),
    (
        "facilities-no-tier",
        _fac([r[:4] for r in _F], header=["id", "name", "lon", "lat"]),
        E.InputFileError,
        r"has no tier/类型 column; add one with 县级医院",
    ),
    (
        "facilities-unknown-tier",
        _fac([*_F[:3], ("F4", "x", 43.7, -12.3, "spaceport")]),
        E.InputFileError,
        r"unknown tiers \['spaceport'\]",
    ),
    (
        "facilities-duplicate-ids",
        _fac([*_F, ("F2", "again", 43.70, -12.30, "村卫生室")]),
        E.InvalidValueError,
        r"facilities\.csv' has duplicate id values \['F2'\]",
    ),
    (
        "facilities-outside",
        _fac([(r[0], r[1], r[2] + 1.0, r[3], r[4]) for r in _F]),
        E.EmptyInputError,
        r"facilities\.csv': none of the 4 facilities lies in Mwali.*--coords",
    ),
    (
        "facilities-no-crs",
        lambda t: {"facilities": str(points_gpkg(t, _F, crs=None))},
        E.CRSError,
        r"facilities\.gpkg' has no CRS; write one",
    ),
    (
        "facilities-empty-layer",
        lambda t: {"facilities": str(points_gpkg(t, []))},
        E.EmptyInputError,
        r"facilities\.gpkg' has no features",
    ),
    (
        "facilities-empty-geometry",
        lambda t: {"facilities": str(_geom_layer(t, Point()))},
        E.InvalidValueError,
        r"facilities\.gpkg' has 1 missing or empty geometries \(rows \['b'\]\)",
    ),
    (
        "facilities-null-geometry",
        lambda t: {"facilities": str(_geom_layer(t, None))},
        E.InvalidValueError,
        r"facilities\.gpkg' has 1 missing or empty geometries \(rows \['b'\]\)",
    ),
    (
        "facilities-invalid-geometry",
        lambda t: {"facilities": str(_geom_layer(t, _BOWTIE))},
        E.InvalidValueError,
        r"facilities\.gpkg' has 1 invalid geometries \(rows \['b'\]\); repair",
    ),
    (
        "p-larger-than-candidates",
        _both(
            _fac(), lambda t: {"roads": "none", "config": _toml(t, "subcentres = [5]\n")["config"]}
        ),
        E.InfeasibleError,
        r"p=5 sub-centres asked but only 3 candidate .*ask for -p 3 or fewer",
    ),
    # -------------------------------------------------------------- villages
    (
        "villages-missing",
        lambda t: {"villages": str(t / "v.csv")},
        E.InputFileError,
        r"villages file '.*v\.csv' does not exist",
    ),
    ("villages-header-only", _vil([]), E.EmptyInputError, r"villages\.csv' has no rows"),
    (
        "villages-negative-pop",
        _vil([*_V[:3], ("V9", "Neg", 43.70, -12.30, -50)]),
        E.InvalidValueError,
        r"villages\.csv' column population has negative values \(V9: -50\)",
    ),
    (
        "villages-non-numeric-pop",
        _vil([*_V[:3], ("V9", "Many", 43.70, -12.30, "many")]),
        E.InvalidValueError,
        r"villages\.csv' column population has values that are not numbers \(V9: 'many'\)",
    ),
    (
        "villages-duplicate-ids",
        _vil([*_V, ("V3", "Twin", 43.70, -12.30, 10)]),
        E.InvalidValueError,
        r"villages\.csv' has duplicate id values \['V3'\]",
    ),
    (
        "villages-all-outside",
        _vil(_OUTSIDE),
        E.EmptyInputError,
        r"villages\.csv': none of the 8 villages lies in Mwali; check their coordinates",
    ),
    (
        "villages-swapped",
        _vil([(r[0], r[1], r[3], r[2], r[4]) for r in _V]),
        E.InvalidValueError,
        r"villages\.csv': none of the 8 villages lies in Mwali.*look swapped",
    ),
    # ------------------------------------------------------------ population
    (
        "population-missing",
        lambda t: {"population": str(t / "pop.tif")},
        E.InputFileError,
        r"population raster file '.*pop\.tif' does not exist; give a GeoTIFF",
    ),
    (
        "population-not-raster",
        _file("pop.tif", b"just text\n", "population"),
        E.InputFileError,
        r"cannot read '.*pop\.tif' as a raster",
    ),
    (
        "population-all-nodata",
        _pop(np.full((25, 35), -99999.0)),
        E.EmptyInputError,
        r"pop\.tif' has only nodata \(or negative\) cells inside the county",
    ),
    (
        "population-elsewhere",
        _pop(np.ones((10, 10)), transform=Affine(0.01, 0, 10.0, 0, -0.01, 50.0)),
        E.EmptyInputError,
        r"pop\.tif' .*does not overlap the county",
    ),
    (
        "population-no-crs",
        _pop(np.ones((25, 35)), crs=None),
        E.CRSError,
        r"pop\.tif' has no CRS; .*rio edit-info --crs",
    ),
    (
        "population-negative",
        _pop(np.full((25, 35), -5.0), nodata=None),
        E.EmptyInputError,
        r"pop\.tif' has only nodata \(or negative\) cells inside the county",
    ),
    # ----------------------------------------------------------------- roads
    (
        "roads-missing",
        lambda t: {"roads": str(t / "r.osm.pbf")},
        E.InputFileError,
        r"road file '.*r\.osm\.pbf' does not exist",
    ),
    (
        "roads-wrong-format",
        _file("roads.osm", b"PBF? no.\n", "roads"),
        E.InputFileError,
        r"roads\.osm' is not OSM XML",
    ),
    (
        "roads-not-vector",
        _file("roads.gpkg", b"zzz\n", "roads"),
        E.InputFileError,
        r"cannot read '.*roads\.gpkg'",
    ),
    (
        "roads-no-edges-in-county",
        _roads(_FAR_ROAD),
        E.EmptyInputError,
        r"roads\.gpkg' holds no roads within the county",
    ),
    (
        "roads-no-crs",
        _roads([[(43.70, -12.30), (43.75, -12.29)]], crs=None),
        E.CRSError,
        r"roads\.gpkg' has no CRS",
    ),
    (
        "roads-no-class",
        lambda t: {"roads": str(_roads_without_class(t))},
        E.MissingColumnError,
        r"roads\.gpkg",
    ),
    (
        "roads-disconnected-facilities-unreachable",
        _both(
            _fac(),
            _roads([[(43.74, -12.285), (43.76, -12.29)], [(43.66, -12.33), (43.68, -12.35)]]),
        ),
        E.InfeasibleError,
        r"no inhabited cell of Mwali reaches the county hospital \(Fomboni hospital\) "
        r"over the road network.*--roads none",
    ),
    # ---------------------------------------------------------------- output
    (
        "out-is-a-file",
        _out_is_a_file,
        E.OutputError,
        r"cannot create the folder '.*taken' \(File exists\); choose another with --out",
    ),
]


def _roads_without_class(tmp: Path) -> Path:
    path = tmp / "roads.gpkg"
    gpd.GeoDataFrame(
        {"kind": ["x"]}, geometry=[LineString([(43.70, -12.30), (43.75, -12.29)])], crs=4326
    ).to_file(path, engine="pyogrio")
    return path


_BOWTIE = Polygon([(43.70, -12.30), (43.72, -12.32), (43.72, -12.30), (43.70, -12.32)])


def _geom_layer(tmp: Path, second: Any) -> Path:
    """A facility layer whose second feature has the given geometry."""
    path = tmp / "facilities.gpkg"
    gpd.GeoDataFrame(
        {"id": ["a", "b"], "name": ["Hospital", "Centre"], "tier": ["县级医院", "乡镇卫生院"]},
        geometry=[Point(43.743, -12.285), second],
        crs=4326,
    ).to_file(path, engine="pyogrio")
    return path


def _run_api(options: dict[str, Any]) -> None:
    options = dict(options)
    config = read_config(options.pop("config")) if "config" in options else RunConfig()
    run_plan(config.updated(**options))


def _argv(options: dict[str, Any]) -> list[str]:
    argv = ["-q", "plan"]
    for key, value in options.items():
        argv += [_FLAGS[key], str(value)]
    return argv


@pytest.mark.parametrize(
    ("builder", "exc_type", "pattern"),
    [pytest.param(b, e, p, id=i) for i, b, e, p in CASES],
)
def test_bad_input(tmp_path, capsys, builder, exc_type, pattern):
    options = {"county": "Mwali", "out": str(tmp_path / "out"), **builder(tmp_path)}
    out = Path(options["out"])
    before = _listing(out)
    with pytest.raises(exc_type, match=pattern) as info:
        _run_api(options)
    assert "\n" not in str(info.value)
    assert _listing(out) == before  # nothing written, no folder created
    capsys.readouterr()
    assert main(_argv(options)) == 2
    err = capsys.readouterr().err
    assert err.startswith("coverkit: error: ")
    assert err.count("\n") == 1
    assert re.search(pattern, err)
    assert "Traceback" not in err
    assert _listing(out) == before


def _listing(path: Path) -> list[str] | str | None:
    """What is at ``path``: None, 'file', or the sorted relative paths below it."""
    if not path.exists():
        return None
    if path.is_file():
        return "file"
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def test_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)
