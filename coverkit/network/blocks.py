"""Row blocks over a small thread pool, for the per-cell array work of large counties.

numpy, cKDTree, shapely and pyproj release the GIL for their array work, so
two threads over disjoint row blocks use both cores of a laptop. Every block
writes its own rows (or returns its own piece, concatenated in order), so a
result never depends on the thread count or the block size.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from coverkit import settings

T = TypeVar("T")


def block_threads() -> int:
    """Threads for row blocks: :data:`coverkit.settings.array_threads`, at most the CPUs, >= 1."""
    return max(1, min(int(settings.array_threads), os.cpu_count() or 1))


def for_blocks(fn: Callable[[int, int], T], n: int, block: int) -> list[T]:
    """``fn(start, stop)`` over the row blocks of ``range(n)``, in order, on :func:`block_threads`.

    Parameters
    ----------
    fn
        Work on rows ``start:stop``; blocks run concurrently, so it must only
        write rows of its own block.
    n
        Rows in all.
    block
        Rows per block (>= 1).

    Returns
    -------
    list
        ``fn``'s results, block by block in row order.
    """
    block = max(1, int(block))
    bounds = [(s, min(s + block, n)) for s in range(0, n, block)]
    threads = min(block_threads(), len(bounds))
    if threads <= 1:
        return [fn(s, e) for s, e in bounds]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda b: fn(*b), bounds))


def transform_xy(
    src_crs: Any, dst_crs: Any, x: np.ndarray, y: np.ndarray, *, block: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``x, y`` from ``src_crs`` to ``dst_crs`` (always x, y order), in row blocks over threads.

    Parameters
    ----------
    src_crs, dst_crs
        Anything :meth:`pyproj.Transformer.from_crs` accepts.
    x, y
        float64 coordinates, same length.
    block
        Points per block; default :data:`coverkit.settings.transform_block_points`.

    Returns
    -------
    tuple of ndarray
        float64 ``x, y`` in ``dst_crs``, equal element-wise to one
        :meth:`pyproj.Transformer.transform` call (each point is transformed
        on its own; one transformer per block, as they are not shared across
        threads).
    """
    from pyproj import Transformer

    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    out_x = np.empty(x.shape)
    out_y = np.empty(y.shape)
    size = settings.transform_block_points if block is None else block

    def work(s: int, e: int) -> None:
        t = Transformer.from_crs(src_crs, dst_crs, always_xy=True)
        out_x[s:e], out_y[s:e] = t.transform(x[s:e], y[s:e])

    for_blocks(work, x.size, size)
    return out_x, out_y


__all__ = ["block_threads", "for_blocks", "transform_xy"]
