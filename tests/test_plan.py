"""The whole county plan, end to end, on the embedded region and a hand-built county."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.features import geometry_mask

from coverkit.api import run_plan
from coverkit.cli.main import main
from coverkit.config import RunConfig
from coverkit.plan import PlanParameters, plan_county
from coverkit.region import default_data_dir, load_county

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ngazidja(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    return run_plan(RunConfig(out=str(out))), out


def _raster_sum_inside(boundary: gpd.GeoDataFrame) -> float:
    path = default_data_dir() / "population" / "comoros_ppp_2020_100m.tif"
    with rasterio.open(path) as src:
        values = src.read(1).astype("float64")
        inside = ~geometry_mask(
            boundary.to_crs(src.crs).geometry, out_shape=values.shape, transform=src.transform
        )
        ok = inside & (values != src.nodata) & (values > 0)
        return float(values[ok].sum())


def test_population_total_is_the_raster_sum_in_the_county(ngazidja):
    run, _ = ngazidja
    plan = run.plan
    assert plan.county_name == "Ngazidja"
    expected = _raster_sum_inside(plan.boundary)
    assert plan.population.total == pytest.approx(expected, rel=1e-9)
    assert plan.summary["population"] == pytest.approx(expected, rel=1e-9)


def test_coverage_after_is_at_least_before(ngazidja):
    plan = ngazidja[0].plan
    s = plan.summary
    assert s["within_after"] >= s["within_before"]
    before = plan.time_before_min
    after = plan.time_after_min
    inside = np.isfinite(before) | np.isinf(before)
    assert np.all(after[inside] <= before[inside] + 1e-9)
    assert np.all(np.isnan(before) == np.isnan(after))
    assert s["p"] in (1, 2)
    assert len(plan.subcentres) == s["p"]
    # the chosen sites are township centres outside the county seat
    chosen = plan.facilities.set_index(plan.facilities["id"].astype(str)).loc[
        plan.subcentres["id"].astype(str)
    ]
    assert set(chosen["tier"]) == {"township_centre"}


def test_siting_table_matches_the_surfaces(ngazidja):
    plan = ngazidja[0].plan
    T = plan.params.threshold_min
    row = plan.siting[plan.siting["recommended"]].iloc[0]
    rows, cols = np.nonzero(plan.population.mask & (plan.population.values > 0))
    pop = plan.population.values[rows, cols]
    within_after = pop[plan.time_after_min[rows, cols] <= T].sum()
    within_before = pop[plan.time_before_min[rows, cols] <= T].sum()
    assert row["pop_within_after"] == pytest.approx(within_after, rel=1e-6)
    assert row["pop_within_before"] == pytest.approx(within_before, rel=1e-6)


def test_every_village_has_exactly_one_mode(ngazidja):
    vil = ngazidja[0].plan.villages
    assert len(vil) > 50
    assert vil["mode"].notna().all()
    assert set(vil["mode"]) <= {"fixed", "joint", "build", "rotation", "stationed"}
    assert vil["reason_zh"].str.len().gt(0).all()
    assert sum(ngazidja[0].plan.summary["villages_by_mode"].values()) == len(vil)


def test_outputs_written_with_the_layers(ngazidja):
    run, out = ngazidja
    html = (out / "maps" / "Ngazidja.html").read_text(encoding="utf-8")
    for layer in ("县界 County boundary", "医疗机构 Facilities", "拟建次中心 Proposed sub-centres"):
        assert layer in html or json.dumps(layer)[1:-1] in html, layer
    assert "<script src=" not in html
    assert '<link rel="stylesheet" href="http' not in html
    tables = out / "outputs" / "Ngazidja"
    for name in ("eligibility.csv", "siting.csv", "villages.csv", "report.md", "plan.xlsx"):
        assert (tables / name).is_file(), name
    villages = pd.read_csv(tables / "villages.csv", encoding="utf-8-sig")
    assert len(villages) == len(run.plan.villages)


def test_cli_plans_another_island(tmp_path, capsys):
    assert (
        main(["plan", "--county", "Mwali", "-p", "1", "--minutes", "45", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "Mwali" in out
    assert "45 分钟内人口" in out
    assert (tmp_path / "maps" / "Mwali.html").is_file()


def test_cli_missing_population_file_is_one_line(tmp_path, capsys):
    code = main(["plan", "--population", str(tmp_path / "nope.tif"), "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    errors = [line for line in err if line.startswith("coverkit: error: ")]
    assert len(errors) == 1
    assert err[-1] == errors[0]
    assert "nope.tif" in errors[0]
    assert "Traceback" not in err
    assert not (tmp_path / "maps").exists()


def test_map_and_report_commands_redraw_a_finished_plan(ngazidja, tmp_path, capsys):
    _, out = ngazidja
    folder = out / "outputs" / "Ngazidja"
    assert (folder / "plan" / "manifest.json").is_file()
    assert not (folder / "plan.pickle").exists()
    redrawn = tmp_path / "again.html"
    assert main(["map", str(folder), "--out", str(redrawn)]) == 0
    assert redrawn.read_bytes() == (out / "maps" / "Ngazidja.html").read_bytes()
    assert main(["report", str(folder / "plan"), "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "report.md").read_bytes() == (folder / "report.md").read_bytes()
    assert "Report" in capsys.readouterr().out


def test_map_command_refuses_a_file_that_is_not_a_plan(tmp_path, capsys):
    fake = tmp_path / "notes.txt"
    fake.write_text("not a plan\n", encoding="utf-8")
    assert main(["map", str(fake)]) == 2
    assert "is not a coverkit plan" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no plan at" in capsys.readouterr().err


def test_polygon_villages_get_zonal_population_and_a_mode():
    import dataclasses

    county = load_county("comoros", county="Mwali")
    villages = county.villages.copy()
    villages["geometry"] = villages.to_crs(32738).buffer(300).to_crs(4326)
    plan = plan_county(dataclasses.replace(county, villages=villages), params=PlanParameters())
    vil = plan.villages
    assert (vil.geom_type == "Polygon").all()
    assert vil["population_estimated"].all()
    # a 300 m disc holds at most the population of the cells whose centres it covers
    assert (vil["population"] > 0).all()
    assert vil["population"].sum() <= plan.population.total
    assert set(vil["mode"]) <= {"fixed", "joint", "build", "rotation", "stationed"}


def test_without_roads_times_are_estimated_and_labelled(tmp_path):
    run = run_plan(RunConfig(county="Mwali", roads="none", out=str(tmp_path)))
    plan = run.plan
    assert plan.summary["travel_times_estimated"] is True
    assert any("ESTIMATED" in n for n in plan.notes)
    html = run.map_path.read_text(encoding="utf-8")
    assert "Travel times ESTIMATED" in html
    assert "ESTIMATED" in (tmp_path / "outputs" / "Mwali" / "report.md").read_text("utf-8")
    # straight line × 1.35 at 30 km/h: a cell 1 km from the hospital is 2.7 min away
    finite = plan.time_before_min[np.isfinite(plan.time_before_min)]
    assert finite.min() >= 0
    assert plan.summary["within_after"] >= plan.summary["within_before"]


def test_reach_table_by_township_adds_up(ngazidja):
    plan = ngazidja[0].plan
    reach = plan.reach
    T = plan.params.threshold_min
    col = f"population_within_{T:g}min"
    for scenario, key in (("before", "within_before"), ("after", "within_after")):
        rows = reach[reach["scenario"] == scenario]
        county = rows[rows["zone"] == "county"].iloc[0]
        assert county[col] == pytest.approx(plan.summary[key], rel=1e-9)
        assert rows[rows["zone"] != "county"]["population"].sum() == pytest.approx(
            county["population"], rel=1e-6
        )


def test_standard_only_keeps_centres_meeting_the_recommended_standard(tmp_path):
    import dataclasses

    county = load_county("comoros", county="Ngazidja")
    fac = county.facilities.copy()
    # mark only CMC Mitsamiouli as meeting 优质服务基层行推荐标准, as a table column would
    fac["meets_standard"] = fac["name"].eq("CMC Mitsamiouli")
    fac["standard_known"] = True
    county = dataclasses.replace(county, facilities=fac)
    plan = plan_county(county, params=PlanParameters(p_values=(1,), standard_only=True))
    assert plan.subcentres["name"].tolist() == ["CMC Mitsamiouli"]
    assert plan.summary["n_candidates"] == 1
    assert any("1 of" in n and "recommended standard" in n for n in plan.notes)


def test_travel_mode_and_road_speeds_change_the_times():
    """Walking every road is never faster than driving; slower tracks never speed anything up."""
    county = load_county("comoros", county="Mwali")
    base = plan_county(county, params=PlanParameters(p_values=(1,)))
    walk = plan_county(county, params=PlanParameters(p_values=(1,), mode="walk"))
    slow = plan_county(
        county,
        params=PlanParameters(
            p_values=(1,), road_speeds_kph=(("track", 5.0), ("unclassified", 5.0))
        ),
    )
    inside = np.isfinite(base.time_before_min)
    assert inside.any()
    for other in (walk, slow):
        assert (other.time_before_min[inside] >= base.time_before_min[inside] - 1e-4).all()
    assert walk.summary["within_before"] < base.summary["within_before"]
    assert any("walking mode" in n for n in walk.notes)
    assert any("track 5 km/h" in n for n in slow.notes)
    # a shorter walking cap leaves more cells unreachable, never fewer
    near = plan_county(county, params=PlanParameters(p_values=(1,), max_walk_m=500.0))
    assert np.isinf(near.time_before_min).sum() >= np.isinf(base.time_before_min).sum()
    assert np.isinf(near.time_before_min).sum() > 0
