"""Bad flags and config values: one line ``coverkit: error: …``, exit 2, nothing written.

Every flag is read by the config file's reader (``coverkit.config.OPTION_READERS``),
so each flag case has a config-file twin where the option has a key. argparse's own
errors (unknown option or command, missing argument, bad choice) keep the same
one-line contract. All of these fail before any data is loaded, so they are fast.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import coverkit
from coverkit import settings
from coverkit.api import run_plan
from coverkit.cli.main import main
from coverkit.config import RunConfig, parse_flag, read_config
from coverkit.errors import ConfigError, CoverkitError, InputFileError
from coverkit.maps.build import check_tiles, map_from_plan

_CLASSES = r"use one of motorway, trunk, primary, .*, cycleway \(or CLASS_link\)"
_NUL = "\0"

#: (id, flag arguments after ``plan``, the line's regex after "coverkit: error: ",
#: config-file twin text or None, the twin's regex after "<file>: ").
FLAG_CASES: list[tuple[str, list[str], str, str | None, str | None]] = [
    (
        "minutes-inf",
        ["--minutes", "inf"],
        r"--minutes=inf must be a positive number of minutes, at most 1440, e\.g\. 30",
        "minutes = inf",
        r"minutes=inf must be a positive number of minutes, at most 1440, e\.g\. 30",
    ),
    (
        "minutes-nan",
        ["--minutes", "nan"],
        r"--minutes=nan must be a positive number of minutes, .*",
        "minutes = nan",
        r"minutes=nan must be a positive number of minutes, .*",
    ),
    (
        "minutes-huge",
        ["--minutes", "1e308"],
        r"--minutes=1e\+308 must be a positive number of minutes, at most 1440, .*",
        "minutes = 1e308",
        r"minutes=1e\+308 must be a positive number of minutes, at most 1440, .*",
    ),
    (
        "minutes-negative",
        ["--minutes", "-5"],
        r"--minutes=-5\.0 must be a positive number of minutes, .*",
        "minutes = -5",
        r"minutes=-5\.0 must be a positive number of minutes, .*",
    ),
    (
        "minutes-text",
        ["--minutes", "thirty"],
        r"--minutes 'thirty' is not a number of minutes; e\.g\. --minutes 30",
        'minutes = "thirty"',
        r"key 'minutes' must be a number of minutes, got 'thirty'",
    ),
    (
        "road-buffer-negative",
        ["--road-buffer", "-5000"],
        r"--road-buffer=-5000\.0 must be a distance ≥ 0 metres, at most 100000, e\.g\. 5000",
        "road_buffer_m = -5000",
        r"road_buffer_m=-5000\.0 must be a distance ≥ 0 metres, at most 100000, e\.g\. 5000",
    ),
    (
        "road-buffer-nan",
        ["--road-buffer", "nan"],
        r"--road-buffer=nan must be a distance ≥ 0 metres, .*",
        "road_buffer_m = nan",
        r"road_buffer_m=nan must be a distance ≥ 0 metres, .*",
    ),
    (
        "road-buffer-inf",
        ["--road-buffer", "inf"],
        r"--road-buffer=inf must be a distance ≥ 0 metres, .*",
        "road_buffer_m = inf",
        r"road_buffer_m=inf must be a distance ≥ 0 metres, .*",
    ),
    (
        "road-buffer-huge",
        ["--road-buffer", "1e9"],
        r"--road-buffer=1000000000\.0 must be a distance ≥ 0 metres, at most 100000, .*",
        "road_buffer_m = 1_000_000_000",
        r"road_buffer_m=1000000000\.0 must be a distance ≥ 0 metres, at most 100000, .*",
    ),
    (
        "walk-speed-zero",
        ["--walk-speed", "0"],
        r"--walk-speed=0\.0 must be a positive speed in km/h, at most 200, e\.g\. 5",
        "walk_speed_kph = 0",
        r"walk_speed_kph=0\.0 must be a positive speed in km/h, at most 200, e\.g\. 5",
    ),
    (
        "walk-speed-huge",
        ["--walk-speed", "1e6"],
        r"--walk-speed=1000000\.0 must be a positive speed in km/h, at most 200, .*",
        "walk_speed_kph = 1e6",
        r"walk_speed_kph=1000000\.0 must be a positive speed in km/h, at most 200, .*",
    ),
    (
        "max-walk-negative",
        ["--max-walk", "-1"],
        r"--max-walk=-1\.0 must be a distance ≥ 0 metres, at most 100000, e\.g\. 5000",
        "max_walk_m = -1",
        r"max_walk_m=-1\.0 must be a distance ≥ 0 metres, at most 100000, e\.g\. 5000",
    ),
    (
        "max-walk-inf",
        ["--max-walk", "inf"],
        r"--max-walk=inf must be a distance ≥ 0 metres, .*",
        "max_walk_m = inf",
        r"max_walk_m=inf must be a distance ≥ 0 metres, .*",
    ),
    (
        "subcentres-huge",
        ["-p", "1000000"],
        r"--subcentres=\[1000000\] must be whole numbers ≥ 1 and at most 50 .*",
        "subcentres = 1000000",
        r"subcentres=\[1000000\] must be whole numbers ≥ 1 and at most 50 .*",
    ),
    (
        "subcentres-zero-in-list",
        ["-p", "1,0"],
        r"--subcentres=\[1, 0\] must be whole numbers ≥ 1 .*",
        "subcentres = [1, 0]",
        r"subcentres=\[1, 0\] must be whole numbers ≥ 1 .*",
    ),
    (
        "subcentres-fraction",
        ["-p", "1.5"],
        r"--subcentres '1\.5' is not a whole number or a comma list like 1,2; .*",
        "subcentres = 1.5",
        r"key 'subcentres' must be a whole number or a list of them, got 1\.5",
    ),
    (
        "subcentres-empty",
        ["-p", ","],
        r"--subcentres=\[\] must be whole numbers ≥ 1 .*",
        "subcentres = []",
        r"subcentres=\[\] must be whole numbers ≥ 1 .*",
    ),
    (
        "thresholds-inf",
        ["--thresholds", "15,inf"],
        r"--thresholds=\[15\.0, inf\] must all be positive minutes, at most 1440, .*",
        "thresholds = [15, inf]",
        r"thresholds=\[15\.0, inf\] must all be positive minutes, at most 1440, .*",
    ),
    (
        "thresholds-empty",
        ["--thresholds", ","],
        r"--thresholds is empty; give minutes like \[15, 30, 45, 60\] or leave it out",
        "thresholds = []",
        r"thresholds is empty; give minutes like .*",
    ),
    (
        "thresholds-string",
        ["--thresholds", "15,x"],
        r"--thresholds 'x' is not a list of minutes; e\.g\. --thresholds 15,30",
        'thresholds = "15,30"',
        r"key 'thresholds' must be a list of minutes, got '15,30'",
    ),
    (
        "road-speed-unknown-class",
        ["--road-speed", "primray=10"],
        rf"--road-speed primray=10: road class 'primray' is not known; {_CLASSES}",
        "[road_speeds_kph]\nprimray = 10",
        rf"road_speeds_kph\.primray: road class 'primray' is not known; {_CLASSES}",
    ),
    (
        "road-speed-no-speed",
        ["--road-speed", "primary"],
        r"--road-speed 'primary' is not CLASS=KPH; write e\.g\. --road-speed track=15",
        "road_speeds_kph = 30",
        r"'road_speeds_kph' must be a table of road class = km/h, .*",
    ),
    (
        "road-speed-word",
        ["--road-speed", "primary=fast"],
        r"--road-speed primary=fast: 'fast' is not a number of km/h; .*primary=15",
        '[road_speeds_kph]\nprimary = "fast"',
        r"road_speeds_kph\.primary must be a positive speed in km/h, got 'fast'; .*",
    ),
    (
        "road-speed-no-class",
        ["--road-speed", "=10"],
        r"--road-speed '=10' is not CLASS=KPH; write e\.g\. --road-speed track=15",
        '[road_speeds_kph]\n"" = 10',
        rf"road_speeds_kph\.: road class '' is not known; {_CLASSES}",
    ),
    (
        "road-speed-zero",
        ["--road-speed", "track=0"],
        r"--road-speed track=0 must be a positive speed in km/h, got 0\.0; give at most 200, .*",
        "[road_speeds_kph]\ntrack = 0",
        r"road_speeds_kph\.track must be a positive speed in km/h, got 0; give at most 200, .*",
    ),
    (
        "road-speed-nan",
        ["--road-speed", "Track=nan"],
        r"--road-speed Track=nan must be a positive speed in km/h, got nan; .*",
        "[road_speeds_kph]\nTrack = nan",
        r"road_speeds_kph\.Track must be a positive speed in km/h, got nan; .*",
    ),
    (
        "road-speed-nested-table",
        ["--road-speed", "track=1e999"],
        r"--road-speed track=1e999 must be a positive speed in km/h, got inf; give at most 200, .*",
        "[road_speeds_kph.track]\nkph = 15",
        r"road_speeds_kph\.track must be a positive speed in km/h, got \{'kph': 15\}; .*",
    ),
    (
        "encoding-unknown",
        ["--encoding", "big6"],
        r"--encoding='big6' is not a known text encoding; use e\.g\. utf-8, gbk, gb18030, utf-16",
        'encoding = "big6"',
        r"encoding='big6' is not a known text encoding; use e\.g\. utf-8, gbk, gb18030, utf-16",
    ),
    (
        "encoding-not-text",
        ["--encoding", "base64"],
        r"--encoding='base64' is not a known text encoding; .*",
        'encoding = "base64"',
        r"encoding='base64' is not a known text encoding; .*",
    ),
    (
        "encoding-number",
        ["--encoding", ""],
        r"--encoding='' is not a known text encoding; .*",
        "encoding = 936",
        r"key 'encoding' must be an encoding name such as utf-8, got 936",
    ),
    (
        "population-nul",
        ["--population", f"pop{_NUL}.tif"],
        r"--population='pop\\x00\.tif' contains a NUL byte, which no path can hold; .*",
        'population = "pop\\u0000.tif"',
        r"population='pop\\x00\.tif' contains a NUL byte, which no path can hold; .*",
    ),
    (
        "facilities-nul",
        ["--facilities", f"a{_NUL}"],
        r"--facilities='a\\x00' contains a NUL byte, .*",
        'facilities = "a\\u0000"',
        r"facilities='a\\x00' contains a NUL byte, .*",
    ),
    (
        "villages-name-too-long",
        ["--villages", "v" * 300 + ".csv"],
        r"--villages='v+…v+\.csv' is too long for a file system .*; use a shorter .*",
        f'villages = "{"v" * 300}.csv"',
        r"villages='v+…v+\.csv' is too long for a file system .*",
    ),
    (
        "data-dir-empty",
        ["--data-dir", ""],
        r"--data-dir is empty; give a file or folder, or leave the option out",
        'data_dir = ""',
        r"data_dir is empty; give a file or folder, or leave the option out",
    ),
    (
        "roads-wrong-type",
        ["--roads", f"{_NUL}"],
        r"--roads='\\x00' contains a NUL byte, .*",
        "roads = ['a.pbf']",
        r"key 'roads' must be a string \(a path\), got \['a\.pbf'\]",
    ),
    (
        "county-empty",
        ["--county", " "],
        r"--county is empty; give a value or leave the option out",
        'county = ""',
        r"county is empty; give a value or leave the option out",
    ),
    (
        "county-carriage-return",
        ["--county", "Mwali\r# forged"],
        r"--county='Mwali\\r# forged' contains the control character U\+000D; .*",
        'county = "Mwali\\r# forged"',
        r"county='Mwali\\r# forged' contains the control character U\+000D; .*",
    ),
    (
        "county-table",
        ["--region", ""],
        r"--region is empty; give a value or leave the option out",
        'county = { name = "Mwali" }',
        r"key 'county' must be a string, got \{'name': 'Mwali'\}",
    ),
    (
        "coords-unknown",
        ["--coords", "mars"],
        r"argument --coords: invalid choice: 'mars' \(choose from .*\); see `coverkit plan --help`",
        'coords = "mars"',
        r"coords='mars' is not known; use one of wgs84, cgcs2000, gcj02, bd09",
    ),
    (
        "mode-unknown",
        ["--mode", "fly"],
        r"argument --mode: invalid choice: 'fly' \(choose from 'drive', 'walk'\); see .*",
        'mode = "fly"',
        r"mode='fly' is not known; use one of drive, walk",
    ),
    (
        "standard-only-value",
        ["--standard-only", "yes"],
        r"unrecognized arguments: yes; see `coverkit plan --help`",
        'standard_only = "yes"',
        r"key 'standard_only' must be true or false, got 'yes'",
    ),
    (
        "unknown-option",
        ["--minuets", "30"],
        r"unrecognized arguments: --minuets 30; see `coverkit plan --help`",
        "minute = 30",
        r"unknown key 'minute'; known keys are .*",
    ),
    (
        "unknown-section",
        ["-v", "-q"],
        r"argument -q/--quiet: not allowed with argument -v/--verbose; see .*",
        "[output]\nfolder = 'x'",
        r"unknown key 'output'; known keys are .*",
    ),
    (
        "missing-value",
        ["--minutes"],
        r"argument --minutes: expected one argument; see `coverkit plan --help`",
        None,
        None,
    ),
    (
        "config-nul",
        ["--config", f"plan{_NUL}.toml"],
        r"--config='plan\\x00\.toml' contains a NUL byte, which no path can hold; .*",
        None,
        None,
    ),
]

#: (id, whole argv, the line's regex after "coverkit: error: ") for the other commands.
COMMAND_CASES: list[tuple[str, list[str], str]] = [
    ("no-command-option", ["--bogus"], r"unrecognized arguments: --bogus; see `coverkit --help`"),
    (
        "unknown-command",
        ["plna"],
        r"argument COMMAND: invalid choice: 'plna' \(choose from 'plan', 'map', 'report', "
        r"'batch'\); see `coverkit --help`",
    ),
    (
        "map-no-plan",
        ["map"],
        r"the following arguments are required: PLAN; see `coverkit map --help`",
    ),
    (
        "map-unknown-tiles",
        ["map", "p", "--tiles", "OpenStreetMapp"],
        r"tiles='OpenStreetMapp' is not a known tile name; use e\.g\. .*OpenStreetMap, "
        r"OpenTopoMap, Esri\.WorldImagery \(or leave --tiles out: offline\)",
    ),
    (
        "map-tiles-need-key",
        ["map", "p", "--tiles", "Thunderforest.OpenCycleMap"],
        r"tiles='Thunderforest\.OpenCycleMap' needs an API key; use e\.g\. OpenStreetMap, .*",
    ),
    (
        "map-tiles-url",
        ["map", "p", "--tiles", "https://tile.example/{z}/{x}/{y}.png"],
        r"tiles='https://tile\.example/\{z\}/\{x\}/\{y\}\.png' is not a known tile name; .*",
    ),
    ("map-plan-nul", ["map", f"p{_NUL}"], r"PLAN='p\\x00' contains a NUL byte, .*"),
    ("report-plan-empty", ["report", ""], r"PLAN is empty; give a file or folder, .*"),
    (
        "report-unknown-option",
        ["report", "p", "--tiles", "OpenStreetMap"],
        r"unrecognized arguments: --tiles OpenStreetMap; see `coverkit report --help`",
    ),
    (
        "batch-workers-negative",
        ["batch", "--province", "45", "--workers", "-1"],
        r"--workers=-1 must be a whole number of workers from 1 to 256, e\.g\. 4",
    ),
    (
        "batch-workers-zero",
        ["batch", "--province", "45", "--workers", "0"],
        r"--workers=0 must be a whole number of workers from 1 to 256, e\.g\. 4",
    ),
    (
        "batch-workers-huge",
        ["batch", "--province", "45", "--workers", "100000"],
        r"--workers=100000 must be a whole number of workers from 1 to 256, e\.g\. 4",
    ),
    (
        "batch-workers-text",
        ["batch", "--province", "45", "--workers", "many"],
        r"--workers 'many' is not a whole number of workers; e\.g\. --workers 4",
    ),
    (
        "batch-scheduler-no-port",
        ["batch", "--province", "45", "--scheduler", "tcp://10.0.0.5"],
        r"--scheduler='tcp://10\.0\.0\.5' is not a scheduler address; write host:port or "
        r"tcp://host:port .*",
    ),
    (
        "batch-scheduler-bad-port",
        ["batch", "--province", "45", "--scheduler", "localhost:99999"],
        r"--scheduler='localhost:99999' is not a scheduler address; .*",
    ),
    (
        "batch-road-buffer-inf",
        ["batch", "--province", "45", "--road-buffer", "inf"],
        r"--road-buffer=inf must be a distance ≥ 0 metres, .*",
    ),
    (
        "batch-coords-unknown",
        ["batch", "--province", "45", "--coords", "mars"],
        r"argument --coords: invalid choice: 'mars' .*; see `coverkit batch --help`",
    ),
    (
        "batch-province-and-configs",
        ["batch", "--province", "45", "--configs", "a.toml"],
        r"argument --configs: not allowed with argument --province; see `coverkit batch --help`",
    ),
    (
        "batch-config-nul",
        ["batch", "--configs", f"a{_NUL}.toml"],
        r"--configs='a\\x00\.toml' contains a NUL byte, .*",
    ),
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run :func:`main`; return (exit status, stderr)."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def _assert_one_line(err: str, pattern: str) -> None:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert re.fullmatch(f"coverkit: error: {pattern}\n", err), err


def _plan_argv(out: Path) -> list[str]:
    return ["-q", "plan", "--county", "Mwali", "--roads", "none", "--out", str(out)]


@pytest.mark.parametrize(
    ("flags", "pattern", "twin", "twin_pattern"),
    [pytest.param(f, p, t, tp, id=i) for i, f, p, t, tp in FLAG_CASES],
)
def test_bad_flag_and_its_config_twin(tmp_path, capsys, flags, pattern, twin, twin_pattern):
    out = tmp_path / "out"
    code, err = _run(_plan_argv(out) + flags, capsys)
    assert code == 2
    _assert_one_line(err, pattern)
    assert not out.exists()
    if twin is None:
        return
    toml = tmp_path / "plan.toml"
    toml.write_text(twin + "\n", encoding="utf-8")
    code, err = _run([*_plan_argv(out), "--config", str(toml)], capsys)
    assert code == 2
    _assert_one_line(err, re.escape(f"{toml}: ") + twin_pattern)
    assert not out.exists()
    with pytest.raises(CoverkitError):  # the API refuses the same file
        read_config(toml)


@pytest.mark.parametrize(
    ("argv", "pattern"), [pytest.param(a, p, id=i) for i, a, p in COMMAND_CASES]
)
def test_bad_command_line(tmp_path, capsys, monkeypatch, argv, pattern):
    monkeypatch.chdir(tmp_path)
    if argv[0] == "batch":
        argv = [*argv, "--out", str(tmp_path / "out")]
    code, err = _run(argv, capsys)
    assert code == 2
    _assert_one_line(err, pattern)
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def _big(tmp: Path) -> Path:
    path = tmp / "big.toml"
    path.write_text("# padding\n" * (settings.max_config_bytes // 10 + 1), encoding="utf-8")
    return path


def _write(name: str, data: bytes):
    def build(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data)
        return path

    return build


#: (id, builder of the config file, error type, the message's regex after the path).
CONFIG_FILE_CASES = [
    ("missing", lambda tmp: tmp / "nope.toml", InputFileError, r" does not exist; .*--config"),
    ("folder", lambda tmp: tmp, InputFileError, r" is a folder; give the \.toml file inside it"),
    ("too-large", _big, InputFileError, r" is 1,000,010 bytes, more than the 1,000,000 .*"),
    (
        "binary",
        _write("png.toml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        InputFileError,
        r" is not valid TOML: not utf-8-sig text \(a bad byte at offset 0\); save it as UTF-8",
    ),
    (
        "duplicate-key",
        _write("dup.toml", b"minutes = 30\nminutes = 45\n"),
        InputFileError,
        r" is not valid TOML \(Cannot overwrite a value .*\); fix the line it names",
    ),
    (
        "nested-too-deep",
        _write("deep.toml", b"minutes = " + b"[" * 5000 + b"]" * 5000 + b"\n"),
        InputFileError,
        r" is not valid TOML \(nested too deeply\); fix it",
    ),
    (
        "nested-list-of-lists",
        _write("nest.toml", b"subcentres = [[1]]\n"),
        ConfigError,
        r": key 'subcentres' must be a whole number or a list of them, got \[1\]",
    ),
    (
        "out-nul",
        _write("out.toml", b'out = "o\\u0000ut"\n'),
        ConfigError,
        r": out='o\\x00ut' contains a NUL byte, which no path can hold; retype the path",
    ),
]


@pytest.mark.parametrize(
    ("build", "exc_type", "pattern"),
    [pytest.param(b, e, p, id=i) for i, b, e, p in CONFIG_FILE_CASES],
)
def test_bad_config_file(tmp_path, capsys, build, exc_type, pattern):
    path = build(tmp_path)
    with pytest.raises(exc_type) as info:
        read_config(path)
    assert "\n" not in str(info.value)
    pattern = "(config file )?" + re.escape(str(path)) + pattern
    assert re.fullmatch(pattern, str(info.value))
    out = tmp_path / "out"
    code, err = _run([*_plan_argv(out), "--config", str(path)], capsys)
    assert code == 2
    _assert_one_line(err, pattern)
    assert not out.exists()


def test_at_least_thirty_cli_cases():
    n = len(FLAG_CASES) + len(COMMAND_CASES) + len(CONFIG_FILE_CASES)
    assert n >= 30
    ids = [c[0] for c in FLAG_CASES + COMMAND_CASES + CONFIG_FILE_CASES]
    assert len(set(ids)) == len(ids)


# --------------------------------------------------------------------------- the API refuses too


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"minutes": math.inf}, r"minutes=inf must be a positive number of minutes"),
        ({"road_buffer_m": -5000}, r"road_buffer_m=-5000\.0 must be a distance ≥ 0 metres"),
        ({"road_buffer_m": math.nan}, r"road_buffer_m=nan must be a distance ≥ 0 metres"),
        ({"road_speeds_kph": (("primray", 10),)}, r"road class 'primray' is not known"),
        ({"encoding": "big6"}, r"encoding='big6' is not a known text encoding"),
        ({"population": "a\0b"}, r"population='a\\x00b' contains a NUL byte"),
        ({"subcentres": (10**6,)}, r"subcentres=\[1000000\] must be whole numbers ≥ 1"),
    ],
)
def test_run_config_refuses_what_flags_refuse(options, pattern):
    with pytest.raises(ConfigError, match=pattern):
        RunConfig(**options)


def test_map_from_plan_refuses_unknown_tiles():
    # the tiles are checked before the plan is read, so no plan is needed
    with pytest.raises(ConfigError, match=r"tiles='nope' is not a known tile name"):
        map_from_plan(None, tiles="nope")  # type: ignore[arg-type]
    assert check_tiles("OpenStreetMap") == "OpenStreetMap"
    assert check_tiles("Esri.WorldImagery") == "Esri.WorldImagery"


def test_good_values_pass_the_shared_readers(tmp_path):
    assert parse_flag("road_buffer_m", "0", "--road-buffer") == 0.0  # roads inside only
    assert parse_flag("encoding", "GBK", "--encoding") == "gbk"
    assert parse_flag("scheduler", "tcp://10.0.0.5:8786", "--scheduler") == "tcp://10.0.0.5:8786"
    assert parse_flag("scheduler", "localhost:8786", "--scheduler") == "localhost:8786"
    cfg = RunConfig(road_speeds_kph=(("Primary_Link", 30),), coords="GCJ02")
    assert cfg.road_speeds_kph == (("primary_link", 30.0),)
    assert cfg.coords == "gcj02"
    toml = tmp_path / "plan.toml"
    toml.write_text('roads = "none"\nencoding = "utf-16"\n', encoding="utf-16")  # with a BOM
    cfg = read_config(toml)
    assert (cfg.roads, cfg.encoding) == ("none", "utf-16")  # "none" is not a file


def test_encoding_reaches_load_county(tmp_path, monkeypatch):
    import coverkit.region

    seen: list[dict] = []

    def fake_load_county(region, **kwargs):
        seen.append(kwargs)
        raise ConfigError("stop here")

    monkeypatch.setattr(coverkit.region, "load_county", fake_load_county)
    for encoding in ("gb18030", None):
        with pytest.raises(ConfigError, match="stop here"):
            run_plan(RunConfig(county="Mwali", encoding=encoding, out=str(tmp_path / "o")))
    assert seen[0]["encoding"] == "gb18030"
    assert seen[1]["encoding"] is None
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- the real entry point


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["plan", "--road-buffer", "inf"], r"--road-buffer=inf must be a distance ≥ 0 metres, .*"),
        (["plan", "--nope"], r"unrecognized arguments: --nope; see `coverkit plan --help`"),
        (["batch", "--province", "45", "--workers", "-1", "--out", "o"], r"--workers=-1 .*"),
        (["map", "p", "--tiles", "nope"], r"tiles='nope' is not a known tile name; .*"),
        (["plan", "--config", "."], r"config file \. is a folder; .*"),
        ([], r"no command given; use one of plan, map, report, batch \(see `coverkit --help`\)"),
    ],
)
def test_entry_point_prints_one_line(tmp_path, argv, pattern):
    root = str(Path(coverkit.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    proc = subprocess.run(
        [sys.executable, "-m", "coverkit.cli.main", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    _assert_one_line(proc.stderr, pattern)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["plan", "--help"], ["batch", "-h"]])
def test_help_and_version_still_exit_0(capsys, argv):
    code, err = _run(argv, capsys)
    assert code == 0
    assert err == ""
