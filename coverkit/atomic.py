"""Write outputs atomically: to a temporary file beside the target, then move it in place.

A run that fails or is interrupted never leaves a half-written output behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from coverkit.errors import OutputError


def shared_file_mode() -> int:
    """The mode a plain ``open()`` would give a new file under the current umask.

    :func:`tempfile.mkstemp` creates files readable by their owner only; outputs
    are meant to be shared, so they get the usual mode before being moved in.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str], *, create: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success move it to ``final``.

    Parameters
    ----------
    final
        The output path.
    create
        Leave the (empty) temporary file in place; ``False`` removes it first
        for writers that must create the file themselves (GDAL).

    Yields
    ------
    Path
        Where to write. On any exception it is removed and ``final`` is untouched.
    """
    final = Path(final)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    if not create:
        tmp.unlink()
    try:
        yield tmp
        os.chmod(tmp, shared_file_mode())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_folder(folder: str | os.PathLike[str]) -> None:
    """Create ``folder`` and its parents, or raise one clear :class:`OutputError` line."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder '{folder}' ({exc.strerror}); choose another with --out"
        ) from exc
