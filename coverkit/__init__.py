"""coverkit: health-facility coverage planning for rural Chinese counties.

The flow is one way: load (:mod:`coverkit.io`) → travel time
(:mod:`coverkit.network`, :mod:`coverkit.surface`) → sub-centre siting
(:mod:`coverkit.siting`) → village service (:mod:`coverkit.villages`) → the
county plan (:mod:`coverkit.plan`) → map and report (:mod:`coverkit.maps`,
:mod:`coverkit.report`) → one call for the whole job (:mod:`coverkit.api`) →
province runs and the command line (:mod:`coverkit.batch`, :mod:`coverkit.cli`).
A module never imports one downstream of it.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from coverkit.errors import CoverkitError

try:
    __version__ = version("coverkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["CoverkitError", "__version__"]
