"""A small synthetic :class:`coverkit.plan.CountyPlan` for map and report tests.

The county is the square 110.00–110.20 °E × 30.00–30.20 °N with its north-east
corner cut off, split into two townships (west/east halves). The population
grid is 20 × 20 cells of 0.01° in EPSG:4326 with ``values[r, c] = r + c + 1``
inside the county. Times are Manhattan-like distances in cells × 4 minutes to
the county hospital (before) and also to the sub-centre (after); two cells are
unreachable (``inf``). Some names carry HTML/JS injection payloads.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from pyproj import CRS
from shapely.geometry import LineString, Point, Polygon, box

from coverkit.io import PopulationGrid
from coverkit.plan import CountyPlan, PlanParameters

#: Payloads that would set ``data-pwned`` on <body> if they ever ran.
SCRIPT_NAME = "<script>document.body.setAttribute('data-pwned','1')</script>"
IMG_NAME = "\"><img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">"
TEMPLATE_NAME = "`${document.body.setAttribute('data-pwned','3')}`"
INJECTIONS = (SCRIPT_NAME, IMG_NAME, TEMPLATE_NAME)

WEST, SOUTH, EAST, NORTH = 110.0, 30.0, 110.2, 30.2
CELL = 0.01
N = 20

#: Hand-counted facts about the fixture.
N_FACILITIES = 8
N_VILLAGES = 6
MODES = {"fixed": 2, "joint": 1, "rotation": 2, "stationed": 1}
VILLAGE_POPULATION = 800 + 1200 + 450 + 300 + 260 + 90  # = 3100
#: Cells with col - row >= 15 (15 cells, 20 people per diagonal cell-row) lie outside:
#: 8000 - 300.
GRID_POPULATION = 7700.0


def county_polygon() -> Polygon:
    """The county: the square with its north-east corner (dx + dy > 0.345° from SW) cut."""
    return Polygon([(WEST, SOUTH), (EAST, SOUTH), (EAST, 30.145), (110.145, NORTH), (WEST, NORTH)])


def population_grid() -> PopulationGrid:
    """20 × 20 grid, ``r + c + 1`` people in cells whose centre lies in the county."""
    transform = Affine(CELL, 0.0, WEST, 0.0, -CELL, NORTH)
    rows, cols = np.mgrid[0:N, 0:N]
    x = WEST + (cols + 0.5) * CELL
    y = NORTH - (rows + 0.5) * CELL
    poly = county_polygon()
    from shapely import contains_xy

    mask = contains_xy(poly, x, y)
    values = np.where(mask, rows + cols + 1, 0).astype("float64")
    return PopulationGrid(
        values=values,
        mask=mask,
        transform=transform,
        crs=CRS.from_epsg(4326),
        total=float(values.sum()),
        source="synthetic",
    )


def _times(grid: PopulationGrid) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:N, 0:N]
    # county hospital in cell (15, 4), sub-centre in cell (5, 14)
    before = (np.abs(rows - 15) + np.abs(cols - 4)) * 4.0
    after = np.minimum(before, (np.abs(rows - 5) + np.abs(cols - 14)) * 4.0)
    before = before.astype("float32")
    after = after.astype("float32")
    before[0, 0] = after[0, 0] = np.inf
    before[19, 19] = after[19, 19] = np.inf
    before[~grid.mask] = np.nan
    after[~grid.mask] = np.nan
    return before, after


def make_plan() -> CountyPlan:
    """Build the synthetic plan (deterministic)."""
    crs = "EPSG:4326"
    grid = population_grid()
    before, after = _times(grid)
    county = county_polygon()
    boundary = gpd.GeoDataFrame({"id": ["420000"], "name": ["示例县"]}, geometry=[county], crs=crs)
    west = county.intersection(box(WEST, SOUTH, 110.1, NORTH))
    east = county.intersection(box(110.1, SOUTH, EAST, NORTH))
    townships = gpd.GeoDataFrame(
        {
            "id": ["T1", "T2"],
            "name": ["城关镇", IMG_NAME],
            "population": [1500.0, 1600.0],
        },
        geometry=[west, east],
        crs=crs,
    )
    seat = gpd.GeoDataFrame(
        {"id": ["S"], "name": ["城关镇"]}, geometry=[Point(110.045, 30.045)], crs=crs
    )
    roads = gpd.GeoDataFrame(
        {
            "id": ["r1", "r2", "r3"],
            "highway": ["primary", "secondary", "track"],
        },
        geometry=[
            LineString([(110.01, 30.045), (110.19, 30.045)]),
            LineString([(110.145, 30.01), (110.145, 30.13)]),
            LineString([(110.05, 30.1), (110.08, 30.18)]),
        ],
        crs=crs,
    )
    facilities = gpd.GeoDataFrame(
        {
            "id": ["H1", "C1", "C2", "C3", "V1", "V2", "V3", "V4"],
            "name": [
                "示例县人民医院",
                "东镇中心卫生院",
                "西乡卫生院",
                TEMPLATE_NAME,
                "甲村卫生室",
                "乙村卫生室",
                "丙村卫生室",
                "丁村卫生室",
            ],
            "tier": ["county_hospital"] + ["township_centre"] * 3 + ["village_clinic"] * 4,
            "is_central": [False, True, False, False, False, False, False, False],
            "assumed": [False, False, False, True, False, False, False, True],
        },
        geometry=[
            Point(110.045, 30.045),
            Point(110.145, 30.145),
            Point(110.03, 30.17),
            Point(110.17, 30.03),
            Point(110.02, 30.02),
            Point(110.06, 30.12),
            Point(110.12, 30.06),
            Point(110.18, 30.10),
        ],
        crs=crs,
    )
    villages = gpd.GeoDataFrame(
        {
            "id": ["v1", "v2", "v3", "v4", "v5", "v6"],
            "name": ["甲村", "乙村", "丙村", SCRIPT_NAME, "戊村", "己村"],
            "township": ["T1", "T1", "T2", "T2", "T2", "T1"],
            "population": [800.0, 1200.0, 450.0, 300.0, 260.0, 90.0],
            "population_estimated": [False, False, True, False, True, False],
            "clinic": ["V1", "V2", None, "V4", None, None],
            "mode": ["fixed", "fixed", "joint", "rotation", "rotation", "stationed"],
            "rule_id": ["R1", "R1", "R2", "R3", "R3", "R4"],
            "reason_zh": [
                "有村卫生室",
                "有村卫生室",
                "距邻村卫生室 10 分钟",
                "人口少，巡诊",
                "人口少，巡诊",
                "偏远，派驻",
            ],
            "reason_en": [
                "has a clinic",
                "has a clinic",
                "10 min to a neighbour's clinic",
                "small, rotation",
                "small, rotation",
                "remote, stationed",
            ],
            "serving_facility": ["V1", "V2", "V3", "C3", "C3", "C2"],
            "minutes": [0.0, 0.0, 10.0, 25.5, 31.0, 48.25],
        },
        geometry=[
            Point(110.02, 30.02),
            Point(110.06, 30.12),
            Point(110.125, 30.065),
            Point(110.16, 30.04),
            Point(110.19, 30.12),
            Point(110.02, 30.19),
        ],
        crs=crs,
    )
    params = PlanParameters(p_values=(1, 2), threshold_min=30.0, thresholds_min=(30.0, 60.0))
    eligibility = pd.DataFrame(
        {
            "indicator": ["population", "area_km2"],
            "indicator_zh": ["常住人口", "面积"],
            "value": [float(grid.total), 441.25],
            "threshold": [2000.0, 400.0],
            "unit": ["persons", "km2"],
            "passes": [True, True],
        }
    )
    siting = pd.DataFrame(
        {
            "p": [1, 2],
            "selected_ids": ["C1", "C1;C3"],
            "selected_names": ["东镇中心卫生院", "东镇中心卫生院;" + TEMPLATE_NAME],
            "objective": [12345.5, 11000.25],
            "pop_within_before": [1000.0, 1000.0],
            "pop_within_after": [2000.0, 2100.0],
            "share_within_before": [1 / 3, 1 / 3],
            "share_within_after": [2 / 3, 0.7],
            "mean_min_before": [40.0, 40.0],
            "mean_min_after": [25.0, 23.5],
            "recommended": [True, False],
        }
    )
    subcentres = gpd.GeoDataFrame(
        {
            "id": ["C1"],
            "name": ["东镇中心卫生院"],
            "rank": [1],
            "pop_newly_within": [1000.0],
            "mean_saved_min": [15.0],
            "max_saved_min": [56.0],
            "townships": ["T2"],
        },
        geometry=[Point(110.145, 30.145)],
        crs=crs,
    )
    catchments = gpd.GeoDataFrame(
        {
            "facility_id": ["H1", "C1"],
            "name": ["示例县人民医院", "东镇中心卫生院"],
            "tier": ["county_hospital", "township_centre"],
            "population": [1700.0, 1400.0],
        },
        geometry=[
            county.intersection(box(WEST, SOUTH, 110.1, NORTH)),
            county.intersection(box(110.1, SOUTH, EAST, NORTH)),
        ],
        crs=crs,
    )
    isochrones = gpd.GeoDataFrame(
        {
            "scenario": ["before", "after"],
            "threshold_min": [30.0, 30.0],
            "population": [1000.0, 2000.0],
        },
        geometry=[
            Point(110.045, 30.045).buffer(0.04),
            Point(110.045, 30.045).buffer(0.04).union(Point(110.145, 30.145).buffer(0.04)),
        ],
        crs=crs,
    )
    coverage = pd.DataFrame(
        {
            "threshold_min": [30.0, 30.0, 30.0, 60.0, 60.0, 60.0],
            "p": [0, 1, 2, 0, 1, 2],
            "population_within": [1000.0, 2000.0, 2100.0, 2500.0, 3000.0, 3050.0],
            "share_within": [
                1000 / 3100,
                2000 / 3100,
                2100 / 3100,
                2500 / 3100,
                3000 / 3100,
                3050 / 3100,
            ],
        }
    )
    timetable = pd.DataFrame(
        {
            "township": ["T2", "T2"],
            "team": [1, 1],
            "weekday": ["Mon", "Thu"],
            "half_day": ["am", "pm"],
            "villages": [SCRIPT_NAME, "戊村"],
            "drive_min": [51.0, 62.0],
        }
    )
    staffing = pd.DataFrame(
        {
            "level": ["county", "village"],
            "name": ["示例县", "甲村"],
            "population": [float(grid.total), 800.0],
            "rule": ["每千人口卫生技术人员", "每千人口乡村医生"],
            "source": ["国卫规划发〔2022〕", "国卫基层发〔2023〕"],
            "required_min": [10.0, 1.0],
            "required_max": [12.0, 1.0],
        }
    )
    return CountyPlan(
        county_id="420000",
        county_name="示例县",
        params=params,
        boundary=boundary,
        townships=townships,
        seat=seat,
        roads=roads,
        population=grid,
        facilities=facilities,
        villages=villages,
        time_before_min=before,
        time_after_min=after,
        eligibility=eligibility,
        eligible=True,
        siting=siting,
        subcentres=subcentres,
        catchments=catchments,
        isochrones=isochrones,
        coverage=coverage,
        timetable=timetable,
        staffing=staffing,
        summary={
            "population": float(grid.total),
            "within_before": 1000.0,
            "within_after": 2000.0,
            "p": 1,
            "subcentre_names": ["东镇中心卫生院"],
            "villages_by_mode": dict(MODES),
        },
        notes=["示例说明 example note: facilities C3 and V4 assumed"],
        runners_up=pd.DataFrame(
            {"site_id": ["C2"], "rank": [1], "candidate_id": ["C3"], "candidate_name": ["乙镇"],
             "pop_within_after": [5200.0], "delta_pop_within": [-400.0]}
        ),
        rotation_shortfall=pd.DataFrame(
            {"township": ["甲镇"], "slots_needed": [4], "slots_available": [10],
             "teams_needed": [0], "enough": [True]}
        ),
        shared_clinics=pd.DataFrame(
            {"group": [1], "villages": ["V5;V6"], "population": [900.0], "host": ["V5"]}
        ),
        objectives=pd.DataFrame(
            {"objective": ["pmedian", "mclp", "pcenter"],
             "selected_names": ["乙镇", "乙镇", "丙镇"],
             "mean_min": [21.0, 21.0, 25.5], "pop_within": [5600.0, 5600.0, 5100.0]}
        ),
        reach=pd.DataFrame(
            {"scenario": ["before", "after"], "zone": ["county", "county"],
             "population": [7700.0, 7700.0], "population_within_30min": [3000.0, 5600.0]}
        ),
        facility_mapping=pd.DataFrame(
            {"rule_id": ["name-hospital", "assumed"], "tier": ["county_hospital", "village_clinic"],
             "facilities": [1, 2]}
        ),
    )  # fmt: skip
