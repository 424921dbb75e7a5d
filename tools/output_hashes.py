"""SHA-256 of every output file of reference plans, to prove a refactor changes nothing.

Usage::

    python tools/output_hashes.py INPUTS_DIR OUT_DIR > hashes.json

``INPUTS_DIR`` holds the synthetic Chinese test county (built by
``tests/data/china/make_fixture.py`` when the folder is empty, so that later runs
reuse the very same files). Three plans are run through the CLI in fresh
interpreters: the default region (Ngazidja), Mwali with p = 1, 2, and the Chinese
fixture with its GBK facility table and XLSX villages. GeoPackages are hashed by
their layer contents (GDAL stamps the time into the file), workbooks by their cell
values (openpyxl stamps the time too), every other file by its bytes. Compare two
such files with ``diff``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PLANS = {
    "ngazidja": [],
    "mwali": ["--county", "Mwali", "-p", "1,2"],
}


def _china_args(inputs: Path) -> list[str]:
    return [
        *("--region", "china", "--county", "450223"),
        *("--population", str(inputs / "population.tif")),
        *("--roads", str(inputs / "roads.gpkg")),
        *("--facilities", str(inputs / "facilities_gbk.csv"), "--coords", "gcj02"),
        *("--villages", str(inputs / "villages.xlsx")),
    ]


def _gpkg_digest(path: Path) -> str:
    import geopandas as gpd
    import pyogrio
    import shapely

    h = hashlib.sha256()
    for name, _ in pyogrio.list_layers(path):
        frame = gpd.read_file(path, layer=name, engine="pyogrio")
        h.update(name.encode())
        if "geometry" not in frame:  # a plain table (plan/tables.gpkg)
            h.update(frame.to_csv(index=False).encode())
            continue
        h.update(frame.drop(columns="geometry").to_csv(index=False).encode())
        h.update(b"".join(shapely.to_wkb(frame.geometry.values).tolist()))
    return h.hexdigest()


def _xlsx_digest(path: Path) -> str:
    import openpyxl

    h = hashlib.sha256()
    book = openpyxl.load_workbook(path, read_only=True)
    for sheet in book.worksheets:
        h.update(sheet.title.encode())
        for row in sheet.iter_rows(values_only=True):
            h.update(repr(row).encode())
    return h.hexdigest()


def _digests(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = str(path.relative_to(root))
        if path.parent.name == "plan" and path.name in ("manifest.json", "tables.gpkg"):
            continue  # hold the solver's wall-clock seconds; redraws are checked by tests
        if path.suffix == ".gpkg":
            out[rel] = "layers:" + _gpkg_digest(path)
        elif path.suffix == ".xlsx":
            out[rel] = "cells:" + _xlsx_digest(path)
        elif path.suffix == ".pickle":
            continue  # not byte-stable (object identity); not a user-facing output
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def main(inputs: Path, out: Path) -> dict[str, dict[str, str]]:
    inputs.mkdir(parents=True, exist_ok=True)
    if not (inputs / "population.tif").exists():
        subprocess.run(
            [sys.executable, str(REPO / "tests/data/china/make_fixture.py"), str(inputs)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    plans = {**PLANS, "china": _china_args(inputs)}
    result = {}
    for name, args in plans.items():
        folder = out / name
        subprocess.run(
            [sys.executable, "-m", "coverkit.cli.main", "-q", "plan", *args, "--out", str(folder)],
            check=True,
            env=env,
            cwd=out,
        )
        result[name] = _digests(folder)
    return result


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2])), indent=1, ensure_ascii=False))
