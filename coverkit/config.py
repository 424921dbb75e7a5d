"""Run configuration from a TOML file, with the same names as the CLI options.

Example ``plan.toml``::

    region = "comoros"          # embedded region (or omit and give files)
    county = "Ngazidja"         # name or code
    population = "pop.tif"      # files; relative paths are relative to the TOML file
    roads = "roads.osm.pbf"
    facilities = "facilities.csv"
    villages = "villages.csv"
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
    out = "results"

    [road_speeds_kph]           # overrides of coverkit.settings.road_speeds_kph, by OSM class
    track = 15
    unclassified = 30

Unknown keys and values of the wrong type are refused with a :class:`ConfigError`
naming the key.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from coverkit.errors import ConfigError, InputFileError
from coverkit.vocab import Objective

_PATH_KEYS = ("population", "roads", "facilities", "villages", "out", "data_dir")
_OBJECTIVES = tuple(o.value for o in Objective)
_COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_MODES = ("drive", "walk")
_CANDIDATES = ("auto", "central", "all")


def _positive(value: Any) -> bool:
    """True for a finite number > 0 (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


@dataclass(frozen=True)
class RunConfig:
    """Options of one ``coverkit plan`` run (CLI flags and TOML keys share these names)."""

    region: str = "comoros"
    county: str | None = None
    population: str | None = None
    roads: str | None = None
    facilities: str | None = None
    villages: str | None = None
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
    out: str | None = None
    data_dir: str | None = None

    def __post_init__(self) -> None:
        """Check every option (:data:`_RUN_CHECKS`, in order); sort the road speeds by class."""
        for check in _RUN_CHECKS:
            check(self)
        if self.road_speeds_kph:
            speeds = tuple(sorted((str(c), float(v)) for c, v in self.road_speeds_kph))
            object.__setattr__(self, "road_speeds_kph", speeds)

    def updated(self, **changes: Any) -> RunConfig:
        """Return a copy with the non-``None`` ``changes`` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return RunConfig(**values)


# --------------------------------------------------------------------------- option checks


def _check_mode(c: RunConfig) -> None:
    """``mode`` is one of :data:`_MODES`."""
    if c.mode not in _MODES:
        raise ConfigError(f"mode={c.mode!r} is not known; use one of {', '.join(_MODES)}")


def _check_walk_speed(c: RunConfig) -> None:
    """``walk_speed_kph``, when given, is a positive speed."""
    if c.walk_speed_kph is not None and not _positive(c.walk_speed_kph):
        raise ConfigError(
            f"walk_speed_kph={c.walk_speed_kph} must be a positive speed in km/h, e.g. 5"
        )


def _check_max_walk(c: RunConfig) -> None:
    """``max_walk_m``, when given, is a distance ≥ 0."""
    if c.max_walk_m is not None and not (_positive(c.max_walk_m) or c.max_walk_m == 0):
        raise ConfigError(f"max_walk_m={c.max_walk_m} must be a distance ≥ 0 metres")


def _check_road_speeds(c: RunConfig) -> None:
    """Every ``road_speeds_kph`` value is a positive speed."""
    for cls, kph in c.road_speeds_kph or ():
        if not _positive(kph):
            raise ConfigError(
                f"road_speeds_kph.{cls} must be a positive speed in km/h, got {kph!r}"
            )


def _check_objective(c: RunConfig) -> None:
    """``objective`` is a siting objective (:class:`coverkit.vocab.Objective`)."""
    if c.objective not in _OBJECTIVES:
        raise ConfigError(
            f"objective={c.objective!r} is not known; use one of {', '.join(_OBJECTIVES)}"
        )


def _check_candidates(c: RunConfig) -> None:
    """``candidates`` is one of :data:`_CANDIDATES`."""
    if c.candidates not in _CANDIDATES:
        raise ConfigError(
            f"candidates={c.candidates!r} is not known; use one of {', '.join(_CANDIDATES)}"
        )


def _check_coords(c: RunConfig) -> None:
    """``coords`` (any case) is one of :data:`_COORDS`."""
    if c.coords.lower() not in _COORDS:
        raise ConfigError(f"coords={c.coords!r} is not known; use one of {', '.join(_COORDS)}")


def _check_subcentres(c: RunConfig) -> None:
    """``subcentres``, when given, is a non-empty list of whole numbers ≥ 1."""
    if c.subcentres is not None and (not c.subcentres or any(int(p) < 1 for p in c.subcentres)):
        raise ConfigError(
            f"subcentres={list(c.subcentres)} must be whole numbers ≥ 1 (e.g. 1 or [1, 2])"
        )


def _check_minutes(c: RunConfig) -> None:
    """``minutes``, when given, is positive."""
    if c.minutes is not None and not c.minutes > 0:
        raise ConfigError(f"minutes={c.minutes} must be a positive number of minutes, e.g. 30")


def _check_thresholds(c: RunConfig) -> None:
    """``thresholds``, when given, are all positive."""
    if c.thresholds is not None and any(not t > 0 for t in c.thresholds):
        raise ConfigError(f"thresholds={list(c.thresholds)} must all be positive minutes")


#: The checks of a :class:`RunConfig`, in the order they run (the first failure is reported).
_RUN_CHECKS: tuple[Callable[[RunConfig], None], ...] = (
    _check_mode,
    _check_walk_speed,
    _check_max_walk,
    _check_road_speeds,
    _check_objective,
    _check_candidates,
    _check_coords,
    _check_subcentres,
    _check_minutes,
    _check_thresholds,
)


# --------------------------------------------------------------------------- TOML values


def _expect(key: str, value: Any, kinds: tuple[type, ...], what: str, path: Path) -> None:
    """Refuse ``value`` of ``key`` unless it is one of ``kinds`` (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(f"{path}: key {key!r} must be {what}, got {value!r}")


def _read_string(key: str, value: Any, path: Path) -> str:
    """A string option."""
    _expect(key, value, (str,), "a string", path)
    return value


def _read_county(key: str, value: Any, path: Path) -> str:
    """The county: a name, or a code (a TOML integer is taken as its digits)."""
    if isinstance(value, int):
        value = str(value)
    return _read_string(key, value, path)


def _read_path(key: str, value: Any, path: Path) -> str:
    """A file or folder; a relative one is resolved against the TOML file's folder."""
    _expect(key, value, (str,), "a string", path)
    if value != "download" and not Path(value).is_absolute():
        value = str((path.parent / value).resolve())
    return value


def _read_subcentres(key: str, value: Any, path: Path) -> tuple[int, ...]:
    """One whole number or a list of them."""
    items = value if isinstance(value, list) else [value]
    for item in items:
        _expect(key, item, (int,), "a whole number or a list of them", path)
    return tuple(items)


def _read_standard_only(key: str, value: Any, path: Path) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: key 'standard_only' must be true or false, got {value!r}")
    return value


def _read_road_buffer(key: str, value: Any, path: Path) -> float:
    """A distance ≥ 0 metres."""
    _expect(key, value, (int, float), "a distance in metres", path)
    value = float(value)
    if value < 0:
        raise ConfigError(f"{path}: key 'road_buffer_m' must be ≥ 0 metres, got {value}")
    return value


def _read_mode(key: str, value: Any, path: Path) -> str:
    """The travel mode, a string (its value is checked by :class:`RunConfig`)."""
    _expect(key, value, (str,), "a string (drive or walk)", path)
    return value


def _read_number(key: str, value: Any, path: Path) -> float:
    """A number (its range is checked by :class:`RunConfig`)."""
    _expect(key, value, (int, float), "a number", path)
    return float(value)


def _read_road_speeds(key: str, value: Any, path: Path) -> tuple[tuple[str, float], ...]:
    """A table of road class = km/h (checked and sorted by :class:`RunConfig`)."""
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: 'road_speeds_kph' must be a table of road class = km/h, "
            "e.g. [road_speeds_kph] then track = 15"
        )
    return tuple(value.items())


def _read_minutes(key: str, value: Any, path: Path) -> float:
    """A number of minutes."""
    _expect(key, value, (int, float), "a number of minutes", path)
    return float(value)


def _read_thresholds(key: str, value: Any, path: Path) -> tuple[float, ...]:
    """A list of minutes."""
    _expect(key, value, (list,), "a list of minutes", path)
    for item in value:
        _expect(key, item, (int, float), "a list of minutes", path)
    return tuple(float(v) for v in value)


#: How each TOML key is read: ``reader(key, value, toml_path)`` returns the option value.
_READERS: dict[str, Callable[[str, Any, Path], Any]] = {
    "region": _read_string,
    "county": _read_county,
    "coords": _read_string,
    "objective": _read_string,
    "candidates": _read_string,
    **dict.fromkeys(_PATH_KEYS, _read_path),
    "subcentres": _read_subcentres,
    "standard_only": _read_standard_only,
    "road_buffer_m": _read_road_buffer,
    "mode": _read_mode,
    "walk_speed_kph": _read_number,
    "max_walk_m": _read_number,
    "road_speeds_kph": _read_road_speeds,
    "minutes": _read_minutes,
    "thresholds": _read_thresholds,
}


def read_config(path: str | Path) -> RunConfig:
    """Read a TOML run configuration.

    Parameters
    ----------
    path
        The ``.toml`` file. Relative file paths inside it are resolved against
        its folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    InputFileError
        If the file is missing or is not valid TOML.
    ConfigError
        For an unknown key or a value of the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"config file {path} does not exist; check the path given to --config")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path} is not valid TOML ({exc}); fix the line it names") from exc
    known = {f.name for f in fields(RunConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; known keys are {', '.join(sorted(known))}"
        )
    values = {key: _READERS[key](key, value, path) for key, value in raw.items()}
    try:
        return RunConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
