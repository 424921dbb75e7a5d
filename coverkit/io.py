"""Read and save coverkit's inputs: boundaries, population rasters, roads, points.

(Loaders are added below the shared data containers.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PopulationGrid:
    """A population raster clipped to a county.

    Attributes
    ----------
    values
        float64 array (rows, cols) of people per cell; 0 where nodata or
        outside the county (never NaN).
    mask
        bool array, True for cells whose centre lies inside the county.
    transform
        Affine transform of the grid (rasterio convention).
    crs
        CRS of the grid (usually EPSG:4326 for WorldPop).
    total
        ``values.sum()``: the population of the county as the raster gives it.
    source
        Path of the file it was read from (for messages and reports).
    """

    values: np.ndarray
    mask: np.ndarray
    transform: Affine
    crs: CRS
    total: float
    source: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the grid."""
        return self.values.shape  # type: ignore[return-value]

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows, cols and x, y (grid CRS) of the populated cells inside the county.

        Returns
        -------
        tuple of ndarray
            ``rows, cols, x, y`` for cells with ``mask & (values > 0)``, in
            row-major order.
        """
        rows, cols = np.nonzero(self.mask & (self.values > 0))
        x, y = self.transform * (cols + 0.5, rows + 0.5)
        return rows, cols, np.asarray(x), np.asarray(y)
