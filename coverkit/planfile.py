"""Save and read a finished plan as plain data: a JSON manifest, one GeoPackage, GeoTIFFs.

``coverkit map`` and ``coverkit report`` redraw a plan from the folder that
``coverkit plan`` wrote. Plan folders travel between colleagues (USB sticks,
chat groups), so reading one must never run code: nothing here uses pickle,
``eval`` or ``allow_pickle``. Cells that hold lists, tuples or dicts are JSON
text decoded with :func:`json.loads` only.

Layout of a plan folder (format ``coverkit-plan``, version 1)::

    plan/
      manifest.json         format, versions, county, parameters, summary, notes,
                            every table's layer, columns and dtypes, and the
                            SHA-256 and size of every data file
      tables.gpkg           one layer per table (GeoDataFrames and plain tables)
      population.tif        population per cell (float64)
      population_mask.tif   cells inside the county (uint8 0/1)
      time_before_min.tif   minutes before the plan (float32, NaN and inf kept)
      time_after_min.tif    minutes after the plan

In the GeoPackage the columns are named ``row`` (0, 1, 2 ...), ``c0``, ``c1`` ...
(the table's columns) and ``i0`` ... (index levels, unless the index is a
RangeIndex); the manifest maps them back to the real labels and dtypes. A
column is stored ``native`` (int64, float64, bool), ``text`` (strings) or
``json`` (anything else, and floats holding -0.0, which SQLite does not keep).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
import stat
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from coverkit.atomic import make_folder, shared_file_mode
from coverkit.errors import InputFileError, OutputError
from coverkit.writers import geotiff_options

if TYPE_CHECKING:
    from coverkit.plan import CountyPlan

#: ``format`` of the manifest.
FORMAT_NAME = "coverkit-plan"
#: Version of the layout this module writes and the only one it reads.
FORMAT_VERSION = 1
#: Folder of a saved plan inside a report folder.
PLAN_DIR = "plan"
#: The manifest's file name inside :data:`PLAN_DIR`.
MANIFEST = "manifest.json"
#: The GeoPackage with every table.
TABLES_FILE = "tables.gpkg"
#: What coverkit up to 0.1 wrote instead (a Python pickle); recognised, never opened.
OLD_PICKLE = "plan.pickle"

#: Largest manifest read, in bytes (a real one is a few tens of kB).
MAX_MANIFEST_BYTES = 16 * 2**20
#: Largest data file read, in bytes.
MAX_FILE_BYTES = 2**31
#: Most cells a raster may declare (10 000 × 10 000 cells: a 1000 km county at 100 m).
MAX_RASTER_CELLS = 10**8
#: Most rows and columns a table may declare.
MAX_ROWS = 10**7
MAX_COLUMNS = 10**4
#: Deepest nesting of lists and objects in the manifest or a JSON cell (a real plan
#: needs about 10; deeper ones would exhaust Python's recursion while decoding).
MAX_JSON_DEPTH = 100

#: ``last_change`` written into the GeoPackage, so the same plan gives the same bytes.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"
_RERUN = "run `coverkit plan` again"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: CountyPlan fields that are not tables.
_NOT_TABLES = frozenset(
    {
        "county_id",
        "county_name",
        "params",
        "population",
        "time_before_min",
        "time_after_min",
        "eligible",
        "summary",
        "notes",
    }
)
_RASTERS = ("time_before_min", "time_after_min")
_NUMPY_DTYPES = frozenset(
    {"bool", "object", "float32", "float64"}
    | {f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)}
)
_MASKED_DTYPES = frozenset(
    {"boolean", "Float32", "Float64"} | {f"{s}Int{b}" for s in ("", "U") for b in (8, 16, 32, 64)}
)
_RASTER_DTYPES = {"float32": "float32", "float64": "float64", "bool": "uint8"}


# ------------------------------------------------------------------ cell values as JSON


def encode_value(value: Any) -> Any:
    """A JSON-ready form of ``value`` that :func:`decode_value` turns back into it.

    Parameters
    ----------
    value
        None, bool, int, float (NaN and inf too), str, ``pandas.NA``, a numpy
        scalar, or a list, tuple or dict of these.

    Returns
    -------
    Any
        Plain JSON data. Lists stay arrays; anything JSON cannot say is a
        one-key object: ``{"$float": "nan"}``, ``{"$tuple": [...]}``,
        ``{"$dict": [[key, value], ...]}``, ``{"$np": [dtype, value]}``,
        ``{"$na": null}``.

    Raises
    ------
    TypeError
        For any other type (datetimes, geometries, objects).
    """
    if isinstance(value, np.generic):
        name = value.dtype.name
        if name not in _NUMPY_DTYPES - {"object"}:
            raise TypeError(f"numpy {name} values cannot be saved")
        return {"$np": [name, encode_value(value.item())]}
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if value is pd.NA:
        return {"$na": None}
    raise TypeError(f"{type(value).__name__} values cannot be saved")


def decode_value(data: Any) -> Any:
    """Turn what :func:`encode_value` made back into the value.

    Parameters
    ----------
    data
        Parsed JSON.

    Returns
    -------
    Any
        The value.

    Raises
    ------
    ValueError
        If ``data`` is not something :func:`encode_value` writes.
    """
    if data is None or isinstance(data, str | bool | int | float):
        return data
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("a JSON object that is not a coverkit value")
    ((tag, body),) = data.items()
    return _decode_tagged(tag, body)


def _decode_tagged(tag: str, body: Any) -> Any:
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$tuple" and isinstance(body, list):
        return tuple(decode_value(v) for v in body)
    if tag == "$dict" and isinstance(body, list):
        if not all(isinstance(kv, list) and len(kv) == 2 for kv in body):
            raise ValueError("a $dict entry that is not a [key, value] pair")
        try:
            return {decode_value(k): decode_value(v) for k, v in body}
        except TypeError as exc:  # unhashable key
            raise ValueError(f"a $dict key that cannot be a key ({exc})") from exc
    if tag == "$np" and isinstance(body, list) and len(body) == 2:
        name, raw = body[0], decode_value(body[1])
        if name not in _NUMPY_DTYPES - {"object"} or not isinstance(raw, bool | int | float):
            raise ValueError(f"a $np value that is not a numpy scalar: {body!r:.60}")
        try:
            return np.dtype(name).type(raw)
        except (OverflowError, TypeError, ValueError) as exc:
            raise ValueError(f"a $np value out of range for {name}") from exc
    if tag == "$na" and body is None:
        return pd.NA
    raise ValueError(f"an unknown tag {tag!r:.40}")


def _dumps(data: Any, *, indent: int | None = None) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: keep them as \\u escapes
        text = json.dumps(data, ensure_ascii=True, allow_nan=False, indent=indent)
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a coverkit plan")


def _loads(text: str | bytes) -> Any:
    """Parse strict JSON (no NaN/Infinity literals, at most :data:`MAX_JSON_DEPTH` deep).

    Raises ValueError on anything else.
    """
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    stack = [(data, 1)]
    while stack:  # iterative: a deep document must not exhaust the recursion here either
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return data


# ------------------------------------------------------------------ dtypes


def _dtype_token(dtype: Any) -> str:
    """The manifest's name of a column dtype; TypeError for dtypes a plan cannot hold."""
    if isinstance(dtype, pd.StringDtype):
        na = dtype.na_value
        return "str" if isinstance(na, float) and math.isnan(na) else "string"
    name = getattr(dtype, "name", str(dtype))
    if isinstance(dtype, np.dtype) and name in _NUMPY_DTYPES:
        return name
    if name in _MASKED_DTYPES or name == "geometry":
        return name
    raise TypeError(f"dtype {dtype} cannot be saved")


def _dtype_from_token(token: Any) -> Any:
    """The dtype a manifest names; ValueError for names this format does not use."""
    if token in _NUMPY_DTYPES:
        return np.dtype(token)
    if token in _MASKED_DTYPES:
        return pd.api.types.pandas_dtype(token)
    if token in ("str", "string"):
        na = np.nan if token == "str" else pd.NA
        try:
            return pd.StringDtype(na_value=na)
        except TypeError:  # pragma: no cover - pandas < 2.3 has one string dtype
            return pd.StringDtype()
    raise ValueError(f"unknown dtype {token!r:.40}")


# ------------------------------------------------------------------ one table


def _is_negative_zero(values: np.ndarray) -> bool:
    return bool(np.any((values == 0) & np.signbit(values)))


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _clean_text(values: np.ndarray) -> bool:
    """Strings SQLite keeps as they are: no NUL, valid UTF-8."""
    for v in values:
        if _is_missing(v):
            continue
        if not isinstance(v, str) or "\x00" in v:
            return False
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


def _json_cells(values: list[Any]) -> np.ndarray:
    """The JSON text of each value; text and ``None``, which repeat (a road's class,
    speed, name), are encoded once per distinct value: the same text as one by one."""
    out = np.empty(len(values), dtype=object)
    known: dict[str | None, str] = {}
    cells = []
    for v in values:
        if v is None or type(v) is str:
            text = known.get(v)
            if text is None:
                text = known[v] = _dumps(encode_value(v))
        else:
            text = _dumps(encode_value(v))
        cells.append(text)
    out[:] = cells
    return out


def _encode_column(series: pd.Series) -> tuple[str, str, Any]:
    """(dtype token, encoding, data to write) of one column."""
    token = _dtype_token(series.dtype)
    if token in ("float32", "float64"):
        data = series.to_numpy()
        if not _is_negative_zero(data):
            return token, "native", data.astype("float64")
    elif token == "bool" or (token in _NUMPY_DTYPES and "int" in token and token != "uint64"):
        return token, "native", series.to_numpy().astype("int64" if token != "bool" else "bool")
    elif token in ("str", "string"):
        data = series.to_numpy(dtype=object)
        if _clean_text(data):
            out = np.empty(len(data), dtype=object)
            out[:] = [v if isinstance(v, str) else None for v in data]
            return token, "text", out
    return token, "json", _json_cells(series.tolist())


def _index_spec(index: pd.Index) -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest entry, fields to write) of a table's index."""
    if type(index) is pd.RangeIndex:
        entry = {"range": [index.start, index.stop, index.step], "name": encode_value(index.name)}
        return entry, {}
    levels, fields = [], {}
    for k in range(index.nlevels):
        token, encoding, data = _encode_column(pd.Series(index.get_level_values(k)))
        name = encode_value(index.names[k])
        levels.append({"name": name, "field": f"i{k}", "dtype": token, "encoding": encoding})
        fields[f"i{k}"] = data
    return {"levels": levels, "multi": isinstance(index, pd.MultiIndex)}, fields


@contextlib.contextmanager
def _gdal_config(pyogrio: Any, options: dict[str, str]) -> Iterator[None]:
    """Set GDAL config options for pyogrio, then restore the previous values."""
    previous = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(options)
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(previous)


def _frame_to_write(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The layer to write (fields ``row``, ``c*``, ``i*``, maybe geometry) and its spec."""
    import geopandas as gpd

    if type(df) not in (pd.DataFrame, gpd.GeoDataFrame):
        raise TypeError(f"a {type(df).__name__} is not a DataFrame or GeoDataFrame")
    if len(df) > MAX_ROWS or df.shape[1] > MAX_COLUMNS:
        raise TypeError(f"{df.shape} is larger than a plan file holds")
    geo_col = df.active_geometry_name if isinstance(df, gpd.GeoDataFrame) else None
    fields: dict[str, Any] = {"row": np.arange(len(df), dtype="int64")}
    columns, geometry = [], None
    for k in range(df.shape[1]):
        label, series = df.columns[k], df.iloc[:, k]
        if geo_col is not None and label == geo_col and geometry is None:
            geometry = series.values
            columns.append({"name": encode_value(label), "dtype": "geometry"})
            continue
        token, encoding, data = _encode_column(series)
        if token == "geometry":
            raise TypeError(f"column {label!r} is a second geometry column")
        fields[f"c{k}"] = data
        columns.append(
            {"name": encode_value(label), "field": f"c{k}", "dtype": token, "encoding": encoding}
        )
    index, index_fields = _index_spec(df.index)
    fields.update(index_fields)
    frame = pd.DataFrame(fields)
    spec: dict[str, Any] = {
        "kind": "GeoDataFrame" if isinstance(df, gpd.GeoDataFrame) else "DataFrame",
        "rows": len(df),
        "columns": columns,
        "columns_dtype": _dtype_token(df.columns.dtype),
        "columns_name": encode_value(df.columns.name),
        "index": index,
        "crs": _crs_entry(df.crs) if geometry is not None else None,
    }
    if geometry is not None:
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry).values, crs=df.crs)
    return frame, spec


def save_table(df: pd.DataFrame, path: str | os.PathLike[str], *, layer: str) -> dict[str, Any]:
    """Write one table as a layer of a GeoPackage and return its manifest entry.

    Parameters
    ----------
    df
        A DataFrame or GeoDataFrame (flat column labels; RangeIndex or any
        index of supported dtypes).
    path
        The GeoPackage (created if missing; other layers are kept).
    layer
        The layer's name.

    Returns
    -------
    dict
        ``layer``, ``kind``, ``rows``, ``columns`` (name, field, dtype,
        encoding), ``columns_dtype``, ``columns_name``, ``index`` and ``crs``;
        :func:`read_table` needs it to rebuild the table.

    Raises
    ------
    TypeError
        If a column has a dtype or values this format cannot keep (datetimes,
        categoricals, objects that are not JSON-like).
    """
    import pyogrio

    frame, spec = _frame_to_write(df)
    # a fixed date keeps the bytes reproducible; no fsync per layer: the folder is staged
    options = {"OGR_CURRENT_DATE": _FIXED_DATE, "OGR_SQLITE_SYNCHRONOUS": "OFF"}
    with _gdal_config(pyogrio, options):
        pyogrio.write_dataframe(
            frame,
            os.fspath(path),
            layer=layer,
            driver="GPKG",
            promote_to_multi=False,
            layer_options={"SPATIAL_INDEX": "NO"},
        )
    return {"layer": layer, **spec}


def _reason(exc: BaseException) -> str:
    """A library's error message cut to a short clause, without in-memory file names."""
    text = re.sub(r"'?/vsimem/\S+'?", "the file", str(exc).splitlines()[0] if str(exc) else "")
    text = text.rsplit("failed: ", 1)[-1].split("; ")[0].rstrip(".")
    return text if len(text) <= 100 else text[:97] + "..."


def _bad(source: Any, what: str) -> InputFileError:
    return InputFileError(f"{source}: {what}; {_RERUN}")


def _decode_cells(raw: np.ndarray, dtype: Any, source: Any, where: str) -> Any:
    """Values of a ``json`` column, as an array of ``dtype``."""
    if not all(isinstance(v, str) for v in raw):
        raise _bad(source, f"{where} holds a value that is not JSON text")
    try:
        values = [decode_value(_loads(v)) for v in raw]
    except ValueError as exc:
        raise _bad(source, f"{where} holds a value coverkit did not write ({exc})") from exc
    if dtype == np.dtype(object):
        out = np.empty(len(values), dtype=object)
        out[:] = values if values else []
        for k, v in enumerate(values):  # numpy would unpack equal-length sequences
            out[k] = v
        return out
    try:
        if isinstance(dtype, np.dtype):
            if not all(isinstance(v, int | float | bool | np.generic) for v in values):
                raise TypeError("not a number")
            return np.array(values, dtype=dtype)
        return pd.array(values, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad(source, f"{where} holds a value that is not {dtype}") from exc


def _decode_column(raw: pd.Series, entry: dict[str, Any], source: Any, where: str) -> Any:
    """Values of one stored column, as an array of the dtype the manifest names."""
    try:
        dtype = _dtype_from_token(entry.get("dtype"))
    except ValueError as exc:
        raise _bad(source, f"{where}: {exc}") from exc
    encoding = entry.get("encoding")
    values = raw.to_numpy(dtype=object) if encoding != "native" else raw.to_numpy()
    if encoding == "json":
        return _decode_cells(values, dtype, source, where)
    if encoding == "text" and isinstance(dtype, pd.StringDtype):
        if not all(isinstance(v, str) or _is_missing(v) for v in values):
            raise _bad(source, f"{where} holds a value that is not text")
        return pd.array([v if isinstance(v, str) else None for v in values], dtype=dtype)
    kinds = {"b": "b", "i": "iu", "u": "iu", "f": "f"}
    if encoding != "native" or not isinstance(dtype, np.dtype) or dtype.kind not in kinds:
        raise _bad(source, f"{where} has an unknown encoding {encoding!r:.40}")
    if values.dtype.kind not in kinds[dtype.kind]:
        raise _bad(source, f"{where} holds {values.dtype} values, not {dtype}")
    cast = values.astype(dtype)
    if not np.array_equal(cast.astype(values.dtype), values, equal_nan=dtype.kind == "f"):
        raise _bad(source, f"{where} holds values out of range for {dtype}")
    return cast


def _index_from(spec: Any, raw: pd.DataFrame, source: Any, layer: str) -> pd.Index:
    if not isinstance(spec, dict):
        raise _bad(source, f"layer '{layer}' has no index in the manifest")
    try:
        if "range" in spec:
            start, stop, step = spec["range"]
            if not all(type(v) is int for v in (start, stop, step)) or step == 0:
                raise ValueError("a range that is not three integers")
            return pd.RangeIndex(start, stop, step, name=decode_value(spec.get("name")))
        levels = spec["levels"]
        arrays = [
            _decode_column(raw[lv["field"]], lv, source, f"layer '{layer}' index") for lv in levels
        ]
        names = [decode_value(lv.get("name")) for lv in levels]
        if spec.get("multi"):
            return pd.MultiIndex.from_arrays(arrays, names=names)
        if len(arrays) != 1:
            raise ValueError("a flat index with several levels")
        return pd.Index(arrays[0], name=names[0])
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(source, f"layer '{layer}' has an index coverkit did not write ({exc})") from exc


def _check_fields(raw: pd.DataFrame, spec: dict[str, Any], source: Any, layer: str) -> None:
    """The layer has exactly the fields and rows the manifest lists, rows in order."""
    expected = ["row"] + [c["field"] for c in spec["columns"] if c.get("dtype") != "geometry"]
    expected += [lv["field"] for lv in spec["index"].get("levels", [])]
    present = [c for c in raw.columns if c != "geometry" or not hasattr(raw, "crs")]
    missing = [f for f in expected if f not in present]
    if missing:
        raise _bad(source, f"layer '{layer}' misses the column(s) {', '.join(missing)}")
    if present != expected:
        raise _bad(source, f"layer '{layer}' has columns {present} instead of {expected}")
    if len(raw) != spec["rows"] or not np.array_equal(raw["row"].to_numpy(), np.arange(len(raw))):
        raise _bad(source, f"layer '{layer}' does not hold rows 0 to {spec['rows'] - 1} in order")
    has_geometry = any(c.get("dtype") == "geometry" for c in spec["columns"])
    if has_geometry != hasattr(raw, "crs"):
        raise _bad(source, f"layer '{layer}' geometry does not match the manifest")


def _check_spec(spec: Any, source: Any, layer: str) -> None:
    """The manifest entry of a table has the expected shape."""
    ok = (
        isinstance(spec, dict)
        and spec.get("kind") in ("DataFrame", "GeoDataFrame")
        and type(spec.get("rows")) is int
        and 0 <= spec["rows"] <= MAX_ROWS
        and isinstance(spec.get("columns"), list)
        and len(spec["columns"]) <= MAX_COLUMNS
        and all(isinstance(c, dict) for c in spec["columns"])
        and all(isinstance(c.get("field"), str) or c.get("dtype") == "geometry"
                for c in spec["columns"])
        and isinstance(spec.get("index"), dict)
        and all(isinstance(lv, dict) and isinstance(lv.get("field"), str)
                for lv in spec["index"].get("levels", []))
    )  # fmt: skip
    if not ok:
        raise _bad(source, f"the manifest entry of layer '{layer}' is not one coverkit writes")


def _read_layer(data: bytes, layer: str, source: Any) -> pd.DataFrame:
    import pyogrio

    try:
        with warnings.catch_warnings():
            # GDAL warns about the in-memory copy's file name; a hostile file's
            # warnings say nothing the checks below do not.
            warnings.simplefilter("ignore", RuntimeWarning)
            return pyogrio.read_dataframe(io.BytesIO(data), layer=layer, fid_as_index=False)
    except Exception as exc:  # untrusted file: every GDAL/pyogrio failure means "damaged"
        raise _bad(source, f"layer '{layer}' cannot be read ({_reason(exc)})") from exc


def read_table(data: bytes, spec: dict[str, Any], *, source: Any = TABLES_FILE) -> pd.DataFrame:
    """Rebuild a table written by :func:`save_table` from the GeoPackage's bytes.

    Parameters
    ----------
    data
        The whole GeoPackage file.
    spec
        The manifest entry :func:`save_table` returned.
    source
        The file's name or path, for messages.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        The table with its columns, order, dtypes, index and CRS.

    Raises
    ------
    InputFileError
        If the layer is missing, damaged or does not match ``spec``.
    """
    import geopandas as gpd

    layer = spec.get("layer") if isinstance(spec, dict) else None
    if not isinstance(layer, str):
        raise _bad(source, "a table in the manifest has no layer name")
    _check_spec(spec, source, layer)
    raw = _read_layer(data, layer, source)
    _check_fields(raw, spec, source, layer)
    index = _index_from(spec["index"], raw, source, layer)
    arrays, geometry = {}, None
    for k, entry in enumerate(spec["columns"]):
        if entry.get("dtype") == "geometry":
            geometry = k
            arrays[k] = raw.geometry.values
        else:
            where = f"layer '{layer}' column {entry['field']}"
            arrays[k] = _decode_column(raw[entry["field"]], entry, source, where)
    try:
        labels = [decode_value(c.get("name")) for c in spec["columns"]]
        columns = pd.Index(labels, dtype=_dtype_from_token(spec.get("columns_dtype")))
        columns.name = decode_value(spec.get("columns_name"))
        crs = _crs_from(spec.get("crs"))
    except (TypeError, ValueError) as exc:
        raise _bad(source, f"the manifest entry of layer '{layer}' is damaged ({exc})") from exc
    # Series with explicit dtypes: pandas would turn object arrays of strings into str
    series = {k: pd.Series(a, index=index, dtype=a.dtype, copy=False) for k, a in arrays.items()}
    frame = pd.DataFrame(series, index=index) if series else pd.DataFrame(index=index)
    frame.columns = columns
    if spec["kind"] == "DataFrame":
        return frame
    if geometry is None:
        return gpd.GeoDataFrame(frame)
    return gpd.GeoDataFrame(frame, geometry=columns[geometry], crs=crs)


# ------------------------------------------------------------------ CRS and rasters


def _crs_entry(crs: Any) -> dict[str, str] | None:
    if crs is None:
        return None
    kind = "rasterio" if type(crs).__module__.startswith("rasterio") else "pyproj"
    return {"type": kind, "wkt": crs.to_wkt()}


def _crs_from(entry: Any) -> Any:
    """The CRS a manifest entry names (None stays None); ValueError if it is not a CRS."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("wkt"), str):
        raise ValueError("a CRS entry without WKT")
    try:
        if entry.get("type") == "rasterio":
            from rasterio.crs import CRS

            return CRS.from_wkt(entry["wkt"])
        from pyproj import CRS

        return CRS.from_wkt(entry["wkt"])
    except Exception as exc:  # pyproj/rasterio raise their own error types for bad WKT
        raise ValueError(f"a CRS that cannot be read ({exc})") from exc


def _write_raster(path: Path, array: np.ndarray, *, transform: Any, crs: Any) -> dict[str, Any]:
    import rasterio

    token = array.dtype.name
    if token not in _RASTER_DTYPES or array.ndim != 2 or 0 in array.shape:
        raise TypeError(f"a {array.dtype} array of shape {array.shape} cannot be saved")
    with (
        rasterio.Env(GDAL_PAM_ENABLED="NO"),
        rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=array.shape[1],
            height=array.shape[0],
            count=1,
            dtype=_RASTER_DTYPES[token],
            transform=transform,
            crs=crs.to_wkt() if crs is not None else None,
            **geotiff_options(_RASTER_DTYPES[token]),
        ) as dst,
    ):
        dst.write(array.astype(_RASTER_DTYPES[token], copy=False), 1)
    return {"file": path.name, "dtype": token, "shape": list(array.shape)}


def _raster_shape(spec: Any, source: Any) -> tuple[tuple[int, int], str]:
    ok = (
        isinstance(spec, dict)
        and spec.get("dtype") in _RASTER_DTYPES
        and isinstance(spec.get("shape"), list)
        and len(spec["shape"]) == 2
        and all(type(n) is int and n > 0 for n in spec["shape"])
    )
    if not ok:
        raise _bad(source, "the manifest entry of this raster is not one coverkit writes")
    rows, cols = spec["shape"]
    if rows * cols > MAX_RASTER_CELLS:
        raise _bad(
            source,
            f"the manifest gives it {rows} × {cols} cells, more than the "
            f"{MAX_RASTER_CELLS:,} a county plan can have",
        )
    return (rows, cols), spec["dtype"]


def _read_raster(data: bytes, spec: Any, source: Any) -> np.ndarray:
    """The band of a one-band GeoTIFF, checked against its manifest entry before reading."""
    from rasterio.io import MemoryFile

    shape, token = _raster_shape(spec, source)
    stored = _RASTER_DTYPES[token]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. NotGeoreferencedWarning of a hostile file
            with MemoryFile(data) as mem, mem.open() as ds:
                if ds.driver != "GTiff" or ds.count != 1 or ds.shape != shape:
                    raise _bad(source, f"is not the one-band {shape} GeoTIFF the manifest lists")
                if ds.dtypes[0] != stored:
                    raise _bad(source, f"holds {ds.dtypes[0]} cells, not {stored}")
                band = ds.read(1)
    except InputFileError:
        raise
    except Exception as exc:  # untrusted file: every GDAL failure means "damaged"
        raise _bad(source, f"cannot be read as a GeoTIFF ({_reason(exc)})") from exc
    if token == "bool":
        if not np.isin(band, (0, 1)).all():
            raise _bad(source, "holds values other than 0 and 1")
        return band.astype(bool)
    return band


# ------------------------------------------------------------------ files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_bytes(path: Path, limit: int, *, missing: str) -> bytes:
    """Read a regular file (no symlink, FIFO or device) of at most ``limit`` bytes."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise InputFileError(f"{path} {missing}") from None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})") from exc
    if stat.S_ISLNK(st.st_mode):
        raise _bad(path, "is a symbolic link; a plan folder holds only plain files")
    if not stat.S_ISREG(st.st_mode):
        raise _bad(path, "is not a plain file")
    if st.st_size > limit:
        raise _bad(path, f"is {st.st_size:,} bytes, more than the {limit:,} a plan file has")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})") from exc


def _read_members(folder: Path, files: Any, manifest: Path) -> dict[str, bytes]:
    """Every data file the manifest lists, checked for name, type, size and SHA-256."""
    if not isinstance(files, dict):
        raise _bad(manifest, "'files' is not a mapping of file names")
    blobs = {}
    for name, entry in files.items():
        if not _SAFE_NAME.fullmatch(name) or name == MANIFEST:
            raise _bad(manifest, f"it lists the file {name!r:.80}, which is not a plain file name")
        ok = (
            isinstance(entry, dict)
            and type(entry.get("bytes")) is int
            and isinstance(entry.get("sha256"), str)
        )
        if not ok:
            raise _bad(manifest, f"the entry of {name} has no size and SHA-256")
        path = folder / name
        if entry["bytes"] > MAX_FILE_BYTES:
            raise _bad(path, f"the manifest gives it {entry['bytes']:,} bytes, too many")
        data = _read_bytes(path, entry["bytes"], missing=f"is missing from the plan; {_RERUN}")
        if len(data) != entry["bytes"]:
            raise _bad(path, f"is {len(data):,} bytes, the manifest says {entry['bytes']:,}")
        if _sha256(data) != entry["sha256"]:
            raise _bad(path, "does not match its SHA-256 in the manifest (changed or damaged)")
        blobs[name] = data
    return blobs


def _member(blobs: dict[str, bytes], spec: Any, manifest: Path) -> tuple[bytes, Path]:
    name = spec.get("file") if isinstance(spec, dict) else None
    if not isinstance(name, str) or name not in blobs:
        raise _bad(manifest, f"it names the data file {name!r:.80}, which it does not list")
    return blobs[name], manifest.parent / name


def _dir_mode() -> int:
    """The mode ``mkdir`` would give under the current umask (mkdtemp gives 0o700)."""
    mode = shared_file_mode()
    return mode | ((mode & 0o444) >> 2)


def replace_plan(staged: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Move a complete plan folder to ``target``, replacing any plan already there.

    Parameters
    ----------
    staged
        A plan folder :func:`save_plan` wrote, on the same file system as ``target``.
    target
        Where it belongs (``<report folder>/plan``).

    Returns
    -------
    Path
        ``target``.

    Notes
    -----
    The old plan is first renamed aside, the new one renamed in, then the old
    one removed; if the second rename fails the old plan is put back.
    """
    staged, target = Path(staged), Path(target)
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.old-{secrets.token_hex(6)}")
        os.rename(target, old)
    try:
        os.rename(staged, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    return target


# ------------------------------------------------------------------ the plan


def table_fields() -> tuple[str, ...]:
    """Names of the :class:`~coverkit.plan.CountyPlan` fields that hold tables, in order."""
    from coverkit.plan import CountyPlan

    return tuple(f.name for f in dataclasses.fields(CountyPlan) if f.name not in _NOT_TABLES)


def _write_files(plan: CountyPlan, folder: Path) -> dict[str, Any]:
    """Write the data files of ``plan`` into ``folder``; return the manifest's data part."""
    tables: dict[str, Any] = {}
    for name in table_fields():
        df = getattr(plan, name)
        try:
            table = None if df is None else save_table(df, folder / TABLES_FILE, layer=name)
        except TypeError as exc:
            raise OutputError(f"cannot save the table '{name}' of the plan: {exc}") from exc
        tables[name] = None if table is None else {**table, "file": TABLES_FILE}
    population, rasters_part = _write_rasters(plan, folder)
    return {"tables": tables, "population": population, "rasters": rasters_part}


def _write_rasters(plan: CountyPlan, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the population grid and the plan's rasters; their manifest entries."""
    grid = plan.population
    geo = {"transform": grid.transform, "crs": grid.crs}
    try:
        population = {
            "values": _write_raster(folder / "population.tif", grid.values, **geo),
            "mask": _write_raster(folder / "population_mask.tif", grid.mask, **geo),
            "transform": [float(v) for v in list(grid.transform)[:6]],
            "crs": _crs_entry(grid.crs),
            "total": encode_value(grid.total),
            "source": str(grid.source),
            "coverage": encode_value(float(grid.coverage)),
        }
        rasters = {
            name: _write_raster(folder / f"{name}.tif", getattr(plan, name), **geo)
            for name in _RASTERS
        }
    except TypeError as exc:
        raise OutputError(f"cannot save the rasters of the plan: {exc}") from exc
    return population, rasters


def _manifest(plan: CountyPlan, data: dict[str, Any], folder: Path) -> dict[str, Any]:
    from coverkit import __version__

    files = {}
    for path in sorted(folder.iterdir()):
        blob = path.read_bytes()
        files[path.name] = {"bytes": len(blob), "sha256": _sha256(blob)}
    params = {
        f.name: encode_value(getattr(plan.params, f.name)) for f in dataclasses.fields(plan.params)
    }
    try:
        summary = encode_value(dict(plan.summary))
    except TypeError as exc:
        raise OutputError(f"cannot save the plan summary: {exc}") from exc
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "coverkit_version": __version__,
        "county_id": str(plan.county_id),
        "county_name": str(plan.county_name),
        "eligible": bool(plan.eligible),
        "params": params,
        "summary": summary,
        "notes": [str(n) for n in plan.notes],
        "files": files,
        **data,
    }


def save_plan(plan: CountyPlan, folder: str | os.PathLike[str]) -> Path:
    """Save a finished plan so ``coverkit map`` / ``coverkit report`` can redraw it.

    Parameters
    ----------
    plan
        The plan.
    folder
        The report folder; the plan goes into ``<folder>/plan/`` (see the
        module docstring for its files). An existing ``plan/`` is replaced.

    Returns
    -------
    Path
        The plan folder written.

    Raises
    ------
    OutputError
        If the folder cannot be written or the plan holds values this format
        cannot keep. Nothing is left half-written: the files are written into a
        temporary folder beside the target and renamed into place.
    """
    folder = Path(folder)
    make_folder(folder)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{PLAN_DIR}-", suffix=".tmp", dir=folder))
    except OSError as exc:
        raise OutputError(
            f"cannot write into {folder} ({exc.strerror}); choose another folder"
        ) from exc
    try:
        data = _write_files(plan, staging)
        manifest = _manifest(plan, data, staging)
        (staging / MANIFEST).write_text(_dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.chmod(staging, _dir_mode())
        return replace_plan(staging, folder / PLAN_DIR)
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(
            f"cannot write the plan into {folder / PLAN_DIR} ({exc.strerror or exc}); check "
            "space and permissions, or choose another folder"
        ) from exc
    except Exception as exc:  # GDAL's writers raise their own error types
        if isinstance(exc, TypeError | ValueError | KeyError | AttributeError):
            raise
        raise OutputError(
            f"cannot write the plan into {folder / PLAN_DIR} ({_reason(exc)}); check space "
            "and permissions, or choose another folder"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _old_pickle(path: Path) -> InputFileError:
    return InputFileError(
        f"{path} is a plan saved by an older coverkit as a Python pickle, which coverkit no "
        f"longer opens because a pickle can run any code on this computer; {_RERUN} to save "
        f"the plan in the new format (a {PLAN_DIR}/ folder)"
    )


def _locate(path: Path) -> Path:
    """The manifest of the plan at ``path`` (report folder, plan folder or manifest)."""
    if path.name == OLD_PICKLE and (path.is_file() or path.is_symlink()):
        raise _old_pickle(path)
    if path.is_dir():
        if (path / PLAN_DIR).is_symlink():
            raise _bad(path / PLAN_DIR, "is a symbolic link; a plan folder holds only plain files")
        for candidate in (path / MANIFEST, path / PLAN_DIR / MANIFEST):
            if os.path.lexists(candidate):
                return candidate
        if os.path.lexists(path / OLD_PICKLE):
            raise _old_pickle(path / OLD_PICKLE)
        raise InputFileError(
            f"no plan in {path}; run `coverkit plan` first (it writes {PLAN_DIR}/ into the "
            "report folder outputs/<county>/) and give that folder"
        )
    if path.name == MANIFEST and os.path.lexists(path):
        return path
    if not os.path.lexists(path):
        raise InputFileError(f"no plan at {path}; give the report folder outputs/<county>/")
    raise InputFileError(
        f"{path} is not a coverkit plan; give the report folder outputs/<county>/ "
        f"or its {PLAN_DIR}/ folder"
    )


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest, checked to be a coverkit plan manifest of a version this code reads."""
    raw = _read_bytes(path, MAX_MANIFEST_BYTES, missing=f"is missing; {_RERUN}")
    try:
        manifest = _loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(
            f"{path} is not a coverkit plan manifest (not JSON: {exc}); give the report "
            f"folder `coverkit plan` wrote, or {_RERUN}"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise InputFileError(
            f'{path} is not a coverkit plan manifest (no "format": "{FORMAT_NAME}"); give '
            f"the report folder `coverkit plan` wrote, or {_RERUN}"
        )
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise _bad(path, f"the plan format version {version!r:.40} is not one coverkit knows")
    if version > FORMAT_VERSION:
        raise InputFileError(
            f"{path} was written by coverkit {str(manifest.get('coverkit_version'))[:40]} in "
            f"plan format {version}, newer than this coverkit reads ({FORMAT_VERSION}); "
            f"upgrade coverkit (pip install -U coverkit) or {_RERUN} with this version"
        )
    expected = {
        "county_id": str, "county_name": str, "eligible": bool, "params": dict,
        "notes": list, "files": dict, "tables": dict, "population": dict, "rasters": dict,
    }  # fmt: skip
    for key, kind in expected.items():
        if key not in manifest:
            raise _bad(path, f"the manifest has no '{key}'")
        if not isinstance(manifest[key], kind):
            raise _bad(path, f"'{key}' in the manifest is not a {kind.__name__}")
    if "summary" not in manifest or not all(isinstance(n, str) for n in manifest["notes"]):
        raise _bad(path, "the manifest has no 'summary', or 'notes' are not all text")
    return manifest


def _params_from(data: dict[str, Any], source: Path) -> Any:
    from coverkit.plan import PlanParameters

    fields = {f.name: f for f in dataclasses.fields(PlanParameters)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise _bad(source, f"the parameters {', '.join(unknown)[:200]} are unknown")
    values = {}
    for name, raw in data.items():
        value = decode_value(raw)
        field = fields[name]
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        if isinstance(default, enum.Enum) and isinstance(value, str):
            try:
                value = type(default)(value)
            except ValueError:
                raise _bad(source, f"the parameter {name} has an unknown value") from None
        kind = (int, float) if isinstance(default, float) else type(default)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise _bad(source, f"the parameter {name} is not a {type(default).__name__}")
        values[name] = value
    return PlanParameters(**values)


def _raster_from(blobs: dict[str, bytes], spec: Any, manifest: Path) -> np.ndarray:
    data, source = _member(blobs, spec, manifest)
    return _read_raster(data, spec, source)


def _population_from(spec: dict[str, Any], blobs: dict[str, bytes], manifest: Path) -> Any:
    from affine import Affine

    from coverkit.io import PopulationGrid

    values = _raster_from(blobs, spec.get("values"), manifest)
    mask = _raster_from(blobs, spec.get("mask"), manifest)
    transform = spec.get("transform")
    ok = (
        values.shape == mask.shape
        and isinstance(transform, list)
        and len(transform) == 6
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in transform)
        and all(math.isfinite(v) for v in transform)
        and isinstance(spec.get("source"), str)
    )
    if not ok:
        raise _bad(manifest, "the population grid's entry is not one coverkit writes")
    try:
        crs = _crs_from(spec.get("crs"))
        total = decode_value(spec.get("total"))
        coverage = decode_value(spec.get("coverage", 1.0))
    except ValueError as exc:
        raise _bad(manifest, f"the population grid's entry is damaged ({exc})") from exc
    if not isinstance(total, float | int) or isinstance(total, bool):
        raise _bad(manifest, "the population total is not a number")
    share = isinstance(coverage, float | int) and not isinstance(coverage, bool)
    if not share or not 0 <= coverage <= 1:
        raise _bad(manifest, "the population grid's coverage is not a share from 0 to 1")
    return PopulationGrid(
        values=values,
        mask=mask,
        transform=Affine(*transform),
        crs=crs,
        total=total,
        source=spec["source"],
        coverage=float(coverage),
    )


def _tables_from(manifest: dict[str, Any], blobs: dict[str, bytes], path: Path) -> dict[str, Any]:
    from coverkit.plan import CountyPlan

    optional = {
        f.name for f in dataclasses.fields(CountyPlan) if f.default is not dataclasses.MISSING
    }
    specs = manifest["tables"]
    unknown = sorted(set(specs) - set(table_fields()))
    if unknown:
        raise _bad(path, f"the manifest lists unknown tables ({', '.join(unknown)[:200]})")
    layers = _layers(blobs, specs, path)
    tables = {}
    for name in table_fields():
        spec = specs.get(name)
        if spec is None and (name in optional or name in specs):
            if name not in optional:
                raise _bad(path, f"the table '{name}' is empty in the manifest but required")
            tables[name] = None
            continue
        if not isinstance(spec, dict) or spec.get("layer") != name:
            raise _bad(path, f"the manifest has no entry for the table '{name}'")
        data, source = _member(blobs, spec, path)
        if name not in layers.get(source.name, ()):
            raise _bad(source, f"has no layer '{name}'")
        tables[name] = read_table(data, spec, source=source)
    return tables


def _layers(blobs: dict[str, bytes], specs: dict[str, Any], manifest: Path) -> dict[str, set]:
    """Layers of each GeoPackage the tables use; one with other layers is foreign."""
    import pyogrio

    wanted: dict[str, set[str]] = {}
    for name, spec in specs.items():
        if isinstance(spec, dict):
            wanted.setdefault(_member(blobs, spec, manifest)[1].name, set()).add(name)
    found = {}
    for file, names in wanted.items():
        source = manifest.parent / file
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # see _read_layer
                found[file] = {str(row[0]) for row in pyogrio.list_layers(io.BytesIO(blobs[file]))}
        except Exception as exc:  # untrusted file: any GDAL failure means "not a GeoPackage"
            raise _bad(source, f"is not a readable GeoPackage ({_reason(exc)})") from exc
        if found[file] != names:
            raise _bad(
                source,
                f"is not the GeoPackage coverkit wrote: it has the layers "
                f"{sorted(found[file])[:8]}, not the {len(names)} the manifest lists",
            )
        _check_schema(pyogrio, blobs[file], names, source)
    return found


def _check_schema(pyogrio: Any, data: bytes, layers: set[str], source: Path) -> None:
    """Refuse a GeoPackage with SQL triggers or views other than those GDAL writes.

    GDAL writes the GeoPackage standard's checks on ``gpkg_tile_matrix`` and a
    row counter per layer; reading never fires a trigger, but a file holding
    others was not written by coverkit.
    """
    ours = {f"trigger_{op}_feature_count_{name}" for name in layers for op in ("insert", "delete")}
    columns = ("zoom_level", "matrix_width", "matrix_height", "pixel_x_size", "pixel_y_size")
    ours |= {f"gpkg_tile_matrix_{c}_{op}" for c in columns for op in ("insert", "update")}
    sql = "SELECT type, name FROM sqlite_master WHERE type IN ('trigger', 'view')"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            found = pyogrio.read_dataframe(io.BytesIO(data), sql=sql)
    except Exception as exc:  # untrusted file: any GDAL failure means "not a GeoPackage"
        raise _bad(source, f"is not a readable GeoPackage ({_reason(exc)})") from exc
    foreign = sorted(
        f"{kind} {name}"[:60]
        for kind, name in zip(found["type"], found["name"], strict=True)
        if kind != "trigger" or name not in ours
    )
    if foreign:
        raise _bad(
            source,
            f"holds SQL {', '.join(foreign[:3])}, which coverkit never writes (a foreign or "
            "tampered file)",
        )


def _check_listed(manifest: dict[str, Any], path: Path) -> None:
    """Every file the manifest lists is one a table or raster uses (checked before reading)."""
    specs = [*manifest["tables"].values(), *manifest["rasters"].values()]
    specs += [manifest["population"].get("values"), manifest["population"].get("mask")]
    used = {spec.get("file") for spec in specs if isinstance(spec, dict)}
    extra = sorted(str(name)[:40] for name in manifest["files"] if name not in used)
    if extra:
        raise _bad(path, f"it lists files no table or raster uses ({', '.join(extra[:3])})")


def read_plan(path: str | os.PathLike[str]) -> CountyPlan:
    """Read a plan written by :func:`save_plan`, checking every file before using it.

    Parameters
    ----------
    path
        The report folder (``outputs/<county>/``), its ``plan/`` folder, or the
        ``manifest.json`` in it.

    Returns
    -------
    CountyPlan
        The plan as it was saved: same tables (columns, order, dtypes, index,
        CRS, geometry), rasters, parameters, summary and notes.

    Raises
    ------
    InputFileError
        One line naming the file and what to do, if there is no plan, it is an
        old ``plan.pickle`` (never opened: a pickle can run code), the manifest
        is not a coverkit manifest of a known version, a data file is missing,
        not a plain file in the plan folder, too large, changed (SHA-256) or
        does not hold what the manifest lists.
    """
    from coverkit.plan import CountyPlan

    manifest_path = _locate(Path(path))
    manifest = _read_manifest(manifest_path)
    _check_listed(manifest, manifest_path)
    blobs = _read_members(manifest_path.parent, manifest["files"], manifest_path)
    tables = _tables_from(manifest, blobs, manifest_path)
    population = _population_from(manifest["population"], blobs, manifest_path)
    rasters = {
        name: _raster_from(blobs, manifest["rasters"].get(name), manifest_path) for name in _RASTERS
    }
    try:
        params = _params_from(manifest["params"], manifest_path)
        summary = decode_value(manifest["summary"])
    except ValueError as exc:
        raise _bad(
            manifest_path, f"the manifest holds a value coverkit did not write ({exc})"
        ) from exc
    if not isinstance(summary, dict):
        raise _bad(manifest_path, "'summary' in the manifest is not a mapping")
    return CountyPlan(
        county_id=manifest["county_id"],
        county_name=manifest["county_name"],
        params=params,
        population=population,
        eligible=manifest["eligible"],
        summary=summary,
        notes=list(manifest["notes"]),
        **rasters,
        **tables,
    )
