"""Nothing partial: a run that fails or is interrupted leaves the output folder as it was."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import coverkit.report
from coverkit.api import run_plan
from coverkit.config import RunConfig
from coverkit.errors import OutputError

REPO = Path(__file__).resolve().parents[2]


def _snapshot(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file (and 'dir' for folders), hidden ones included."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _previous_run(out: Path) -> dict[str, str]:
    """An output folder holding files of an earlier run (stand-ins with known content)."""
    (out / "outputs" / "Mwali").mkdir(parents=True)
    (out / "maps").mkdir()
    (out / "outputs" / "Mwali" / "report.md").write_text("old report\n", encoding="utf-8")
    (out / "outputs" / "Mwali" / "villages.csv").write_text("id\nold\n", encoding="utf-8")
    (out / "maps" / "Mwali.html").write_text("<html>old</html>\n", encoding="utf-8")
    return _snapshot(out)


def test_failure_while_writing_leaves_folder_as_it_was(tmp_path, monkeypatch):
    out = tmp_path / "out"
    before = _previous_run(out)

    def broken_gpkg(plan, path):
        raise OutputError(f"cannot write '{path}' (disk full); free some space")

    monkeypatch.setattr(coverkit.report, "_write_gpkg", broken_gpkg)
    with pytest.raises(OutputError, match=r"disk full"):
        run_plan(RunConfig(county="Mwali", roads="none", out=str(out)))
    assert _snapshot(out) == before


def test_failed_run_into_new_folder_creates_nothing(tmp_path, monkeypatch):
    out = tmp_path / "new" / "out"

    def broken_map(plan, path):
        raise OutputError("map broke; try again")

    monkeypatch.setattr("coverkit.maps.save_map", broken_map)
    with pytest.raises(OutputError, match="map broke"):
        run_plan(RunConfig(county="Mwali", roads="none", out=str(out)))
    assert not (tmp_path / "new").exists()


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("sig", "stage"),
    [(signal.SIGINT, "[3/5]"), (signal.SIGTERM, "[5/5]")],
    ids=["sigint-at-siting", "sigterm-at-writing"],
)
def test_interrupted_run_leaves_folder_as_it_was(tmp_path, sig, stage):
    out = tmp_path / "out"
    before = _previous_run(out)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "coverkit.cli.main", "plan", "--county", "Mwali", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        text=True,
        # a shell starts background jobs with SIGINT ignored, and Python keeps an
        # inherited SIG_IGN; give the child the default disposition Ctrl-C has
        preexec_fn=_default_signals,
    )
    seen = ""
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen += line
        if line.startswith(stage):
            proc.send_signal(sig)
            break
    _, rest = proc.communicate(timeout=60)
    err = seen + rest
    assert stage in seen, err
    assert proc.returncode == 130, err
    assert "coverkit: interrupted; outputs were left as they were" in err
    assert "Traceback" not in err
    assert _snapshot(out) == before  # same files, same bytes, no temporary leftovers
