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
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from coverkit.errors import ConfigError, InputFileError

_PATH_KEYS = ("population", "roads", "facilities", "villages", "out", "data_dir")
_OBJECTIVES = ("pmedian", "mclp", "pcenter")
_COORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_MODES = ("drive", "walk")


def _positive(value: Any) -> bool:
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
    objective: str = "pmedian"
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
        if self.mode not in _MODES:
            raise ConfigError(f"mode={self.mode!r} is not known; use one of {', '.join(_MODES)}")
        if self.walk_speed_kph is not None and not _positive(self.walk_speed_kph):
            raise ConfigError(
                f"walk_speed_kph={self.walk_speed_kph} must be a positive speed in km/h, e.g. 5"
            )
        if self.max_walk_m is not None and not (_positive(self.max_walk_m) or self.max_walk_m == 0):
            raise ConfigError(f"max_walk_m={self.max_walk_m} must be a distance ≥ 0 metres")
        for cls, kph in self.road_speeds_kph or ():
            if not _positive(kph):
                raise ConfigError(
                    f"road_speeds_kph.{cls} must be a positive speed in km/h, got {kph!r}"
                )
        if self.road_speeds_kph:
            speeds = tuple(sorted((str(c), float(v)) for c, v in self.road_speeds_kph))
            object.__setattr__(self, "road_speeds_kph", speeds)
        if self.objective not in _OBJECTIVES:
            raise ConfigError(
                f"objective={self.objective!r} is not known; use one of {', '.join(_OBJECTIVES)}"
            )
        if self.candidates not in ("auto", "central", "all"):
            raise ConfigError(
                f"candidates={self.candidates!r} is not known; use one of auto, central, all"
            )
        if self.coords.lower() not in _COORDS:
            raise ConfigError(
                f"coords={self.coords!r} is not known; use one of {', '.join(_COORDS)}"
            )
        if self.subcentres is not None and (
            not self.subcentres or any(int(p) < 1 for p in self.subcentres)
        ):
            raise ConfigError(
                f"subcentres={list(self.subcentres)} must be whole numbers ≥ 1 (e.g. 1 or [1, 2])"
            )
        if self.minutes is not None and not self.minutes > 0:
            raise ConfigError(
                f"minutes={self.minutes} must be a positive number of minutes, e.g. 30"
            )
        if self.thresholds is not None and any(not t > 0 for t in self.thresholds):
            raise ConfigError(f"thresholds={list(self.thresholds)} must all be positive minutes")

    def updated(self, **changes: Any) -> RunConfig:
        """Return a copy with the non-``None`` ``changes`` applied."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({k: v for k, v in changes.items() if v is not None})
        return RunConfig(**values)


def _expect(key: str, value: Any, kinds: tuple[type, ...], what: str, path: Path) -> None:
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(f"{path}: key {key!r} must be {what}, got {value!r}")


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
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("region", "county", "coords", "objective", "candidates") or key in _PATH_KEYS:
            if key == "county" and isinstance(value, int):
                value = str(value)
            _expect(key, value, (str,), "a string", path)
            if key in _PATH_KEYS and value != "download" and not Path(value).is_absolute():
                value = str((path.parent / value).resolve())
        elif key == "subcentres":
            items = value if isinstance(value, list) else [value]
            for item in items:
                _expect(key, item, (int,), "a whole number or a list of them", path)
            value = tuple(items)
        elif key == "standard_only":
            if not isinstance(value, bool):
                raise ConfigError(
                    f"{path}: key 'standard_only' must be true or false, got {value!r}"
                )
        elif key == "road_buffer_m":
            _expect(key, value, (int, float), "a distance in metres", path)
            value = float(value)
            if value < 0:
                raise ConfigError(f"{path}: key 'road_buffer_m' must be ≥ 0 metres, got {value}")
        elif key == "mode":
            _expect(key, value, (str,), "a string (drive or walk)", path)
        elif key in ("walk_speed_kph", "max_walk_m"):
            _expect(key, value, (int, float), "a number", path)
            value = float(value)
        elif key == "road_speeds_kph":
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{path}: 'road_speeds_kph' must be a table of road class = km/h, "
                    "e.g. [road_speeds_kph] then track = 15"
                )
            value = tuple(value.items())  # checked and sorted by RunConfig
        elif key == "minutes":
            _expect(key, value, (int, float), "a number of minutes", path)
            value = float(value)
        elif key == "thresholds":
            _expect(key, value, (list,), "a list of minutes", path)
            for item in value:
                _expect(key, item, (int, float), "a list of minutes", path)
            value = tuple(float(v) for v in value)
        values[key] = value
    try:
        return RunConfig(**values)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
