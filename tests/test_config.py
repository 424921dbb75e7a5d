"""Run configuration files (TOML) and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverkit.api import output_paths, parameters_from_config
from coverkit.config import RunConfig, read_config
from coverkit.errors import ConfigError, InputFileError


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
