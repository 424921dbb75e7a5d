"""Former home of the region loader, kept so old scripts keep working.

The loaders moved to :mod:`coverkit.inputs` (:func:`load_county`, the one
dispatch, and :class:`CountyInputs`), :mod:`coverkit.inputs.region` (TOML
regions such as the embedded Comoros) and :mod:`coverkit.inputs.tables` (the
user's facility and village tables). This module only re-exports their public
names, so old scripts and the README's ``from coverkit.region import
load_county`` keep working; new code imports from :mod:`coverkit.inputs`.
"""

from __future__ import annotations

from coverkit.inputs import (
    FACILITY_COLUMNS,
    REGIONS_DIR,
    TIER_ALIASES,
    TIERS,
    CountyInputs,
    classify_facilities,
    default_data_dir,
    load_county,
    pick_county,
    read_region_config,
)

__all__ = [
    "FACILITY_COLUMNS",
    "REGIONS_DIR",
    "TIERS",
    "TIER_ALIASES",
    "CountyInputs",
    "classify_facilities",
    "default_data_dir",
    "load_county",
    "pick_county",
    "read_region_config",
]
