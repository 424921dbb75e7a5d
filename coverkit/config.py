"""Run configuration from a TOML file, with the same names as the CLI options.

Example ``plan.toml``::

    region = "comoros"          # embedded region (or omit and give files)
    county = "Ngazidja"         # name or code
    population = "pop.tif"      # files; relative paths are relative to the TOML file
    roads = "roads.osm.pbf"
    facilities = "facilities.csv"
    villages = "villages.csv"
    places = "places.gpkg"      # named places for NBS villages without a point (China;
                                # default: the roads extract if OSM; "none": no matching)
    coords = "wgs84"            # wgs84 | cgcs2000 | gcj02 | bd09 (for the point tables)
    subcentres = [1, 2]         # or one number
    minutes = 30                # threshold T
    thresholds = [15, 30, 45, 60]
    objective = "pmedian"       # pmedian | mclp | pcenter
    candidates = "auto"         # auto | central | all (township centres as candidates)
    standard_only = false       # only centres meeting the 优质服务基层行 recommended standard
    road_buffer_m = 5000        # roads kept beyond the county border (cross-border trips)
    mode = "drive"              # drive (road speeds by class) | walk (every road walked)
    walk_speed_kph = 5          # off-road walking speed (and road speed in walk mode)
    max_walk_m = 5000           # farther than this from any road counts as unreachable
    encoding = "gbk"            # of the CSV tables (default: recognised from the file)
    out = "results"

    eligibility_rule = "all"    # any | all: how the eligibility indicators combine
    count_outside_hospitals = false  # hospitals outside the county count as existing cover
    seat_exclusion_radius_m = 5000   # centres this close to the seat count as in the seat
    second_site_min_gain_share = 0.02

    [eligibility_thresholds]    # over coverkit.settings.eligibility_thresholds, by indicator
    population = 400000

    [road_speeds_kph]           # overrides of coverkit.settings.road_speeds_kph, by OSM class
    track = 15
    unclassified = 30

    [settings]                  # any number/bool/text/list setting of coverkit.settings
    joint_max_villages = 4      # for this run only (see README "Policy rules and parameters")
    rotation_visit_min = 240

Unknown keys and values of the wrong type or out of range are refused with a
:class:`ConfigError` naming the key and the fix. Every option is checked by one
reader in :data:`OPTION_READERS`, whether it comes from this file, from a CLI flag
(:func:`parse_flag`) or from Python (:class:`RunConfig` checks itself): infinite,
NaN, negative or absurdly large numbers (limits ``settings.max_*``), empty strings,
control characters, paths a file system cannot hold (a NUL byte, a name over 255
bytes), unknown road classes and unknown encodings never reach a run.

The ``[settings]`` table (and ``--set NAME=VALUE``) sets any threshold of
:mod:`coverkit.settings` for one run: :func:`read_setting` checks each against the
setting's type (and its own reader in :data:`SETTING_READERS`, if any), and
:func:`overridden_settings` applies them while the run lasts and restores the old
values afterwards. Settings are module globals: runs in threads of one process share
them, so runs with different ``[settings]`` must run in separate processes (as
``coverkit batch`` does on Dask's default process workers).
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import math
import numbers
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from coverkit import settings
from coverkit.errors import ConfigError, InputFileError
from coverkit.vocab import Objective

_PATH_KEYS = ("population", "roads", "facilities", "villages", "places", "out", "data_dir")
#: Path values that name no file and are kept as they are (``roads = "none"``).
_PATH_WORDS = ("download", "none")
#: Siting objectives, coordinate systems, travel modes and candidate rules accepted.
OBJECTIVES: tuple[str, ...] = tuple(o.value for o in Objective)
COORDS: tuple[str, ...] = ("wgs84", "cgcs2000", "gcj02", "bd09")
MODES: tuple[str, ...] = ("drive", "walk")
CANDIDATES: tuple[str, ...] = ("auto", "central", "all")
#: How the eligibility indicators combine, and how joint-service neighbours are measured.
ELIGIBILITY_RULES: tuple[str, ...] = ("any", "all")
JOINT_TRAVEL_MODES: tuple[str, ...] = ("walk", "drive")
#: Encodings named as examples when an encoding is not known.
ENCODING_EXAMPLES: tuple[str, ...] = ("utf-8", "gbk", "gb18030", "utf-16")
_NAME_MAX_BYTES = 255  # one file or folder name (ext4, NTFS, APFS)
_PATH_MAX_BYTES = 4096  # a whole path (Linux PATH_MAX)
_SCHEDULER = re.compile(
    r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?P<host>[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>\d{1,5})/?"
)

#: A reader: ``reader(value, name)`` returns the checked, normalised value or raises
#: :class:`ConfigError` naming ``name`` (a config key such as ``minutes`` or a flag
#: such as ``--minutes``), the value and the fix.
Reader = Callable[[Any, str], Any]


@dataclass(frozen=True)
class RunConfig:
    """Options of one ``coverkit plan`` run (CLI flags and TOML keys share these names).

    Every option is checked and normalised by its reader in :data:`OPTION_READERS`
    when the object is made, so a ``RunConfig`` from Python, a file or flags is
    always valid; a bad value raises :class:`~coverkit.errors.ConfigError`.
    """

    region: str = "comoros"
    county: str | None = None
    population: str | None = None
    roads: str | None = None
    facilities: str | None = None
    villages: str | None = None
    #: Named places (OSM extract or point file) placing NBS villages without a point.
    places: str | None = None
    coords: str = "wgs84"
    subcentres: tuple[int, ...] | None = None
    minutes: float | None = None
    thresholds: tuple[float, ...] | None = None
    objective: str = Objective.PMEDIAN
    candidates: str = "auto"
    standard_only: bool = False
    road_buffer_m: float | None = None
    mode: str = "drive"
    walk_speed_kph: float | None = None
    max_walk_m: float | None = None
    road_speeds_kph: tuple[tuple[str, float], ...] | None = None
    encoding: str | None = None
    out: str | None = None
    data_dir: str | None = None
    #: How the eligibility indicators combine: ``"any"`` or ``"all"``.
    eligibility_rule: str | None = None
    #: Hospitals outside the county (secondary or higher) count as existing cover.
    count_outside_hospitals: bool | None = None
    #: Centres this close to the county seat count as in the seat, metres.
    seat_exclusion_radius_m: float | None = None
    #: ``(indicator, threshold)`` pairs over ``settings.eligibility_thresholds``.
    eligibility_thresholds: tuple[tuple[str, float], ...] | None = None
    #: A further sub-centre must bring at least this share of the people within T.
    second_site_min_gain_share: float | None = None
    #: ``(name, value)`` pairs of :mod:`coverkit.settings` set for this run only.
    settings: tuple[tuple[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        """Check and normalise every option given (the first bad one is reported)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, OPTION_READERS[f.name](value, f.name))

    def updated(self, **changes: Any) -> RunConfig:
        """Return a copy with the non-``None`` ``changes`` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return RunConfig(**values)


# --------------------------------------------------------------------------- readers


def _short(value: Any) -> str:
    """``repr(value)``, cut to 60 characters (its start and end, so a path keeps its file
    name) so an error stays one readable line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:28] + "…" + text[-31:]


def _shown(value: Any) -> str:
    """A value as written in a message: lists as ``[1, 2]``, numbers plain."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return str(value)
    return _short(value)


def _bad(name: str, value: Any, reason: str) -> ConfigError:
    """The refusal ``name=value reason``."""
    return ConfigError(f"{name}={_shown(value)} {reason}")


def _expect(name: str, value: Any, kinds: tuple[type, ...], what: str) -> None:
    """Refuse ``value`` of ``name`` unless it is one of ``kinds`` (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(f"key {name!r} must be {what}, got {_short(value)}")


def _float(value: Any) -> float:
    """A real number as a float; an integer beyond any float (TOML allows them) is inf."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


@dataclass(frozen=True)
class NumberRule:
    """What a numeric option accepts: finite, > 0 (or ≥ 0), at most a setting.

    Attributes
    ----------
    what
        The kind of number, for a value of the wrong type ("a number of minutes").
    rule
        The range in words ("a positive number of minutes").
    example
        A good value, shown in the fix.
    limit
        Name of the ``coverkit.settings`` attribute holding the largest value.
    zero_ok
        Whether 0 is accepted.
    """

    what: str
    rule: str
    example: str
    limit: str
    zero_ok: bool = False

    def read(self, value: Any, name: str) -> float:
        """The value as a float, or :class:`ConfigError` naming ``name`` and the fix."""
        _expect(name, value, (numbers.Real,), self.what)
        number = _float(value)
        top = float(getattr(settings, self.limit))
        low_ok = number >= 0 if self.zero_ok else number > 0
        if not (math.isfinite(number) and low_ok and number <= top):
            raise _bad(name, number, f"must be {self.rule}, at most {top:g}, e.g. {self.example}")
        return number


#: The numeric options and what each accepts.
NUMBER_RULES: dict[str, NumberRule] = {
    "minutes": NumberRule(
        "a number of minutes", "a positive number of minutes", "30", "max_minutes"
    ),
    "walk_speed_kph": NumberRule(
        "a speed in km/h", "a positive speed in km/h", "5", "max_speed_kph"
    ),
    "max_walk_m": NumberRule(
        "a distance in metres", "a distance ≥ 0 metres", "5000", "max_distance_m", zero_ok=True
    ),
    # 0 is allowed: roads inside the county only (no trips that leave and come back).
    "road_buffer_m": NumberRule(
        "a distance in metres", "a distance ≥ 0 metres", "5000", "max_distance_m", zero_ok=True
    ),
    # 0 is allowed: only the seat's own township (and ``in_seat`` centres) is excluded.
    "seat_exclusion_radius_m": NumberRule(
        "a distance in metres", "a distance ≥ 0 metres", "5000", "max_distance_m", zero_ok=True
    ),
}


def _read_thresholds(value: Any, name: str) -> tuple[float, ...]:
    """A non-empty list of minutes, each as ``minutes``."""
    _expect(name, value, (list, tuple), "a list of minutes")
    if not value:
        raise ConfigError(f"{name} is empty; give minutes like [15, 30, 45, 60] or leave it out")
    for v in value:
        _expect(name, v, (numbers.Real,), "a list of minutes")
    minutes = [_float(v) for v in value]
    top = float(settings.max_minutes)
    if not all(math.isfinite(m) and 0 < m <= top for m in minutes):
        raise _bad(
            name, minutes, f"must all be positive minutes, at most {top:g}, e.g. [15, 30, 45, 60]"
        )
    return tuple(minutes)


def _read_subcentres(value: Any, name: str) -> tuple[int, ...]:
    """One whole number or a list of them, each in 1..``settings.max_subcentres``, once each."""
    items = list(value) if isinstance(value, list | tuple) else [value]
    for item in items:
        _expect(name, item, (numbers.Integral,), "a whole number or a list of them")
    top = int(settings.max_subcentres)
    if not items or any(not 1 <= p <= top for p in items):
        raise _bad(name, items, f"must be whole numbers ≥ 1 and at most {top} (e.g. 1 or [1, 2])")
    return tuple(dict.fromkeys(int(p) for p in items))  # 1,1 is 1


def _read_workers(value: Any, name: str) -> int:
    """A number of local workers in 1..``settings.max_workers``."""
    _expect(name, value, (numbers.Integral,), "a whole number of workers")
    top = int(settings.max_workers)
    if not 1 <= value <= top:
        raise _bad(name, value, f"must be a whole number of workers from 1 to {top}, e.g. 4")
    return int(value)


def _read_text(value: Any, name: str) -> str:
    """A non-empty string without control characters (a name or a code)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    _expect(name, value, (str,), "a string")
    if not value.strip():
        raise ConfigError(f"{name} is empty; give a value or leave the option out")
    control = next((ch for ch in value if ord(ch) < 32 or ord(ch) == 127), None)
    if control is not None:
        raise _bad(
            name, value, f"contains the control character U+{ord(control):04X}; retype the value"
        )
    return value


def _read_county(value: Any, name: str) -> str:
    """The county: a name, or a code (an integer is taken as its digits)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = str(value)
    return _read_text(value, name)


def _read_path(value: Any, name: str) -> str:
    """A file or folder path a file system can hold (the file need not exist yet)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    _expect(name, value, (str,), "a string (a path)")
    if not value:
        raise ConfigError(f"{name} is empty; give a file or folder, or leave the option out")
    if "\0" in value:
        raise _bad(name, value, "contains a NUL byte, which no path can hold; retype the path")
    try:
        raw = os.fsencode(value)
    except UnicodeEncodeError:
        raise _bad(name, value, "holds characters no file name can; retype the path") from None
    longest = max(raw.split(b"/"), key=len)
    if len(longest) > _NAME_MAX_BYTES or len(raw) > _PATH_MAX_BYTES:
        raise _bad(
            name,
            value,
            f"is too long for a file system (a name at most {_NAME_MAX_BYTES} bytes, a path "
            f"{_PATH_MAX_BYTES}); use a shorter folder or file name",
        )
    return value


def _choice(options: tuple[str, ...], *, lower: bool = False) -> Reader:
    """A reader accepting one of ``options`` (in any case when ``lower``)."""

    def read(value: Any, name: str) -> str:
        _expect(name, value, (str,), f"one of {', '.join(options)}")
        text = str(value).lower() if lower else str(value)
        if text not in options:
            raise ConfigError(f"{name}={value!r} is not known; use one of {', '.join(options)}")
        return text

    return read


def _read_bool(value: Any, name: str) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ConfigError(f"key {name!r} must be true or false, got {_short(value)}")
    return value


def _read_encoding(value: Any, name: str) -> str:
    """A text encoding Python knows, as its canonical name (``GBK`` → ``gbk``)."""
    _expect(name, value, (str,), "an encoding name such as utf-8")
    try:
        info = codecs.lookup(value)
        "".encode(info.name)  # refuses bytes-to-bytes codecs such as base64
    except (LookupError, ValueError):
        raise _bad(
            name,
            value,
            f"is not a known text encoding; use e.g. {', '.join(ENCODING_EXAMPLES)}",
        ) from None
    return info.name


def _read_scheduler(value: Any, name: str) -> str:
    """A Dask scheduler address ``host:port`` or ``tcp://host:port`` (port 1–65535)."""
    _expect(name, value, (str,), "a scheduler address")
    match = _SCHEDULER.fullmatch(value.strip())
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise _bad(
            name,
            value,
            "is not a scheduler address; write host:port or tcp://host:port with the port "
            "`dask scheduler` prints, e.g. tcp://10.0.0.5:8786",
        )
    return value.strip()


def known_road_classes() -> tuple[str, ...]:
    """The road classes a speed may be given for: the keys of ``settings.road_speeds_kph``.

    Returns
    -------
    tuple of str
        The classes in the order of the settings table (a ``CLASS_link`` road
        is accepted too and takes its ``CLASS`` speed unless given).
    """
    return tuple(settings.road_speeds_kph)


def read_road_speed(cls: Any, kph: Any, *, name: str) -> tuple[str, float]:
    """One road class speed, as the config table and ``--road-speed`` give it.

    Parameters
    ----------
    cls
        OSM ``highway`` class (any case; ``_link`` classes allowed).
    kph
        Speed in km/h: a finite number > 0 and at most ``settings.max_speed_kph``.
    name
        What to call the entry in an error, e.g. ``road_speeds_kph.track``.

    Returns
    -------
    tuple of (str, float)
        The class in lower case and the speed.

    Raises
    ------
    ConfigError
        For an unknown class (listing the known ones) or a bad speed.
    """
    key = str(cls).strip().lower()
    classes = known_road_classes()
    if key not in classes and key.removesuffix("_link") not in classes:
        raise ConfigError(
            f"{name}: road class {str(cls)!r} is not known; use one of {', '.join(classes)} "
            "(or CLASS_link)"
        )
    top = float(settings.max_speed_kph)
    ok = isinstance(kph, numbers.Real) and not isinstance(kph, bool)
    if not (ok and math.isfinite(float(kph)) and 0 < float(kph) <= top):
        raise ConfigError(
            f"{name} must be a positive speed in km/h, got {_short(kph)}; "
            f"give at most {top:g}, e.g. {key}=15"
        )
    return key, float(kph)


def _read_road_speeds(value: Any, name: str) -> tuple[tuple[str, float], ...]:
    """A table (or pairs) of road class = km/h, sorted by class; a later class wins."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list | tuple) and all(
        isinstance(i, list | tuple) and len(i) == 2 for i in value
    ):
        items = [tuple(i) for i in value]
    else:
        raise ConfigError(
            f"{name!r} must be a table of road class = km/h, e.g. [road_speeds_kph] then track = 15"
        )
    speeds = dict(read_road_speed(c, v, name=f"{name}.{c}") for c, v in items)
    return tuple(sorted(speeds.items()))


# --------------------------------------------------------------------------- [settings]


def _read_share(value: Any, name: str) -> float:
    """A share: a number from 0 to 1."""
    _expect(name, value, (numbers.Real,), "a share from 0 to 1")
    number = _float(value)
    if not (math.isfinite(number) and 0 <= number <= 1):
        raise _bad(name, number, "must be a share from 0 to 1, e.g. 0.02")
    return number


def _read_count(low: int, high: int | None = None) -> Reader:
    """A reader of a whole number from ``low`` (to ``high``)."""

    def read(value: Any, name: str) -> int:
        _expect(name, value, (numbers.Integral,), "a whole number")
        if value < low or (high is not None and value > high):
            top = f" to {high}" if high is not None else " or more"
            raise _bad(name, value, f"must be a whole number from {low}{top}, e.g. {max(low, 2)}")
        return int(value)

    return read


def _read_amount(value: Any, name: str) -> float:
    """A finite number ≥ 0 (people, minutes, metres, a ratio)."""
    _expect(name, value, (numbers.Real,), "a number")
    number = _float(value)
    if not (math.isfinite(number) and number >= 0):
        raise _bad(name, number, "must be a finite number ≥ 0")
    return number


def _read_positive(value: Any, name: str) -> float:
    """A finite number > 0 (a speed, a factor)."""
    number = _read_amount(value, name)
    if number <= 0:
        raise _bad(name, number, "must be a number > 0")
    return number


def _read_clock(value: Any, name: str) -> tuple[str, ...]:
    """Two departure times ``["08:00", "14:00"]`` (morning, afternoon) as HH:MM."""
    _expect(name, value, (list, tuple), 'two times like ["08:00", "14:00"]')
    ok = len(value) == 2 and all(
        isinstance(v, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v) for v in value
    )
    if not ok or value[0] >= value[1]:
        raise _bad(
            name, list(value), 'must be two HH:MM times, morning first, e.g. ["08:00", "14:00"]'
        )
    return tuple(value)


def _read_minutes_setting(value: Any, name: str) -> float:
    return NUMBER_RULES["minutes"].read(value, name)


def _read_road_speed_table(value: Any, name: str) -> dict[str, float]:
    return {**settings.road_speeds_kph, **dict(_read_road_speeds(value, name))}


#: Settings with a reader of their own (a choice, a whole number, a range); every other
#: setting is checked by its type (:func:`read_setting`). Names set by other modules'
#: options keep those options' checks. A name here is accepted even before the setting
#: exists in :mod:`coverkit.settings` (it then has no effect).
SETTING_READERS: dict[str, Reader] = {
    "scratch_dir": _read_path,
    "eligibility_rule": _choice(ELIGIBILITY_RULES),
    "count_outside_hospitals": _read_bool,
    "joint_same_township": _read_bool,
    "joint_travel_mode": _choice(JOINT_TRAVEL_MODES),
    "joint_max_villages": _read_count(1),
    "joint_max_population": _read_amount,
    "build_clinic_min_population": _read_amount,
    "stationed_posts_per_village": _read_amount,
    "rotation_visit_min": _read_minutes_setting,
    "rotation_slot_starts": _read_clock,
    "rotation_team_size": _read_count(1),
    "rotation_workdays": _read_count(1, 7),
    "rotation_visits_per_week": _read_count(1, 14),
    "second_site_min_gain_share": _read_share,
    "threshold_min": _read_minutes_setting,
    "thresholds_min": _read_thresholds,
    "p_values": _read_subcentres,
    "walk_speed_kph": NUMBER_RULES["walk_speed_kph"].read,
    "max_walk_m": NUMBER_RULES["max_walk_m"].read,
    "seat_exclusion_radius_m": NUMBER_RULES["seat_exclusion_radius_m"].read,
    "road_speeds_kph": _read_road_speed_table,
}


def settable_names() -> tuple[str, ...]:
    """Names a ``[settings]`` table may set: the plain-valued settings and :data:`SETTING_READERS`.

    Returns
    -------
    tuple of str
        Sorted.
    """
    names = {
        n
        for n, v in vars(settings).items()
        if not n.startswith("_")
        and n in getattr(settings, "__annotations__", {})
        and (v is None or isinstance(v, bool | numbers.Real | str | tuple | dict))
    }
    return tuple(sorted(names | set(SETTING_READERS)))


def _unknown_setting(name: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(name, settable_names(), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return ConfigError(
        f"{where}: unknown setting {name!r}; {hint}the settings are listed in the README "
        "(Policy rules and parameters) and coverkit/settings.py"
    )


def _element(kind: str, value: Any, name: str) -> Any:
    """One element of a tuple setting, by its annotated type."""
    if kind == "int":
        return _read_count(0)(value, name)
    if kind == "str":
        return _read_text(value, name)
    return _read_amount(value, name)


def _read_tuple(value: Any, name: str, annotation: str, current: Any) -> tuple[Any, ...]:
    """A list for a tuple setting: its annotated element types and length."""
    _expect(name, value, (list, tuple), "a list, e.g. [1, 2]")
    inner = [t.strip() for t in annotation.partition("[")[2].rstrip("]").split(",")]
    variable = inner[-1] == "..."
    if (variable and not value) or (not variable and len(value) != len(inner)):
        size = "at least 1" if variable else str(len(inner))
        raise _bad(name, list(value), f"must be a list of {size} values like {_shown(current)}")
    items = tuple(
        _element(inner[0] if variable else t, v, name)
        for t, v in zip([inner[0]] * len(value) if variable else inner, value, strict=True)
    )
    numeric = all(isinstance(v, float | int) for v in items)
    if numeric and len(items) == 2 and list(current) == sorted(current) and items[0] > items[1]:
        raise _bad(name, list(items), "must be (low, high) with low ≤ high")
    return items


def _read_table(value: Any, name: str, current: Mapping[str, Any]) -> dict[str, Any]:
    """A table for a dict setting: known keys only, numbers ≥ 0; merged over the current one."""
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a table of key = number, e.g. [settings.{name}]")
    unknown = sorted(set(value) - set(current))
    if unknown:
        raise ConfigError(
            f"{name}.{unknown[0]} is not known; use one of {', '.join(map(str, current))}"
        )
    checked = {k: _read_amount(v, f"{name}.{k}") for k, v in value.items()}
    for key, number in checked.items():
        if "share" in key and number > 1:
            raise _bad(f"{name}.{key}", number, "must be a share from 0 to 1")
    return {**current, **checked}


def _by_type(name: str, value: Any, annotation: str, current: Any) -> Any:
    """A setting's value checked against its annotation and current value."""
    if annotation == "bool" or isinstance(current, bool):
        return _read_bool(value, name)
    if annotation == "int":
        return _read_count(0)(value, name)
    if annotation.startswith("tuple["):
        return _read_tuple(value, name, annotation, current)
    if annotation.startswith("dict[") and isinstance(current, dict):
        return _read_table(value, name, current)
    if annotation == "str":
        return _read_text(value, name)
    if "float" in annotation:
        number = _read_amount(value, name)
        key = name.rpartition(".")[2].rpartition(" ")[2]  # the setting, without "settings."
        if ("share" in key or "coverage" in key) and number > 1:
            raise _bad(name, number, "must be a share from 0 to 1")
        if (key.endswith("_kph") or key == "circuity_factor") and number <= 0:
            raise _bad(name, number, "must be a number > 0")
        return number
    raise ConfigError(f"setting {name!r} cannot be set from a config file")


def read_setting(name: Any, value: Any, *, where: str = "settings") -> tuple[str, Any]:
    """Check one ``[settings]`` entry (or ``--set NAME=VALUE``) against its setting.

    Parameters
    ----------
    name
        A name in :mod:`coverkit.settings` (see :func:`settable_names`).
    value
        The value as TOML gives it (numbers, booleans, strings, lists, tables).
    where
        What to call the entry in an error (``settings`` or ``--set``).

    Returns
    -------
    tuple of (str, Any)
        The name and the checked value (a list becomes a tuple; a table is merged
        over the setting's current table).

    Raises
    ------
    ConfigError
        One line: an unknown name (with close matches), or a value of the wrong
        type or range (not finite, negative, a share above 1).
    """
    key = str(name)
    label = f"{where} {key}" if where.startswith("-") else f"{where}.{key}"
    if key in SETTING_READERS:
        return key, SETTING_READERS[key](value, label)
    if key not in settable_names():
        raise _unknown_setting(key, where)
    annotation = str(settings.__annotations__.get(key, ""))
    return key, _by_type(label, value, annotation, getattr(settings, key))


def read_settings_table(value: Any, name: str = "settings") -> tuple[tuple[str, Any], ...]:
    """The ``[settings]`` table: every entry by :func:`read_setting`, sorted by name.

    Parameters
    ----------
    value
        A table (dict) or ``(name, value)`` pairs.
    name
        What to call the table in an error.

    Returns
    -------
    tuple of (str, Any) pairs
        Checked values (lists as tuples, tables as dicts), sorted by name.

    Raises
    ------
    ConfigError
        For a value that is not a table, or the first bad entry.
    """
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list | tuple) and all(
        isinstance(i, list | tuple) and len(i) == 2 for i in value
    ):
        items = [tuple(i) for i in value]
    else:
        raise ConfigError(f"{name!r} must be a table of setting = value, e.g. [settings]")
    return tuple(sorted(dict(read_setting(k, v, where=name) for k, v in items).items()))


def _read_eligibility_thresholds(value: Any, name: str) -> tuple[tuple[str, float], ...]:
    """``[eligibility_thresholds]``: indicator = threshold, over the settings' table."""
    if isinstance(value, list | tuple):
        value = dict(value)
    table = _read_table(value, name, settings.eligibility_thresholds)
    return tuple(sorted((k, v) for k, v in table.items() if k in value))


def parse_setting(text: str, flag: str = "--set") -> tuple[str, Any]:
    """Read ``NAME=VALUE`` of ``--set``: the value as TOML (``4``, ``true``, ``[1, 2]``) or text.

    Parameters
    ----------
    text
        The flag's value, e.g. ``joint_max_villages=4`` or ``joint_travel_mode=drive``.
    flag
        The flag named in an error.

    Returns
    -------
    tuple of (str, Any)
        As :func:`read_setting`.

    Raises
    ------
    ConfigError
        For text that is not ``NAME=VALUE``, an unknown name or a bad value.
    """
    name, sep, raw = text.partition("=")
    if not sep or not name.strip() or not raw.strip():
        raise ConfigError(
            f"{flag} {_short(text)} is not NAME=VALUE; e.g. {flag} joint_max_villages=4"
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()  # a bare word: drive, all
    return read_setting(name.strip(), value, where=flag)


@contextlib.contextmanager
def overridden_settings(values: Mapping[str, Any]) -> Iterator[None]:
    """Set :mod:`coverkit.settings` values for the block and restore the old ones after.

    Parameters
    ----------
    values
        Checked values (:func:`read_setting`). A name not (yet) in the settings is
        added for the block and removed after.

    Notes
    -----
    Settings are module globals shared by every thread of the process: do not run
    plans with different settings in threads at the same time.
    """
    missing = object()
    saved = {name: getattr(settings, name, missing) for name in values}
    try:
        for name, value in values.items():
            setattr(settings, name, value)
        yield
    finally:
        for name, old in saved.items():
            if old is missing:
                with contextlib.suppress(AttributeError):
                    delattr(settings, name)
            else:
                setattr(settings, name, old)


#: Options of :class:`RunConfig` that are plan parameters and settings of the same name:
#: given to :class:`~coverkit.plan.PlanParameters` where it has the field, else set as
#: the setting for the run.
PARAMETER_SETTINGS: tuple[str, ...] = (
    "eligibility_rule",
    "count_outside_hospitals",
    "seat_exclusion_radius_m",
    "eligibility_thresholds",
    "second_site_min_gain_share",
)


#: The one table of option readers: every :class:`RunConfig` field, plus the batch
#: options ``workers`` and ``scheduler`` and the file options ``config`` and ``plan``.
#: The config file, the CLI flags (:func:`parse_flag`) and :class:`RunConfig` use it.
OPTION_READERS: dict[str, Reader] = {
    "region": _read_text,
    "county": _read_county,
    "coords": _choice(COORDS, lower=True),
    "objective": _choice(OBJECTIVES),
    "candidates": _choice(CANDIDATES),
    "mode": _choice(MODES),
    **dict.fromkeys((*_PATH_KEYS, "config", "plan"), _read_path),
    "subcentres": _read_subcentres,
    "standard_only": _read_bool,
    "count_outside_hospitals": _read_bool,
    "eligibility_rule": _choice(ELIGIBILITY_RULES),
    "eligibility_thresholds": _read_eligibility_thresholds,
    "second_site_min_gain_share": _read_share,
    "settings": read_settings_table,
    **{key: rule.read for key, rule in NUMBER_RULES.items()},
    "road_speeds_kph": _read_road_speeds,
    "thresholds": _read_thresholds,
    "encoding": _read_encoding,
    "workers": _read_workers,
    "scheduler": _read_scheduler,
}


# --------------------------------------------------------------------------- flags


def _number_text(text: str, flag: str, what: str, example: str, kind: type) -> Any:
    """``text`` as a ``kind`` (float or int), or :class:`ConfigError` saying what to write."""
    try:
        return kind(text.strip())
    except (ValueError, OverflowError):
        raise ConfigError(f"{flag} {_short(text)} is not {what}; e.g. {flag} {example}") from None


def _split(text: str) -> list[str]:
    """The items of a comma list (spaces and empty items dropped)."""
    return [v for v in text.replace(" ", "").split(",") if v]


def parse_flag(key: str, text: str, flag: str) -> Any:
    """Read a CLI flag's text with the reader of ``key`` (as a config file would).

    Parameters
    ----------
    key
        The option (a key of :data:`OPTION_READERS`).
    text
        The flag's value as typed.
    flag
        The flag, e.g. ``--minutes``, named in an error.

    Returns
    -------
    Any
        The checked value, as :class:`RunConfig` holds it.

    Raises
    ------
    ConfigError
        One line naming the flag, the value and the fix.
    """
    if key in NUMBER_RULES:
        rule = NUMBER_RULES[key]
        value: Any = _number_text(text, flag, rule.what, rule.example, float)
    elif key == "thresholds":
        value = [_number_text(v, flag, "a list of minutes", "15,30", float) for v in _split(text)]
    elif key == "subcentres":
        what = "a whole number or a comma list like 1,2"
        value = [_number_text(v, flag, what, "1,2", int) for v in _split(text)]
    elif key == "workers":
        value = _number_text(text, flag, "a whole number of workers", "4", int)
    else:
        value = text
    return OPTION_READERS[key](value, flag)


def parse_road_speed(text: str, flag: str = "--road-speed") -> tuple[str, float]:
    """Read ``CLASS=KPH`` with :func:`read_road_speed` (the config table's check).

    Parameters
    ----------
    text
        The flag's value, e.g. ``track=15``.
    flag
        The flag named in an error.

    Returns
    -------
    tuple of (str, float)
        The class in lower case and the speed in km/h.

    Raises
    ------
    ConfigError
        For text that is not ``CLASS=KPH``, an unknown class or a bad speed.
    """
    cls, sep, kph = text.partition("=")
    if not sep or not cls.strip() or not kph.strip():
        raise ConfigError(f"{flag} {_short(text)} is not CLASS=KPH; write e.g. {flag} track=15")
    name = f"{flag} {text.strip()}"
    try:
        speed = float(kph.strip())
    except ValueError:
        raise ConfigError(
            f"{name}: {kph.strip()!r} is not a number of km/h; write e.g. {flag} {cls.strip()}=15"
        ) from None
    return read_road_speed(cls, speed, name=name)


# --------------------------------------------------------------------------- TOML file


def _config_file(path: str | os.PathLike[str]) -> Path:
    """The config file, checked: a path, an existing regular file, not too large."""
    p = Path(_read_path(path, "config"))
    try:
        st = p.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputFileError(
            f"config file {p} does not exist; check the path given to --config"
        ) from None
    except OSError as exc:
        raise InputFileError(f"cannot read config file {p} ({exc.strerror}); check it") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputFileError(f"config file {p} is a folder; give the .toml file inside it")
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(f"config file {p} is not a regular file; give a .toml file")
    _check_size(p, st.st_size)
    return p


def _check_size(p: Path, size: int) -> None:
    """Refuse a config file larger than ``settings.max_config_bytes``."""
    top = int(settings.max_config_bytes)
    if size > top:
        raise InputFileError(
            f"config file {p} is {size:,} bytes, more than the {top:,} a run configuration "
            "can need; check that --config names the right file"
        )


def _decode(p: Path, data: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM) or UTF-16 with a BOM (Notepad)."""
    encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{p} is not valid TOML: not {encoding} text (a bad byte at offset {exc.start}); "
            "save it as UTF-8"
        ) from None


def _parse_toml(p: Path) -> dict[str, Any]:
    """The TOML table of the config file, or one-line :class:`InputFileError`."""
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read config file {p} ({exc.strerror}); check it") from None
    _check_size(p, len(data))
    try:
        return tomllib.loads(_decode(p, data))
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{p} is not valid TOML ({exc}); fix the line it names") from None
    except RecursionError:
        raise InputFileError(f"{p} is not valid TOML (nested too deeply); fix it") from None


def _read_key(key: str, value: Any, path: Path) -> Any:
    """One TOML value by its reader; a relative path is resolved against the file's folder."""
    value = OPTION_READERS[key](value, key)
    if key in _PATH_KEYS and value not in _PATH_WORDS and not Path(value).is_absolute():
        try:
            value = str((path.parent / value).resolve())
        except (OSError, RuntimeError):  # a symlink loop: keep it absolute, the reader says
            value = str((path.parent / value).absolute())
    return value


def read_config(path: str | Path) -> RunConfig:
    """Read a TOML run configuration.

    Parameters
    ----------
    path
        The ``.toml`` file (UTF-8, or UTF-16 with a BOM; at most
        ``settings.max_config_bytes``). Relative file paths inside it are
        resolved against its folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    InputFileError
        If the file is missing, a folder, too large, unreadable or not valid TOML.
    ConfigError
        For a bad path, an unknown key or a value of the wrong type or range
        (the message starts with the file and names the key).
    """
    p = _config_file(path)
    raw = _parse_toml(p)
    known = {f.name for f in fields(RunConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{p}: unknown key {unknown[0]!r}; known keys are {', '.join(sorted(known))}"
        )
    try:
        return RunConfig(**{key: _read_key(key, value, p) for key, value in raw.items()})
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
