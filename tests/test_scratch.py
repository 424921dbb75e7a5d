"""Large arrays on a scratch file (coverkit.scratch): same contents, no trace, clear refusals."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from coverkit import scratch, settings
from coverkit.config import read_setting
from coverkit.errors import ConfigError, OutputError


def test_a_small_array_stays_in_memory(monkeypatch):
    monkeypatch.setattr(settings, "in_memory_max_mb", 1.0)
    a = scratch.large_array((100, 20), np.float32, what="test matrix")
    assert type(a) is np.ndarray
    assert (a.shape, a.dtype) == ((100, 20), np.float32)


def test_a_large_array_is_mapped_on_a_file_that_leaves_no_trace(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "in_memory_max_mb", 0.01)  # 10 KiB
    monkeypatch.setattr(settings, "scratch_dir", str(tmp_path))
    a = scratch.large_array((3000, 7), np.float64, what="test matrix")  # 168,000 bytes
    assert isinstance(a, np.memmap)
    assert list(tmp_path.iterdir()) == []  # the file has no name from the start
    want = np.arange(21000, dtype=np.float64).reshape(3000, 7) / 7
    a[:] = want
    a.flags.writeable = False
    np.testing.assert_array_equal(a, want)
    assert float(a[:, 3].min()) == want[:, 3].min()  # numpy reads it like any array
    del a
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_refused_up_front_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "in_memory_max_mb", 0.01)
    monkeypatch.setattr(settings, "scratch_dir", str(tmp_path))

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full, raising=False)
    with pytest.raises(OutputError) as err:
        scratch.large_array((3000, 7), np.float64, what="travel-time matrix")
    msg = str(err.value)
    assert "\n" not in msg
    for part in ("travel-time matrix", str(tmp_path), "scratch_dir"):
        assert part in msg
    assert list(tmp_path.iterdir()) == []


def test_a_missing_scratch_folder_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "in_memory_max_mb", 0.01)
    monkeypatch.setattr(settings, "scratch_dir", str(tmp_path / "no\nwhere\x01"))
    with pytest.raises(OutputError, match="cannot create a scratch file in") as err:
        scratch.large_array((3000, 7), np.float64, what="travel-time matrix")
    assert "\n" not in str(err.value)  # the folder's control characters are shown escaped
    assert "no\\nwhere\\x01" in str(err.value)


def test_scratch_dir_is_a_setting_checked_as_a_path():
    assert read_setting("scratch_dir", "/data/tmp") == ("scratch_dir", "/data/tmp")
    with pytest.raises(ConfigError, match="NUL"):
        read_setting("scratch_dir", "a\0b")
    assert read_setting("in_memory_max_mb", 512) == ("in_memory_max_mb", 512.0)


def test_a_plan_on_a_mapped_matrix_is_the_plan_in_memory(monkeypatch, tmp_path):
    # Mwali, p = 1: the whole plan once as usual, once as the largest counties run it
    # (every working array above 1 KiB memory-mapped, the road index freed after the
    # cells and rebuilt for the villages); the summaries and tables must be equal
    from coverkit.api import RunConfig, run_plan

    def plan(out):
        run = run_plan(RunConfig(county="Mwali", subcentres=(1,), out=str(out)))
        return run.plan

    in_memory = plan(tmp_path / "a")
    monkeypatch.setattr(settings, "in_memory_max_mb", 0.001)
    monkeypatch.setattr(settings, "scratch_dir", str(tmp_path))
    monkeypatch.setattr(settings, "snap_index_free_min_cells", 0)  # freed, rebuilt for villages
    mapped = plan(tmp_path / "b")
    assert mapped.summary == in_memory.summary
    assert mapped.coverage.equals(in_memory.coverage)
    assert mapped.siting.drop(columns="solve_time_s").equals(
        in_memory.siting.drop(columns="solve_time_s")
    )
    np.testing.assert_array_equal(mapped.time_after_min, in_memory.time_after_min)
    assert mapped.villages.drop(columns="geometry").equals(
        in_memory.villages.drop(columns="geometry")
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no scratch file left
