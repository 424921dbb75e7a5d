"""Large working arrays that may live on disk instead of in memory.

A county's travel-time matrix (cells × county hospitals and candidates) grows
with its area: 0.9 GB for a 60,000 km² county at 100 m, 5.4 GB for a
200,000 km² one (若羌县). Above :data:`coverkit.settings.in_memory_max_mb` such
an array is backed by an anonymous scratch file (:func:`tempfile.TemporaryFile`,
deleted from the folder as it is created, so nothing is left behind even by
``kill -9``) and memory-mapped: the operating system keeps the parts in use in
memory and pages the rest out to the file, so a plan that does not fit an 8 GB
machine's memory still runs, more slowly, instead of being killed.

The file's space is reserved before anything is written
(:func:`os.posix_fallocate`): a full disk is refused up front in one line,
never met halfway as a ``SIGBUS`` crash.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from coverkit import settings
from coverkit.errors import OutputError
from coverkit.io import shown_path

log = logging.getLogger(__name__)


def scratch_folder() -> Path:
    """The folder of the scratch files: :data:`coverkit.settings.scratch_dir`, else
    the system's temporary folder (``TMPDIR``)."""
    return Path(settings.scratch_dir or tempfile.gettempdir())


def _in_memory_fs(folder: Path) -> bool:
    """True when ``folder`` is on a memory-backed file system (Linux ``tmpfs``/``ramfs``),
    where a scratch file saves no memory; False when unknown."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    target = str(folder.resolve())
    best, kind = "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, parts[2]
    return kind in {"tmpfs", "ramfs"}


def _gb(n_bytes: float) -> str:
    """``n_bytes`` as GB with one decimal (``'5.4 GB'``), or MB below 1 GB (``'3.2 MB'``)."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:.1f} GB"
    return f"{n_bytes / 2**20:.1f} MB"


def large_array(shape: tuple[int, ...], dtype: np.dtype | type, *, what: str) -> np.ndarray:
    """An uninitialised array, in memory or, when large, memory-mapped on a scratch file.

    Parameters
    ----------
    shape
        Shape of the array.
    dtype
        Its element type.
    what
        What it holds, for the error message (``"travel-time matrix"``).

    Returns
    -------
    numpy.ndarray
        A plain array of at most :data:`coverkit.settings.in_memory_max_mb`
        MiB; above it a :class:`numpy.memmap` on an anonymous scratch file in
        :func:`scratch_folder` (its contents are lost with the array).

    Raises
    ------
    OutputError
        The scratch folder cannot hold the array (it names the folder, the size
        needed and the free space, and what to do).
    """
    dtype = np.dtype(dtype)
    n_bytes = math.prod(shape) * dtype.itemsize
    if n_bytes <= settings.in_memory_max_mb * 2**20 or n_bytes == 0:
        return np.empty(shape, dtype=dtype)
    folder = scratch_folder()
    try:
        free = shutil.disk_usage(folder).free
        handle = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - closed below, once mapped
    except OSError as exc:
        raise OutputError(
            f"cannot create a scratch file in '{shown_path(folder)}' for the {what} "
            f"({_gb(n_bytes)}, more than in_memory_max_mb={settings.in_memory_max_mb:g} MiB "
            f"of memory): {exc.strerror or exc}; set scratch_dir to an existing, writable "
            f"folder with {_gb(n_bytes)} free, or raise in_memory_max_mb on a machine with "
            "more memory"
        ) from exc
    if _in_memory_fs(folder):
        log.warning(
            "the scratch folder '%s' is in memory (tmpfs): the %s (%s) saves no memory there; "
            "set scratch_dir to a folder on disk",
            shown_path(folder),
            what,
            _gb(n_bytes),
        )
    try:
        with handle:  # the map keeps its own handle on the file: this one can close
            _reserve(handle.fileno(), n_bytes)
            return np.memmap(handle, dtype=dtype, mode="r+", shape=shape)
    except OSError as exc:
        fix = (
            f"free {_gb(n_bytes)} there, set scratch_dir to a folder on a larger disk, or raise "
            "in_memory_max_mb (settings) on a machine with more memory"
        )
        raise OutputError(
            f"the {what} needs {_gb(n_bytes)} of scratch disk in '{shown_path(folder)}' (more than "
            f"in_memory_max_mb={settings.in_memory_max_mb:g} MiB of memory) but only "
            f"{_gb(free)} is free ({exc.strerror or exc}); {fix}"
        ) from exc


def _reserve(fd: int, n_bytes: int) -> None:
    """Reserve ``n_bytes`` of disk for the file ``fd`` (``OSError`` when they do not fit)."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, n_bytes)
    else:  # pragma: no cover - macOS/Windows: extend, then the OS allocates on write
        os.ftruncate(fd, n_bytes)


__all__ = ["large_array", "scratch_folder"]
