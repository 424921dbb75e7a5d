"""Run configuration files (TOML) and their errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from coverkit import settings
from coverkit.api import output_paths, parameters_from_config, run_settings
from coverkit.config import RunConfig, overridden_settings, read_config
from coverkit.errors import ConfigError, InputFileError
from coverkit.plan import PlanParameters


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_is_read_and_paths_resolved(tmp_path):
    path = _write(
        tmp_path,
        'county = "鹿寨县"\npopulation = "pop.tif"\nroads = "/abs/roads.osm.pbf"\n'
        "subcentres = [1, 2, 3]\nminutes = 45\nthresholds = [15, 30]\n"
        'objective = "mclp"\ncoords = "gcj02"\n',
    )
    cfg = read_config(path)
    assert cfg.county == "鹿寨县"
    assert cfg.population == str((tmp_path / "pop.tif").resolve())
    assert cfg.roads == "/abs/roads.osm.pbf"
    assert cfg.subcentres == (1, 2, 3)
    assert cfg.minutes == 45.0
    assert cfg.thresholds == (15.0, 30.0)
    params = parameters_from_config(cfg)
    assert params.p_values == (1, 2, 3)
    assert params.threshold_min == 45.0
    assert params.objective == "mclp"


def test_county_code_may_be_a_number(tmp_path):
    assert read_config(_write(tmp_path, "county = 450223\n")).county == "450223"


def test_single_p_and_cli_override(tmp_path):
    cfg = read_config(_write(tmp_path, "subcentres = 2\n"))
    assert cfg.subcentres == (2,)
    assert cfg.updated(subcentres=(1,), county=None).subcentres == (1,)


def test_unknown_key_names_it(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'minute'"):
        read_config(_write(tmp_path, "minute = 30\n"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('minutes = "thirty"\n', "'minutes' must be a number"),
        ("minutes = true\n", "'minutes' must be a number"),
        ("subcentres = [1, 2.5]\n", "'subcentres' must be a whole number"),
        ("subcentres = 0\n", r"subcentres=\[0\] must be whole numbers ≥ 1"),
        ("minutes = -5\n", "minutes=-5.0 must be a positive"),
        ('objective = "fastest"\n', "objective='fastest' is not known"),
        ('coords = "mars"\n', "coords='mars' is not known"),
        ("roads = 3\n", "'roads' must be a string"),
    ],
)
def test_wrong_types_are_refused(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        read_config(_write(tmp_path, text))


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_config(tmp_path / "nope.toml")
    with pytest.raises(InputFileError, match="not valid TOML"):
        read_config(_write(tmp_path, "county = \n"))


def test_output_paths_default_and_out(tmp_path):
    assert output_paths(RunConfig(), "Ngazidja") == (
        Path("maps/Ngazidja.html"),
        Path("outputs/Ngazidja"),
    )
    m, o = output_paths(RunConfig(out=str(tmp_path)), "鹿寨县")
    assert m == tmp_path / "maps" / "鹿寨县.html"
    assert o == tmp_path / "outputs" / "鹿寨县"
    # path separators in a county name never escape the output folder
    assert output_paths(RunConfig(), "../x")[0] == Path("maps/___x.html")


def test_road_buffer_is_read_and_checked(tmp_path):
    assert read_config(_write(tmp_path, "road_buffer_m = 2000\n")).road_buffer_m == 2000.0
    # the same reader as --road-buffer: "road_buffer_m=-1.0 ..." (was "'road_buffer_m' must be ≥ 0")
    with pytest.raises(ConfigError, match=r"road_buffer_m=-1\.0 must be a distance ≥ 0 metres"):
        read_config(_write(tmp_path, "road_buffer_m = -1\n"))


def test_travel_options_are_read_and_reach_the_plan_parameters(tmp_path):
    cfg = read_config(
        _write(
            tmp_path,
            'mode = "walk"\nwalk_speed_kph = 4\nmax_walk_m = 2500\n'
            "[road_speeds_kph]\ntrack = 15\nunclassified = 30.5\n",
        )
    )
    assert cfg.mode == "walk"
    assert cfg.road_speeds_kph == (("track", 15.0), ("unclassified", 30.5))
    params = parameters_from_config(cfg)
    assert params.mode == "walk"
    assert params.walk_speed_kph == 4.0
    assert params.max_walk_m == 2500.0
    assert dict(params.road_speeds_kph) == {"track": 15.0, "unclassified": 30.5}
    # defaults when absent
    params = parameters_from_config(read_config(_write(tmp_path, "minutes = 30\n")))
    assert (params.mode, params.road_speeds_kph, params.walk_speed_kph) == ("drive", (), 5.0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[road_speeds_kph]\ntrack = 0\n", r"road_speeds_kph\.track must be a positive speed"),
        ("[road_speeds_kph]\ntrack = -20\n", r"road_speeds_kph\.track must be a positive speed"),
        ('[road_speeds_kph]\ntrack = "fast"\n', r"road_speeds_kph\.track must be a positive"),
        ("road_speeds_kph = 30\n", "'road_speeds_kph' must be a table"),
        ('mode = "bike"\n', "mode='bike' is not known; use one of drive, walk"),
        ("walk_speed_kph = 0\n", "walk_speed_kph=0.0 must be a positive speed"),
        ("max_walk_m = -1\n", r"max_walk_m=-1\.0 must be a distance ≥ 0"),
    ],
)
def test_bad_travel_options_name_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match) as exc:
        read_config(_write(tmp_path, text))
    assert "plan.toml" in str(exc.value)


# --------------------------------------------------------------------------- [settings] (issue 16)


def test_settings_table_is_read_checked_and_typed(tmp_path):
    cfg = read_config(
        _write(
            tmp_path,
            "[settings]\nstationed_min_population = 2000\nrotation_max_min = 30.5\n"
            "thresholds_min = [20, 40]\nstaff_per_1000 = [1, 2]\njoint_max_villages = 4\n"
            'joint_travel_mode = "drive"\n[settings.eligibility_thresholds]\npopulation = 3e5\n',
        )
    )
    got = dict(cfg.settings)
    # ints become floats where the setting is a float; lists become tuples; a table is merged
    assert got["stationed_min_population"] == 2000.0
    assert isinstance(got["stationed_min_population"], float)
    assert got["thresholds_min"] == (20.0, 40.0)
    assert got["staff_per_1000"] == (1.0, 2.0)
    assert got["joint_max_villages"] == 4
    assert got["joint_travel_mode"] == "drive"
    assert got["eligibility_thresholds"] == {**settings.eligibility_thresholds, "population": 3e5}
    assert list(got) == sorted(got)  # sorted by name: the same config hashes the same


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("joint_max_vilages = 3", r"unknown setting 'joint_max_vilages'; did you mean joint_max_v"),
        ("stationed_min_populaton = 3", "did you mean stationed_min_population"),
        ("stationed_min_population = -1", r"stationed_min_population=-1\.0 must be a finite"),
        ("stationed_min_population = nan", r"stationed_min_population=nan must be a finite"),
        ("stationed_min_population = inf", r"stationed_min_population=inf must be a finite"),
        ("stationed_min_population = true", "must be a number, got True"),
        ('stationed_min_population = "many"', "must be a number, got 'many'"),
        ("second_site_min_gain_share = 1.5", r"second_site_min_gain_share=1\.5 must be a share"),
        ("seat_urban_share = 2", r"seat_urban_share=2\.0 must be a share from 0 to 1"),
        ("rotation_visits_per_week = 2.5", "must be a whole number"),
        ("rotation_workdays = 8", "must be a whole number from 1 to 7"),
        ("joint_max_villages = 0", "must be a whole number from 1 or more"),
        ('joint_travel_mode = "fly"', "is not known; use one of walk, drive"),
        ('eligibility_rule = "most"', "is not known; use one of any, all"),
        ("joint_same_township = 1", "must be true or false"),
        ('rotation_slot_starts = ["14:00", "08:00"]', "must be two HH:MM times, morning first"),
        ("staff_per_1000 = [1.5, 1]", r"must be \(low, high\) with low ≤ high"),
        ("staff_per_1000 = [1, 1.5, 2]", "must be a list of 2 values"),
        ("thresholds_min = []", "is empty"),
        ("walk_speed_kph = 0", "must be a positive speed"),
        ("circuity_factor = 0", r"circuity_factor=0\.0 must be a number > 0"),
        ("eligibility_thresholds = 5", "must be a table of key = number"),
        ("[settings.eligibility_thresholds]\npopulaton = 1", "populaton is not known; use one of"),
        ("[settings.eligibility_thresholds]\nshare_beyond_threshold = 2", "must be a share"),
    ],
)
def test_bad_settings_are_one_line_naming_the_setting(tmp_path, text, match):
    body = text if text.startswith("[") else f"[settings]\n{text}\n"
    with pytest.raises(ConfigError, match=match) as exc:
        read_config(_write(tmp_path, body))
    message = str(exc.value)
    assert "plan.toml" in message
    assert "\n" not in message


def test_settings_table_must_be_a_table(tmp_path):
    with pytest.raises(ConfigError, match="'settings' must be a table of setting = value"):
        read_config(_write(tmp_path, "settings = 3\n"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('eligibility_rule = "some"', "eligibility_rule='some' is not known; use one of any, all"),
        ("count_outside_hospitals = 1", "'count_outside_hospitals' must be true or false"),
        ("seat_exclusion_radius_m = -5", r"seat_exclusion_radius_m=-5\.0 must be a distance"),
        ("second_site_min_gain_share = -0.1", "must be a share from 0 to 1"),
        ("[eligibility_thresholds]\narea = 5", "eligibility_thresholds.area is not known"),
    ],
)
def test_bad_rule_parameters_name_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        read_config(_write(tmp_path, text + "\n"))


def test_rule_parameters_reach_the_run(tmp_path):
    cfg = read_config(
        _write(
            tmp_path,
            'eligibility_rule = "all"\ncount_outside_hospitals = true\n'
            "seat_exclusion_radius_m = 3000\nsecond_site_min_gain_share = 0.05\n"
            "[eligibility_thresholds]\npopulation = 400000\n[settings]\njoint_max_villages = 4\n",
        )
    )
    assert cfg.eligibility_thresholds == (("population", 400000.0),)
    fields_ = {f.name for f in dataclasses.fields(PlanParameters)}
    params = parameters_from_config(cfg)
    values = run_settings(cfg)
    # each option reaches the plan: as a PlanParameters field where it has one, else a setting
    for name, value in (
        ("eligibility_rule", "all"),
        ("count_outside_hospitals", True),
        ("seat_exclusion_radius_m", 3000.0),
        ("second_site_min_gain_share", 0.05),
    ):
        got = getattr(params, name) if name in fields_ else values[name]
        assert got == value
    thresholds = (
        params.eligibility_thresholds
        if "eligibility_thresholds" in fields_
        else values["eligibility_thresholds"]
    )
    assert dict(thresholds) == {**settings.eligibility_thresholds, "population": 400000.0}
    assert values["joint_max_villages"] == 4


def test_overridden_settings_restore_even_on_error():
    before = settings.stationed_min_population
    seen = []

    def fail() -> None:
        with overridden_settings({"stationed_min_population": 1.0, "a_setting_not_there": 5}):
            seen.append((settings.stationed_min_population, settings.a_setting_not_there))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert seen == [(1.0, 5)]
    assert settings.stationed_min_population == before
    assert not hasattr(settings, "a_setting_not_there")


def test_settings_override_changes_the_register_and_the_outcome(tmp_path):
    # Mwali without roads (fast): 14 villages of 7,000-55,000 people (raster estimates). At the
    # default build_clinic_min_population of 3,000, the 11 without a clinic are all too large
    # for any host (joint_max_population 3,000), so all 11 get "build" (R2-build 11). With
    # build_clinic_min_population = 60,000 (above the largest, Djoiezi, 55,060) none is built;
    # each of the 11 has at least stationed_min_population (1,500) people, so all 11 get
    # stationed staff instead (R2-stationed 0 -> 11).
    from coverkit.api import run_plan

    base = RunConfig(county="Mwali", roads="none", out=str(tmp_path / "a"))
    changed = base.updated(
        out=str(tmp_path / "b"), settings=(("build_clinic_min_population", 60000.0),)
    )
    runs = [run_plan(base), run_plan(changed)]
    assert settings.build_clinic_min_population == 3000.0  # restored after the run
    modes = [r.plan.villages["mode"].value_counts().to_dict() for r in runs]
    assert modes[0] == {"build": 11, "fixed": 3}
    assert modes[1] == {"stationed": 11, "fixed": 3}
    tables = [pd.read_csv(r.files["csv_rules"], encoding="utf-8-sig").set_index("id") for r in runs]
    assert "build_clinic_min_population=3000" in tables[0].loc["R2-build", "value"]
    assert "build_clinic_min_population=60000" in tables[1].loc["R2-build", "value"]
    assert tables[0].loc["R2-build", "affected"] == 11
    assert tables[1].loc["R2-build", "affected"] == 0
    assert tables[0].loc["R2-stationed", "affected"] == 0
    assert tables[1].loc["R2-stationed", "affected"] == 11
    # the plan keeps the override, so a re-read plan shows the same value
    assert runs[1].plan.summary["settings_overrides"] == {"build_clinic_min_population": 60000.0}
