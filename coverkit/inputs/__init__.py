"""Input loaders: everything one county's plan needs, as :class:`CountyInputs`.

:func:`load_county` is the one entry point. It reads the region's config, a
TOML region (:mod:`coverkit.inputs.region`, e.g. the embedded Comoros) or a
region registered without a file in :data:`REGIONS` (``china``: any Chinese
county from public data, :mod:`coverkit.inputs.china`), and hands the county to
the loader the config's ``[region] loader`` names in :data:`LOADERS` (default
``toml``). A region whose config names ``chinese_counties`` hands a county it
does not have, but whose name looks Chinese (CJK characters or a 6-digit code),
to that region: ``load_county(county="鹿寨县")`` plans a Chinese county from the
default region. Both loaders share the handling of the user's own facility and
village tables (:mod:`coverkit.inputs.tables`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Protocol

from coverkit.errors import ConfigError
from coverkit.inputs import china
from coverkit.inputs.china import (
    china_boundary,
    china_table,
    find_county,
    load_china_county,
)
from coverkit.inputs.model import (
    FACILITY_COLUMNS,
    MAPPING_COLUMNS,
    VILLAGE_COLUMNS,
    CountyInputs,
    default_data_dir,
)
from coverkit.inputs.region import (
    REGIONS_DIR,
    TIERS,
    classify_facilities,
    load_region_county,
    pick_county,
    read_region_config,
)
from coverkit.inputs.tables import TIER_ALIASES
from coverkit.io import check_buffer_m

logger = logging.getLogger(__name__)


class Loader(Protocol):
    """A county loader: the region's config, the name it was given by, the county, options."""

    def __call__(
        self, cfg: dict, region: str | Path, county: str | None, options: dict[str, Any]
    ) -> CountyInputs:
        """Load the county."""


def _load_toml(
    cfg: dict, region: str | Path, county: str | None, options: dict[str, Any]
) -> CountyInputs:
    """A county of a TOML region (:func:`coverkit.inputs.region.load_region_county`).

    ``places`` is for Chinese counties (their NBS villages without a point); a TOML
    region takes its villages from its own OSM places already, so it is ignored
    with a note.
    """
    options = dict(options)
    places = options.pop("places", None)
    inputs = load_region_county(cfg, region=region, county=county, **options)
    if places is not None:
        note = (
            f"places ignored: {places} places the NBS villages of Chinese counties; "
            f"{inputs.county_name} takes its villages from the region's own data"
        )
        logger.warning(note)
        inputs.notes.append(note)
    return inputs


def _load_china(
    cfg: dict, region: str | Path, county: str | None, options: dict[str, Any]
) -> CountyInputs:
    """Any Chinese county (:func:`coverkit.inputs.china.load_china_county`)."""
    return load_china_county(county, **options)


#: County loaders by the name a region config gives in ``[region] loader``.
LOADERS: dict[str, Loader] = {"toml": _load_toml, "china": _load_china}

#: Regions without a TOML file, by name: their config.
REGIONS: dict[str, dict] = {china.REGION_NAME: china.REGION_CONFIG}

_CHINESE_COUNTY = re.compile(r"[\u4e00-\u9fff]|^\s*\d{6}\s*$")


def region_config(region: str | Path) -> dict[str, Any]:
    """The config of a region: a registered one (:data:`REGIONS`), else a TOML region.

    Parameters
    ----------
    region
        A name of :data:`REGIONS`, an embedded region name (``'comoros'``) or
        the path of a region TOML.

    Returns
    -------
    dict
        The config; ``config["region"]["loader"]`` (default ``toml``) names its
        loader in :data:`LOADERS`.

    Raises
    ------
    ConfigError
        Unknown region or a bad TOML config (see :func:`read_region_config`).
    """
    registered = REGIONS.get(str(region))
    return registered if registered is not None else read_region_config(region)


def _is_chinese_query(cfg: dict, county: str) -> bool:
    """True when ``county`` is not in the region but looks Chinese (CJK name or 6-digit code)."""
    try:
        pick_county(cfg, county)
    except ConfigError:
        return bool(_CHINESE_COUNTY.search(str(county)))
    return False


def _loader(cfg: dict, region: str | Path) -> Loader:
    """The loader the config names."""
    name = cfg["region"].get("loader", "toml")
    if name not in LOADERS:
        raise ConfigError(
            f"{cfg.get('_path', region)}: [region] loader {name!r} is unknown; use one of "
            f"{', '.join(LOADERS)}"
        )
    return LOADERS[name]


def load_county(
    region: str | Path = "comoros",
    *,
    county: str | None = None,
    population: str | Path | None = None,
    roads: str | Path | None = None,
    facilities: str | Path | None = None,
    villages: str | Path | None = None,
    coords: str = "wgs84",
    data_dir: str | Path | None = None,
    road_buffer_m: float | None = None,
    encoding: str | None = None,
    places: str | Path | None = None,
) -> CountyInputs:
    """Load every input of one county of a region.

    Parameters
    ----------
    region
        Embedded region name (``'comoros'``), ``'china'`` (any Chinese county)
        or path of a region TOML.
    county
        County name, alias or code; default: the region's ``default_county``.
        A Chinese name or 6-digit code that is not in the region loads that
        Chinese county when the region's config names ``chinese_counties``
        (the embedded Comoros does).
    population, roads, facilities, villages
        Paths overriding the region's data (population GeoTIFF; roads as
        accepted by :func:`coverkit.io.read_roads`; facilities/villages as an
        OSM extract, mapped by the region's rules, or as tables/point layers
        for :func:`coverkit.io.read_points`).
    coords
        Coordinate system of facility/village tables (``wgs84``, ``gcj02``,
        ``bd09``).
    data_dir
        Data directory; default ``$COVERKIT_DATA`` or the repository's ``data/``.
    road_buffer_m
        Roads kept beyond the county border, metres (people may cross it to a
        nearer facility's road); default the region config's ``road_buffer_m``.
        A finite number ≥ 0.
    encoding
        Text encoding of CSV facility/village tables (e.g. ``'gbk'``); default:
        recognised from a byte-order mark (UTF-8, UTF-16 as Excel's "Unicode
        text" writes it), else UTF-8 then GB18030.
    places
        Chinese counties: named places for the NBS villages without a point
        (an OSM extract or a point file, :func:`coverkit.inputs.places.read_places`);
        default: the ``roads`` extract when it is an OSM file; ``'none'``: no
        matching. A TOML region ignores it (with a note).

    Returns
    -------
    CountyInputs
        Boundary, townships, seat, population grid, roads, facilities,
        villages, the facility mapping table and user notes.

    Raises
    ------
    ConfigError
        Unknown region or county, a bad config, or ``road_buffer_m`` not a
        finite number ≥ 0.
    InputFileError, EmptyInputError, CRSError
        From the loaders, naming the file and the fix.
    """
    if road_buffer_m is not None:
        road_buffer_m = check_buffer_m(road_buffer_m)
    cfg = region_config(region)
    chinese = cfg["region"].get("chinese_counties")
    if chinese and county and _is_chinese_query(cfg, county):
        cfg = region_config(chinese)
    options = {
        "population": population,
        "roads": roads,
        "facilities": facilities,
        "villages": villages,
        "coords": coords,
        "data_dir": data_dir,
        "road_buffer_m": road_buffer_m,
        "encoding": encoding,
        "places": places,
    }
    return _loader(cfg, region)(cfg, region, county, options)


__all__ = [
    "FACILITY_COLUMNS",
    "LOADERS",
    "MAPPING_COLUMNS",
    "REGIONS",
    "REGIONS_DIR",
    "TIERS",
    "TIER_ALIASES",
    "VILLAGE_COLUMNS",
    "CountyInputs",
    "Loader",
    "china_boundary",
    "china_table",
    "classify_facilities",
    "default_data_dir",
    "find_county",
    "load_china_county",
    "load_county",
    "load_region_county",
    "pick_county",
    "read_region_config",
    "region_config",
]
