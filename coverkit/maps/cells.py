"""Cells of the plan's tables as the map shows them: missing values, yes/no, numbers, popups."""

from __future__ import annotations

import math
from typing import Any

from coverkit.maps.assets import escape_html


def is_null(value: Any) -> bool:
    """Whether a cell is missing (None or a float NaN).

    Parameters
    ----------
    value
        Any cell value.

    Returns
    -------
    bool
    """
    try:
        return bool(value is None or (isinstance(value, float) and math.isnan(value)))
    except TypeError:
        return False


def truthy(value: Any) -> bool:
    """Whether a cell means "yes" (``1``, ``true``, ``yes``, ``是`` ... or a true value).

    Parameters
    ----------
    value
        Any cell value; a missing one is False.

    Returns
    -------
    bool
    """
    if is_null(value):
        return False
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "t", "是"}
    return bool(value)


def column_values(gdf: Any, name: str, default: Any = None) -> list[Any]:
    """A column's values as a list (missing cells as None).

    Parameters
    ----------
    gdf
        A table, or None (gives ``[]``).
    name
        The column.
    default
        Value of every row when the column is missing.

    Returns
    -------
    list
    """
    if gdf is None:
        return []
    if name in gdf.columns:
        return [None if is_null(v) else v for v in gdf[name].tolist()]
    return [default] * len(gdf)


def format_number(value: Any, decimals: int = 0) -> str:
    """A number for display (thousands separators); '—' for missing, text escaped.

    Parameters
    ----------
    value
        The cell; a value that is not a number is shown HTML-escaped.
    decimals
        Digits after the decimal point.

    Returns
    -------
    str
        HTML-safe text; infinity is ``不可达 unreachable``.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return escape_html(value)
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "不可达 unreachable"
    return f"{v:,.{decimals}f}"


def popup_table(rows: list[tuple[str, str]]) -> str:
    """An HTML table from (escaped label, escaped value) rows.

    Parameters
    ----------
    rows
        Label and value of each row, both already HTML-safe.

    Returns
    -------
    str
        ``<table class="ck-popup">...</table>``.
    """
    body = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="ck-popup">{body}</table>'


__all__ = ["column_values", "format_number", "is_null", "popup_table", "truthy"]
