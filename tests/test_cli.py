"""The command line: help, option errors and one-line error reporting."""

from __future__ import annotations

import pytest

from coverkit.cli.main import build_parser, main


def test_plan_help_documents_every_option(capsys):
    assert main(["plan", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--county",
        "--population",
        "--roads",
        "--facilities",
        "--villages",
        "--config",
        "--subcentres",
        "--minutes",
        "--out",
        "--coords",
        "--objective",
        "--mode",
        "--road-speed",
        "--walk-speed",
        "--max-walk",
        "--eligibility-rule",
        "--outside-hospitals",
        "--seat-radius",
        "--joint-cross-township",
        "--joint-max-villages",
        "--joint-max-people",
        "--visit-min",
        "--set",
    ):
        assert option in out
    assert "县域医疗卫生次中心" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "plan" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # flags share the config file's readers (messages changed with issue 15)
        (["plan", "--minutes", "0"], "--minutes=0.0 must be a positive number of minutes"),
        (["plan", "--minutes", "abc"], "is not a number of minutes"),
        (["plan", "-p", "0"], "--subcentres=[0] must be whole numbers ≥ 1"),
        (["plan", "--coords", "mars"], "invalid choice"),
        (["plan", "--road-speed", "track=0"], "--road-speed track=0 must be a positive speed"),
        (["plan", "--road-speed", "track"], "'track' is not CLASS=KPH"),
        (["plan", "--walk-speed", "-4"], "must be a positive speed in km/h"),
        (["plan", "--mode", "fly"], "invalid choice"),
        # issue 16: the rule flags and --set go through the config's setting readers
        (["plan", "--eligibility-rule", "most"], "invalid choice: 'most'"),
        (["plan", "--seat-radius", "-1"], "--seat-radius=-1.0 must be a distance ≥ 0 metres"),
        (["plan", "--joint-max-villages", "0"], "must be a whole number from 1 or more"),
        (["plan", "--joint-max-villages", "2.5"], "must be a whole number, got 2.5"),
        (["plan", "--joint-max-people", "-3"], "joint_max_population=-3.0 must be a finite"),
        (["plan", "--visit-min", "lunch"], "--visit-min 'lunch' is not a number"),
        (["plan", "--visit-min", "0"], "rotation_visit_min=0.0 must be a positive number of"),
        (["plan", "--set", "rotation_max_min"], "is not NAME=VALUE"),
        (["plan", "--set", "rotaton_max_min=30"], "did you mean rotation_max_min"),
        (["plan", "--set", "rotation_max_min=inf"], "rotation_max_min=inf must be a finite"),
        (["plan", "--set", "joint_travel_mode=fly"], "is not known; use one of walk, drive"),
    ],
)
def test_bad_options_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.startswith("coverkit: error: ")
    assert err.count("\n") == 1


def test_coverkit_error_is_one_line_without_traceback(tmp_path, capsys):
    bad = tmp_path / "plan.toml"
    bad.write_text("minute = 30\n", encoding="utf-8")
    assert main(["plan", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("coverkit: error: ")
    assert "unknown key 'minute'" in err
    assert "Traceback" not in err


def test_p_list_parses():
    args = build_parser().parse_args(["plan", "-p", "1,2,3", "--thresholds", "15,30"])
    assert args.subcentres == (1, 2, 3)
    assert args.thresholds == (15.0, 30.0)


def test_verbosity_flags_before_or_after_the_command():
    parser = build_parser()
    assert parser.parse_args(["plan", "-q"]).quiet is True
    assert parser.parse_args(["-q", "plan"]).quiet is True
    assert parser.parse_args(["plan", "-vv"]).verbose == 2
    assert parser.parse_args(["plan"]).quiet is False


def test_road_speed_flags_go_over_the_config_table(tmp_path):
    from coverkit.cli.main import merge_speeds

    args = build_parser().parse_args(
        ["plan", "--road-speed", "Track=12", "--road-speed", "path=3", "--mode", "walk"]
    )
    assert args.road_speeds_kph == [("track", 12.0), ("path", 3.0)]
    assert args.mode == "walk"
    merged = merge_speeds((("primary", 50.0), ("track", 15.0)), args.road_speeds_kph)
    assert merged == (("path", 3.0), ("primary", 50.0), ("track", 12.0))
    assert merge_speeds((("track", 15.0),), None) is None  # the config's table stays


def test_rule_flags_and_set_reach_the_config(tmp_path, monkeypatch):
    """Flags go over the config's [settings] (a later flag wins) and the named options."""
    import coverkit.api
    from coverkit.cli.main import main
    from coverkit.errors import CoverkitError

    cfg = tmp_path / "plan.toml"
    cfg.write_text(
        'county = "Mwali"\n[settings]\nrotation_max_min = 30\njoint_max_villages = 9\n',
        encoding="utf-8",
    )
    seen = {}

    def fake_run_plan(config, progress=None):
        seen["config"] = config
        raise CoverkitError("stop here")

    monkeypatch.setattr(coverkit.api, "run_plan", fake_run_plan)
    argv = [
        "plan", "--config", str(cfg), "--eligibility-rule", "all", "--outside-hospitals",
        "--seat-radius", "2500", "--joint-cross-township", "--joint-max-villages", "3",
        "--joint-max-people", "4000", "--visit-min", "200", "--set", "joint_max_villages=5",
        "--set", "thresholds_min=[20, 40]", "--set", "joint_travel_mode=drive",
    ]  # fmt: skip
    assert main(argv) == 2
    config = seen["config"]
    assert (config.eligibility_rule, config.count_outside_hospitals) == ("all", True)
    assert config.seat_exclusion_radius_m == 2500.0
    assert dict(config.settings) == {
        "rotation_max_min": 30.0,  # from the file
        "joint_same_township": False,
        "joint_max_villages": 5,  # the later --set wins over --joint-max-villages 3 and the file
        "joint_max_population": 4000.0,
        "rotation_visit_min": 200.0,
        "thresholds_min": (20.0, 40.0),
        "joint_travel_mode": "drive",
    }
