"""One writer for every table and text file coverkit writes (issue 15).

Names in a plan come from users' files, and plan folders travel between
colleagues, so every name is untrusted text. This module is the one place
that makes such text safe in each output format:

- **Spreadsheets** (CSV and XLSX): a text cell that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return (:data:`FORMULA_START`, also their
  full-width forms ``＝＋－＠``, which Excel and WPS in Chinese and Japanese
  locales turn into formulas too) would run as a formula in Excel, LibreOffice
  or WPS. In CSV such a cell gets a leading apostrophe (:func:`defuse_cell`),
  which Excel reads as "this is text" and hides. In XLSX the text is kept as
  it is, stored as a string cell with Excel's "quote prefix" style (it never
  becomes a formula, not even after editing). Column names are cells too.
  Numbers stay numbers: a negative number is not a formula.
- **XLSX** cannot hold most control characters (openpyxl refuses them): they
  are written as visible escapes (``\\x07``, see :func:`printable`). Sheet
  names are made valid (at most 31 characters, none of ``[]:*?/\\``) and
  unique (:func:`sheet_names`).
- **Markdown** (:func:`md_text`): line breaks and control characters cannot
  start a new line, so a name can never forge a heading, a list or a table
  row; ``|`` cannot add a table column; emphasis, links, code and raw HTML
  are escaped.
- **HTML** (:func:`html_text`): escaped, quotes included, controls visible.

Every writer here is atomic (:func:`coverkit.atomic.atomic_path`) and turns
any failure into one :class:`~coverkit.errors.OutputError` line naming the
file (:func:`output_error`); a full disk says "free space or choose another
--out". GDAL (pyogrio, rasterio) raises its own error types on a full disk:
:func:`writing` translates those too.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import html
import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coverkit import settings
from coverkit.atomic import atomic_path
from coverkit.errors import CoverkitError, OutputError

#: Starts of a spreadsheet cell that Excel/LibreOffice/WPS would evaluate as a formula
#: (OWASP "CSV injection"), with the full-width forms East Asian locales also accept.
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
#: Float format of CSV files (stable across runs and platforms).
CSV_FLOAT_FORMAT = "%.10g"
#: Longest sheet name Excel accepts, and the characters it refuses in one.
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = "[]:*?/\\"

# Line breaks (CR, LF, VT, FF, NEL, the Unicode line/paragraph separators) and tabs.
_BREAKS = re.compile("[\t\n\x0b\x0c\r\x85\u2028\u2029]")
# Other controls (C0, DEL, C1), bidi embeddings/overrides/isolates, lone surrogates.
_HIDDEN = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# The controls XML 1.0 (so XLSX) cannot hold at all.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# Markdown characters escaped anywhere in a text (``<``/``>``/``&`` become entities).
_MD_INLINE = frozenset("\\`*_[]|~")
# A text starting like a Markdown block (CommonMark): heading, bullet or ordered list
# item, thematic break or setext underline (``>``, ``|``, ``*``, ``_`` are escaped already).
_MD_BLOCK_START = re.compile(
    r"^(?:#{1,6}(?=[ \t]|$)|[-+](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)|[-=](?=[-= \t]*$))"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: Any, *, breaks: str | None = " ") -> str:
    """Text with its invisible characters made visible.

    Parameters
    ----------
    text
        Any value (``str()`` of it is used).
    breaks
        What line breaks and tabs become (``None``: kept as they are).

    Returns
    -------
    str
        Control characters, bidi overrides (U+202A–U+202E, U+2066–U+2069) and
        lone surrogates written as ``\\x07`` / ``\\u202e`` escapes; letters of
        every script (Arabic and other right-to-left scripts included) kept.
    """
    out = str(text)
    if breaks is not None:
        out = _BREAKS.sub(breaks, out)
    return _HIDDEN.sub(_visible, out)


def is_formula_like(value: Any) -> bool:
    """Whether a spreadsheet would evaluate ``value`` as a formula (text only)."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def defuse_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs as a formula.

    Parameters
    ----------
    value
        A cell value.

    Returns
    -------
    Any
        Text starting with one of :data:`FORMULA_START` with an apostrophe in
        front (Excel shows the text without it); anything else unchanged
        (numbers stay numbers, a negative number included).
    """
    return "'" + value if is_formula_like(value) else value


def is_text_column(series: pd.Series) -> bool:
    """Whether a column holds Python objects or strings (not numbers or booleans)."""
    return bool(
        pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)
    )


def defused_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are defused (:func:`defuse_cell`).

    Parameters
    ----------
    df
        A table.

    Returns
    -------
    DataFrame
        The same values, numbers untouched.
    """
    out = df.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if is_text_column(col):
            out.isetitem(i, col.map(defuse_cell))
    out.columns = [defuse_cell(str(c)) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame) -> str:
    """The CSV text of a table: defused, no index, ``\\n`` line ends, stable floats.

    Parameters
    ----------
    df
        A table.

    Returns
    -------
    str
        CSV text (quoted where needed, so line breaks inside a cell stay in it).
    """
    return defused_frame(df).to_csv(index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n")


def free_bytes(path: str | os.PathLike[str]) -> int | None:
    """Bytes free (for this user) on the file system of ``path`` or its nearest folder."""
    p = Path(path).absolute()
    for folder in (p, *p.parents):
        try:
            st = os.statvfs(folder)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize
    return None  # pragma: no cover - the root always exists


def is_disk_full(exc: BaseException, path: str | os.PathLike[str] | None = None) -> bool:
    """Whether a failed write was a full disk (or a full quota).

    Parameters
    ----------
    exc
        The error. GDAL's writers raise their own types whose message is all
        there is ("database or disk is full", "No space left on device"), and
        on a full disk SQLite may fail with other messages too.
    path
        The file being written: when given, an error while less than
        :data:`coverkit.settings.output_min_free_bytes` are free on its file
        system counts as a full disk.

    Returns
    -------
    bool
    """
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    if "no space left" in text or "disk is full" in text or "disk quota" in text:
        return True
    if path is None:
        return False
    free = free_bytes(path)
    return free is not None and free < settings.output_min_free_bytes


def output_error(path: str | os.PathLike[str], exc: BaseException) -> OutputError:
    """One :class:`OutputError` line naming ``path`` for a failed write.

    Parameters
    ----------
    path
        The file being written.
    exc
        What went wrong.

    Returns
    -------
    OutputError
        "the disk is full; free space or choose another --out" for a full disk,
        else the reason and "check permissions or choose another --out".
    """
    if is_disk_full(exc, path):
        return OutputError(
            f"cannot write '{path}': the disk is full; free space or choose another --out"
        )
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    reason = " ".join(str(reason).split())
    return OutputError(
        f"cannot write '{path}' ({reason}); check permissions or choose another --out"
    )


def is_writer_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure to write a file (not a bug).

    An :class:`OSError`, a full disk reported by any library, or an error of
    GDAL's writers (pyogrio, rasterio, fiona), sqlite or zipfile.
    """
    module = type(exc).__module__ or ""
    return (
        isinstance(exc, OSError)
        or is_disk_full(exc)
        or module.split(".")[0] in ("pyogrio", "rasterio", "fiona", "sqlite3", "zipfile")
    )


@contextlib.contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a failure while writing ``path`` into one :class:`OutputError` line.

    Parameters
    ----------
    path
        The file being written (named in the message).

    Yields
    ------
    None
        An :class:`OSError`, a full disk reported by any library, or an error of
        GDAL's writers (pyogrio, rasterio) becomes :func:`output_error`; a
        :class:`~coverkit.errors.CoverkitError` and other errors (bugs) pass.
    """
    try:
        yield
    except CoverkitError:
        raise
    except Exception as exc:
        if not is_writer_error(exc):
            raise
        raise output_error(path, exc) from exc


def write_text(text: str, path: str | os.PathLike[str], *, encoding: str = "utf-8") -> Path:
    """Write text atomically (``\\n`` line ends); unencodable characters escaped.

    Parameters
    ----------
    text
        The content.
    path
        The file (its folder must exist).
    encoding
        ``utf-8``, or ``utf-8-sig`` for CSVs that Excel in China opens right.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        The file cannot be written (one line naming it; a full disk says so).
    """
    path = Path(path)
    with (
        writing(path),
        atomic_path(path) as tmp,
        open(tmp, "w", encoding=encoding, errors="backslashreplace", newline="\n") as fh,
    ):
        fh.write(text)
    return path


def geotiff_options(dtype: str) -> dict[str, Any]:
    """Creation options of the GeoTIFFs coverkit writes (plan folder and report).

    Parameters
    ----------
    dtype
        The band's dtype name (``float32``, ``float64``, ``uint8``...).

    Returns
    -------
    dict
        rasterio keywords: deflate at :data:`~coverkit.settings.geotiff_deflate_level`
        with the predictor that suits the dtype (floating-point for floats,
        horizontal for integers), in strips of
        :data:`~coverkit.settings.geotiff_strip_rows` rows compressed by
        :data:`~coverkit.settings.geotiff_threads` threads. Lossless: the cells
        read back are the cells written.
    """
    threads = settings.geotiff_threads or min(2, os.cpu_count() or 1)
    return {
        "compress": "deflate",
        "zlevel": int(settings.geotiff_deflate_level),
        "predictor": 3 if np.dtype(dtype).kind == "f" else 2,
        "num_threads": str(max(1, int(threads))),
        "blockysize": max(1, int(settings.geotiff_strip_rows)),
    }


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as a defused CSV (UTF-8 with a BOM), atomically.

    Parameters
    ----------
    df
        The table.
    path
        The CSV file.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        The file cannot be written.
    """
    return write_text(csv_text(df), path, encoding="utf-8-sig")


def sheet_names(names: list[str]) -> list[str]:
    """Valid, unique Excel sheet names for ``names``, in order (deterministic).

    Parameters
    ----------
    names
        Wanted names.

    Returns
    -------
    list of str
        Each name with controls made visible, ``[]:*?/\\`` replaced by ``_``,
        no apostrophe at either end, a formula start prefixed with ``_``, at
        most 31 characters; a name equal (ignoring case, as Excel does) to an
        earlier one, or empty, gets a ``~2``, ``~3`` … suffix.
    """
    out: list[str] = []
    seen: set[str] = set()
    for raw in names:
        name = printable(raw)
        name = "".join("_" if ch in SHEET_NAME_FORBIDDEN else ch for ch in name).strip("' ")
        if is_formula_like(name):
            name = "_" + name
        name = name[:SHEET_NAME_MAX] or "sheet"
        k = 2
        base = name
        while name.casefold() in seen or name.casefold() == "history":
            tail = f"~{k}"
            name = base[: SHEET_NAME_MAX - len(tail)] + tail
            k += 1
        seen.add(name.casefold())
        out.append(name)
    return out


def xlsx_value(value: Any) -> Any:
    """A cell value openpyxl can store: numbers as numbers, text made legal.

    Parameters
    ----------
    value
        A table cell.

    Returns
    -------
    Any
        ``None`` for missing, ``bool``/``int``/``float`` as such (infinity as
        the text ``inf``/``-inf``), anything else as text whose controls that
        XML cannot hold are visible escapes. Formula-like text is stored as
        text by :func:`write_xlsx`, never as a formula.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    return _XML_ILLEGAL.sub(_visible, str(value))


def _fill_sheet(ws: Any, df: pd.DataFrame) -> None:
    """Header and rows of one sheet; text cells are never formulas."""
    from openpyxl.utils import get_column_letter

    rows = [[str(c) for c in df.columns]]
    rows += [list(row) for row in df.itertuples(index=False)]
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row, start=1):
            v = xlsx_value(value) if i > 1 else xlsx_value(str(value))
            cell = ws.cell(row=i, column=j)
            cell.value = v
            if isinstance(v, str):
                cell.data_type = "s"  # openpyxl makes "=…" a formula otherwise
                if is_formula_like(v):
                    cell.quotePrefix = True  # and Excel keeps it text after an edit
    for j, col in enumerate(df.columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(40, max(10, len(str(col)) + 4))
    ws.freeze_panes = "A2"


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | os.PathLike[str]) -> Path:
    """Write tables as the sheets of one workbook, atomically and deterministically.

    Parameters
    ----------
    sheets
        Sheet name → table, in order; names are made valid (:func:`sheet_names`).
    path
        The ``.xlsx`` file.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        openpyxl is missing, or the file cannot be written.

    Notes
    -----
    Text cells (column names included) are string cells, formula-like ones
    with Excel's quote prefix: nothing in the workbook is a formula. The
    workbook's dates are fixed, so the same tables give the same bytes.
    """
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise OutputError(
            f"writing {Path(path).name} needs openpyxl; install it with "
            "`pip install coverkit[xlsx]` (or `pip install openpyxl`)"
        ) from exc
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    fixed = _dt.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "coverkit"
    for name, df in zip(sheet_names(list(sheets)), sheets.values(), strict=True):
        _fill_sheet(wb.create_sheet(name), df)
    path = Path(path)
    with writing(path), atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def md_text(value: Any) -> str:
    """Untrusted text for one Markdown line or table cell.

    Parameters
    ----------
    value
        Any value (``str()`` of it is used).

    Returns
    -------
    str
        One line: line breaks and tabs become spaces, other controls and bidi
        overrides visible escapes (:func:`printable`); ``\\ ` * _ [ ] | ~``
        backslash-escaped (no emphasis, code, link or extra table column);
        ``< > &`` as entities (no raw HTML, no autolink, no quote); a start
        that Markdown reads as a block marker (``# ``, ``- ``, ``+ ``,
        ``1. ``, ``1) ``, ``---``, ``===``) escaped; leading and trailing
        spaces removed (four spaces would start a code block).
    """
    text = printable(value).strip(" ")
    text = "".join("\\" + ch if ch in _MD_INLINE else ch for ch in text)
    text = html.escape(text, quote=False)
    match = _MD_BLOCK_START.match(text)
    if match:  # escape the marker: "\\# x", "\\- x", "1\\. x"
        at = match.end() - 1 if text[0].isdigit() else 0
        text = text[:at] + "\\" + text[at:]
    return text


def html_text(value: Any) -> str:
    """Untrusted text for HTML content or an attribute value.

    Parameters
    ----------
    value
        Any value; ``None`` gives ``""``.

    Returns
    -------
    str
        Controls and bidi overrides made visible (:func:`printable`, line
        breaks kept as spaces), then HTML-escaped with quotes.
    """
    return "" if value is None else html.escape(printable(value), quote=True)


__all__ = [
    "CSV_FLOAT_FORMAT",
    "FORMULA_START",
    "SHEET_NAME_FORBIDDEN",
    "SHEET_NAME_MAX",
    "csv_text",
    "defuse_cell",
    "defused_frame",
    "free_bytes",
    "html_text",
    "is_disk_full",
    "is_formula_like",
    "is_text_column",
    "is_writer_error",
    "md_text",
    "output_error",
    "printable",
    "sheet_names",
    "write_csv",
    "write_text",
    "write_xlsx",
    "writing",
    "xlsx_value",
]
