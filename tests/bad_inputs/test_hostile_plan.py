"""Hostile plan folders: reading one runs nothing and refuses it in one line.

Plan folders travel on USB sticks and through chat groups. Each case below
plants something in a copy of a saved plan; ``coverkit map`` and ``coverkit
report`` must both refuse it with one ``coverkit: error:`` line and exit 2,
write nothing, and never run the payload (a pickle whose loading would create
a marker file).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
from plan_fixture import make_plan
from shapely.geometry import Point

from coverkit.cli.main import main
from coverkit.planfile import MANIFEST, PLAN_DIR, TABLES_FILE, save_plan

from .faultkit import snapshot


class _Boom:
    """Unpickling this creates the marker file: proof that a pickle ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A synthetic plan saved once as a report folder."""
    folder = tmp_path_factory.mktemp("saved") / "report"
    save_plan(make_plan(), folder)
    return folder


@pytest.fixture
def report(saved, tmp_path):
    """A fresh copy of the report folder (its ``plan/`` is what the cases damage)."""
    shutil.copytree(saved, tmp_path / "report")
    return tmp_path / "report"


def _payload(marker: Path) -> bytes:
    return pickle.dumps(_Boom(marker))


def _edit(plan: Path, edit) -> None:
    data = json.loads((plan / MANIFEST).read_text(encoding="utf-8"))
    edit(data)
    (plan / MANIFEST).write_text(json.dumps(data), encoding="utf-8")


def _list(plan: Path, name: str, blob: bytes) -> None:
    """Make the manifest list ``name`` with the size and SHA-256 of ``blob``."""

    def edit(m):
        m["files"][name] = {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}

    _edit(plan, edit)


def _replace(plan: Path, name: str, blob: bytes) -> None:
    (plan / name).write_bytes(blob)
    _list(plan, name, blob)


def _point_to(plan: Path, table: str, name: str, blob: bytes) -> None:
    """List ``name`` and make the table ``table`` read from it."""
    _list(plan, name, blob)
    _edit(plan, lambda m: m["tables"][table].__setitem__("file", name))


# Each case damages the report folder ``r`` (``r / "plan"`` is the plan folder).


def _old_pickle_only(r: Path, marker: Path) -> str:
    shutil.rmtree(r / PLAN_DIR)
    (r / "plan.pickle").write_bytes(_payload(marker))
    return "can run any code"


def _pickle_as_manifest(r: Path, marker: Path) -> str:
    (r / PLAN_DIR / MANIFEST).write_bytes(_payload(marker))
    return "not a coverkit plan manifest"


def _pickle_as_tables(r: Path, marker: Path) -> str:
    _replace(r / PLAN_DIR, TABLES_FILE, _payload(marker))
    return "not a readable GeoPackage"


def _pickle_as_raster(r: Path, marker: Path) -> str:
    _replace(r / PLAN_DIR, "population.tif", _payload(marker))
    return "cannot be read as a GeoTIFF"


def _pickle_listed_beside(r: Path, marker: Path) -> str:
    blob = _payload(marker)
    (r / PLAN_DIR / "payload.pkl").write_bytes(blob)
    _list(r / PLAN_DIR, "payload.pkl", blob)
    return "lists files no table or raster uses"


def _pickle_instead_of_manifest(r: Path, marker: Path) -> str:
    (r / PLAN_DIR / MANIFEST).unlink()
    (r / PLAN_DIR / "plan.pickle").write_bytes(_payload(marker))
    return "no plan in"


def _traversal(r: Path, marker: Path) -> str:
    outside = r.parent / "x"
    outside.write_bytes(_payload(marker))
    _point_to(r / PLAN_DIR, "boundary", "../../x", outside.read_bytes())
    return "not a plain file name"


def _absolute(r: Path, marker: Path) -> str:
    outside = r.parent / "abs.gpkg"
    shutil.copy(r / PLAN_DIR / TABLES_FILE, outside)
    _point_to(r / PLAN_DIR, "boundary", str(outside), outside.read_bytes())
    return "not a plain file name"


def _symlink_outside(r: Path, marker: Path) -> str:
    outside = r.parent / "elsewhere.tif"
    outside.write_bytes(_payload(marker))
    (r / PLAN_DIR / "population.tif").unlink()
    (r / PLAN_DIR / "population.tif").symlink_to(outside)
    _list(r / PLAN_DIR, "population.tif", outside.read_bytes())
    return "symbolic link"


def _plan_folder_symlink(r: Path, marker: Path) -> str:
    shutil.move(r / PLAN_DIR, r.parent / "real-plan")
    (r / PLAN_DIR).symlink_to(r.parent / "real-plan")
    return "symbolic link"


def _manifest_to_dev_zero(r: Path, marker: Path) -> str:
    (r / PLAN_DIR / MANIFEST).unlink()
    (r / PLAN_DIR / MANIFEST).symlink_to("/dev/zero")
    return "symbolic link"


def _manifest_fifo(r: Path, marker: Path) -> str:
    (r / PLAN_DIR / MANIFEST).unlink()
    os.mkfifo(r / PLAN_DIR / MANIFEST)
    return "not a plain file"


def _nul_in_name(r: Path, marker: Path) -> str:
    _point_to(r / PLAN_DIR, "boundary", "tables.gpkg\x00.pkl", b"")
    return "not a plain file name"


def _nul_in_manifest(r: Path, marker: Path) -> str:
    text = (r / PLAN_DIR / MANIFEST).read_bytes()
    (r / PLAN_DIR / MANIFEST).write_bytes(text[:50] + b"\x00" + text[50:])
    return "not JSON"


def _huge_size(r: Path, marker: Path) -> str:
    _edit(r / PLAN_DIR, lambda m: m["files"][TABLES_FILE].__setitem__("bytes", 10**15))
    return "too many"


def _huge_raster(r: Path, marker: Path) -> str:
    _edit(r / PLAN_DIR, lambda m: m["rasters"]["time_before_min"].__setitem__("shape", [10**6] * 2))
    return "cells, more than"


def _huge_rows(r: Path, marker: Path) -> str:
    _edit(r / PLAN_DIR, lambda m: m["tables"]["boundary"].__setitem__("rows", 10**12))
    return "not one coverkit writes"


def _nested(depth: int):
    def damage(r: Path, marker: Path) -> str:
        text = (r / PLAN_DIR / MANIFEST).read_text(encoding="utf-8")
        data = json.loads(text)
        data["summary"] = "@@"
        bomb = json.dumps(data).replace('"@@"', "[" * depth + "]" * depth)
        (r / PLAN_DIR / MANIFEST).write_text(bomb, encoding="utf-8")
        return "nested"

    return damage


def _oversized_manifest(r: Path, marker: Path) -> str:
    with open(r / PLAN_DIR / MANIFEST, "r+b") as fh:
        fh.truncate(17 * 2**20)  # sparse: the size alone must refuse it
    return "more than"


def _wrong_hash(r: Path, marker: Path) -> str:
    _edit(r / PLAN_DIR, lambda m: m["files"][TABLES_FILE].__setitem__("sha256", "0" * 64))
    return "SHA-256"


def _not_a_geotiff(r: Path, marker: Path) -> str:
    _replace(r / PLAN_DIR, "time_after_min.tif", b"II*\x00" + os.urandom(2000))
    return "GeoTIFF"


def _gpkg_extra_layer(r: Path, marker: Path) -> str:
    path = r / PLAN_DIR / TABLES_FILE
    extra = gpd.GeoDataFrame({"cmd": ["rm -rf ~"]}, geometry=[Point(0, 0)], crs=4326)
    extra.to_file(path, layer="evil", driver="GPKG", engine="pyogrio")
    _list(r / PLAN_DIR, TABLES_FILE, path.read_bytes())
    return "is not the GeoPackage coverkit wrote"


def _gpkg_sql(statement: str):
    def damage(r: Path, marker: Path) -> str:
        path = r / PLAN_DIR / TABLES_FILE
        with sqlite3.connect(path) as con:
            con.execute(statement)
        con.close()
        _list(r / PLAN_DIR, TABLES_FILE, path.read_bytes())
        return "which coverkit never writes"

    return damage


CASES = {
    "old-pickle": _old_pickle_only,
    "pickle-as-manifest": _pickle_as_manifest,
    "pickle-as-tables": _pickle_as_tables,
    "pickle-as-raster": _pickle_as_raster,
    "pickle-listed-beside": _pickle_listed_beside,
    "pickle-instead-of-manifest": _pickle_instead_of_manifest,
    "path-traversal": _traversal,
    "absolute-path": _absolute,
    "symlink-outside": _symlink_outside,
    "plan-folder-symlink": _plan_folder_symlink,
    "manifest-to-dev-zero": _manifest_to_dev_zero,
    "manifest-fifo": _manifest_fifo,
    "nul-in-member-name": _nul_in_name,
    "nul-in-manifest": _nul_in_manifest,
    "huge-declared-size": _huge_size,
    "huge-raster-shape": _huge_raster,
    "huge-row-count": _huge_rows,
    "json-nested-500": _nested(500),
    "json-nested-100000": _nested(100_000),
    "oversized-manifest": _oversized_manifest,
    "wrong-hash": _wrong_hash,
    "not-a-geotiff": _not_a_geotiff,
    "gpkg-extra-layer": _gpkg_extra_layer,
    "gpkg-trigger": _gpkg_sql(
        "CREATE TRIGGER evil AFTER INSERT ON gpkg_contents BEGIN DELETE FROM gpkg_contents; END"
    ),
    "gpkg-view": _gpkg_sql("CREATE VIEW evil AS SELECT * FROM gpkg_contents"),
}


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_plan_runs_nothing_and_is_one_line(report, tmp_path, capsys, name, monkeypatch):
    marker = tmp_path / "pwned"
    says = CASES[name](report, marker)
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    runs = [
        (["map", str(report), "--out", str(tmp_path / "map.html")], says),
        (["report", str(report)], says),
    ]
    if name != "plan-folder-symlink":  # a link named by the user is followed, as any path
        runs.append((["map", str(report / PLAN_DIR)], ""))
    for argv, expected in runs:
        code, err = _cli(argv, capsys)
        lines = err.splitlines()
        assert code == 2, (argv, err)
        assert len(lines) == 1, err
        assert lines[0].startswith("coverkit: error: "), err
        assert expected in lines[0], lines[0]
        assert "Traceback" not in err
    assert not marker.exists()
    assert snapshot(tmp_path) == before  # nothing written, nothing moved


def test_the_untouched_copy_reads_fine(report, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = _cli(["report", str(report)], capsys)
    assert code == 0, err
    code, err = _cli(["map", str(report)], capsys)
    assert code == 0, err
    assert len(list((tmp_path / "maps").iterdir())) == 1


def test_a_county_name_with_a_path_stays_in_maps(report, tmp_path, capsys, monkeypatch):
    _edit(report / PLAN_DIR, lambda m: m.__setitem__("county_name", "../../evil\x00/x"))
    monkeypatch.chdir(tmp_path)
    code, err = _cli(["map", str(report)], capsys)
    assert code == 0, err
    (written,) = (tmp_path / "maps").iterdir()
    assert written.name == "______evil__x.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps", "report"]
