"""Formatting and input checks shared by the village modules.

Numbers in reason sentences and messages, display labels that tell apart villages
of the same name, and the validation of travel-time matrices and village columns.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from coverkit.errors import InvalidValueError
from coverkit.io import column_of

# The package's logger: every village module logs as ``coverkit.villages``.
logger = logging.getLogger(__package__)


def format_minutes(x: float) -> str:
    """Minutes for a reason sentence: one decimal, trailing ``.0`` dropped.

    Parameters
    ----------
    x
        Minutes (or any number shown the same way, such as staff per 1,000).

    Returns
    -------
    str
        ``12.25`` → ``"12.2"``, ``15.0`` → ``"15"``.
    """
    return f"{round(float(x), 1):g}"


def format_population(x: float) -> str:
    """A population for a message: whole people with thousands separators.

    Parameters
    ----------
    x
        Number of people.

    Returns
    -------
    str
        ``1500.4`` → ``"1,500"``.
    """
    return f"{float(x):,.0f}"


def display_labels(ids: pd.Series, names: pd.Series, townships: pd.Series | None) -> pd.Series:
    """Display names; names repeated within one township get their id appended.

    Parameters
    ----------
    ids
        Village ids.
    names
        Village names.
    townships
        Township of each village, or ``None`` (all in one group).

    Returns
    -------
    Series
        ``name``, or ``name (id)`` where the name repeats in its township (a
        warning lists such names).
    """
    names = names.astype(str)
    group = townships.astype(str) if townships is not None else pd.Series("", index=names.index)
    dup = pd.DataFrame({"t": group, "n": names}).duplicated(keep=False).to_numpy()
    if dup.any():
        repeated = sorted(set(zip(group[dup], names[dup], strict=True)))
        logger.warning(
            "duplicate village names within one township: %s; they are told apart by id "
            "in reasons and timetables (e.g. '%s (%s)')",
            "; ".join(f"{t}/{n}" for t, n in repeated),
            names[dup].iloc[0],
            ids[dup].iloc[0],
        )
    lab = names.copy()
    lab[dup] = [f"{n} ({i})" for n, i in zip(names[dup], ids[dup].astype(str), strict=True)]
    return lab


def as_minutes(a: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A travel-time array in minutes, checked for shape, NaN and negatives.

    Parameters
    ----------
    a
        Array-like of minutes (``np.inf`` = unreachable).
    shape
        Expected shape (one entry per village, in the villages' row order).
    what
        Name of the argument, for the error message.

    Returns
    -------
    numpy.ndarray
        ``a`` as float64.

    Raises
    ------
    InvalidValueError
        Wrong shape, NaN or negative minutes.
    """
    arr = np.asarray(a, dtype="float64")
    if arr.shape != shape:
        raise InvalidValueError(
            f"{what} has shape {arr.shape} but {shape} was expected (one entry per village, "
            "in the row order of the villages table); recompute it for these villages"
        )
    if np.isnan(arr).any() or (arr < 0).any():
        raise InvalidValueError(
            f"{what} holds NaN or negative minutes; use np.inf for unreachable pairs"
        )
    return arr


def as_km(a: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A distance array in km, checked for shape and negatives (NaN = unknown or unreachable).

    Parameters
    ----------
    a
        Array-like of km.
    shape
        Expected shape (one entry per village or pair asked for).
    what
        Name of the argument, for the error message.

    Returns
    -------
    numpy.ndarray
        ``a`` as float64.

    Raises
    ------
    InvalidValueError
        Wrong shape or negative km.
    """
    arr = np.asarray(a, dtype="float64")
    if arr.shape != shape:
        raise InvalidValueError(
            f"{what} has shape {arr.shape} but {shape} was expected (one entry per village, "
            "in the row order of the villages table); recompute it for these villages"
        )
    if (arr < 0).any():
        raise InvalidValueError(f"{what} holds negative km; use NaN for unreachable pairs")
    return arr


def village_columns(villages: pd.DataFrame) -> dict[str, str]:
    """The village table's ``id, name, township, population, clinic`` columns.

    Parameters
    ----------
    villages
        Village table (column aliases of :data:`coverkit.io.POINT_COLUMN_ALIASES`
        accepted).

    Returns
    -------
    dict
        Canonical name → the table's column name.

    Raises
    ------
    MissingColumnError
        A required column is missing.
    InvalidValueError
        Missing or negative populations.
    """
    cols = {k: column_of(villages, k) for k in ("id", "name", "township", "population", "clinic")}
    pop = pd.to_numeric(villages[cols["population"]], errors="coerce")
    if pop.isna().any() or (pop < 0).any():
        bad = villages.loc[pop.isna() | (pop < 0), cols["name"]].astype(str).tolist()
        raise InvalidValueError(
            f"column '{cols['population']}' has missing or negative values for "
            f"{', '.join(bad[:5])}; fill them (estimate_village_population) or correct them"
        )
    return cols


def villages_labels(villages: pd.DataFrame, cols: dict[str, str]) -> pd.Series:
    """The ``label`` column when present, else :func:`display_labels` of the table.

    Parameters
    ----------
    villages
        Village table, possibly the output of ``assign_service_modes``.
    cols
        Canonical name → column name, with ``id``, ``name`` and ``township``.

    Returns
    -------
    Series
        One display label per village, as str.
    """
    if "label" in villages.columns:
        return villages["label"].astype(str)
    return display_labels(villages[cols["id"]], villages[cols["name"]], villages[cols["township"]])
