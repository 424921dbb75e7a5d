"""Inputs that coverkit fixes rather than refuses: each gives the right result."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject
from rasterio.windows import from_bounds

from coverkit import io
from coverkit.api import run_plan
from coverkit.config import RunConfig
from coverkit.region import load_county

from .conftest import FACILITIES, VILLAGES, points_gpkg, population_raster, write_csv


def test_gbk_csv_is_detected_and_read(tmp_path):
    rows = [("V1", "城关村", 43.77195, -12.30253, 4000), ("V2", "大坪村", 43.64314, -12.25802, "")]
    path = write_csv(
        tmp_path / "村.csv", ["编码", "村名", "经度", "纬度", "人口"], rows, encoding="gbk"
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")  # really not UTF-8
    pts = io.read_points(path, kind="villages")
    assert pts["id"].tolist() == ["V1", "V2"]
    assert pts["name"].tolist() == ["城关村", "大坪村"]
    assert pts["population"].iloc[0] == 4000.0
    assert np.isnan(pts["population"].iloc[1])  # blank = unknown, estimated later
    assert pts.geometry.x.tolist() == [43.77195, 43.64314]
    assert pts.geometry.y.tolist() == [-12.30253, -12.25802]


def test_points_in_another_crs_are_reprojected(tmp_path):
    path = points_gpkg(tmp_path, FACILITIES, crs="EPSG:32738")  # UTM 38S metres
    pts = io.read_points(path, kind="facilities")
    assert pts.crs.to_epsg() == 4326
    np.testing.assert_allclose(pts.geometry.x, [r[2] for r in FACILITIES], atol=1e-7)
    np.testing.assert_allclose(pts.geometry.y, [r[3] for r in FACILITIES], atol=1e-7)


def _utm_crop(tmp_path):
    """The Mwali part of the WorldPop raster, resampled by sum onto a UTM 38S grid."""
    with rasterio.open(population_raster()) as src:
        win = from_bounds(43.55, -12.50, 44.0, -12.18, transform=src.transform)
        win = win.round_offsets().round_lengths()
        arr = src.read(1, window=win, masked=True).filled(0).astype("float32")
        t = src.transform  # window bounds by hand (rasterio's helper warns under affine 3)
        left, top = t.c + t.a * win.col_off, t.f + t.e * win.row_off
        crop = Affine(t.a, 0.0, left, 0.0, t.e, top)
        right, bottom = left + t.a * arr.shape[1], top + t.e * arr.shape[0]
        with warnings.catch_warnings():  # rasterio's own affine `*` (PendingDeprecation)
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            transform, width, height = calculate_default_transform(
                src.crs, "EPSG:32738", arr.shape[1], arr.shape[0], left, bottom, right, top
            )
        out = np.zeros((height, width), "float32")
        reproject(
            arr,
            out,
            src_transform=crop,
            src_crs=src.crs,
            dst_transform=transform,
            dst_crs="EPSG:32738",
            resampling=Resampling.sum,
        )
    path = tmp_path / "mwali_utm.tif"
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1}
    profile |= {"dtype": "float32", "crs": "EPSG:32738", "transform": transform, "nodata": -99999}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(out, 1)
    return path


def test_raster_in_another_crs_keeps_the_population(tmp_path, caplog):
    utm = _utm_crop(tmp_path)
    caplog.set_level(logging.INFO, logger="coverkit")
    run = run_plan(
        RunConfig(county="Mwali", population=str(utm), roads="none", out=str(tmp_path / "o"))
    )
    reference = load_county("comoros", county="Mwali", roads="none").population.total
    assert run.plan.population.crs.to_epsg() == 32738
    assert run.plan.population.total == pytest.approx(reference, rel=0.01)
    assert "the boundary was projected to the raster's CRS" in caplog.text
    assert "mwali_utm.tif is in EPSG:32738" in caplog.text
    times = run.plan.time_before_min[run.plan.population.mask]
    assert np.isfinite(times).mean() > 0.9  # cell centres were placed on the island


def test_blank_village_population_is_estimated(tmp_path):
    rows = [*VILLAGES[:6], ("V9", "Gap", 43.70, -12.30, "")]
    vil = write_csv(tmp_path / "v.csv", ["id", "name", "lon", "lat", "population"], rows)
    fac = write_csv(tmp_path / "f.csv", ["id", "name", "lon", "lat", "tier"], FACILITIES)
    run = run_plan(
        RunConfig(
            county="Mwali",
            villages=str(vil),
            facilities=str(fac),
            roads="none",
            out=str(tmp_path / "o"),
        )
    )
    table = pd.read_csv(run.files["csv_villages"], encoding="utf-8-sig", dtype={"id": str})
    pop = table.set_index("id")["population"]
    assert pop[[r[0] for r in VILLAGES[:6]]].tolist() == [float(r[4]) for r in VILLAGES[:6]]
    assert pop["V9"] > 0  # estimated from the raster, not left empty
