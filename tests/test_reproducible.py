"""Reproducible: the same inputs and parameters give byte-identical outputs.

One run in this process, the other through the CLI in a fresh interpreter with a
different string-hash seed, so set/dict ordering cannot leak into the files.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from coverkit.api import run_plan
from coverkit.config import RunConfig

REPO = Path(__file__).resolve().parents[1]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_runs_give_identical_outputs(tmp_path):
    first = run_plan(RunConfig(county="Mwali", subcentres=(1, 2), out=str(tmp_path / "a")))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [
            *(sys.executable, "-m", "coverkit.cli.main", "-q", "plan", "--county", "Mwali"),
            *("-p", "1,2", "--out", str(tmp_path / "b")),
        ],
        check=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
    )
    a = first.files
    b = {k: tmp_path / "b" / p.relative_to(tmp_path / "a") for k, p in a.items()}
    written_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert written_b == sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    texts = [k for k, p in a.items() if p.suffix in (".csv", ".md", ".html")]
    assert {"report_md", "report_html", "map"} <= set(texts)
    assert sum(k.startswith("csv_") for k in texts) >= 3
    for key in texts:
        assert _digest(a[key]) == _digest(b[key]), key
    layers = [name for name, _ in pyogrio.list_layers(a["gpkg"])]
    assert layers == [name for name, _ in pyogrio.list_layers(b["gpkg"])]
    assert len(layers) >= 3
    for layer in layers:
        left = gpd.read_file(a["gpkg"], layer=layer, engine="pyogrio")
        right = gpd.read_file(b["gpkg"], layer=layer, engine="pyogrio")
        pd.testing.assert_frame_equal(left.drop(columns="geometry"), right.drop(columns="geometry"))
        assert (
            shapely.to_wkb(left.geometry.values).tolist()
            == shapely.to_wkb(right.geometry.values).tolist()
        )
