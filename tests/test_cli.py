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
