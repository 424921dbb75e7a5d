"""Helpers of the fault-injection tests: snapshots, a small output set, a process with a fault.

``python tests/bad_inputs/faultkit.py cli ARGS...`` runs ``coverkit ARGS`` and
``... faultkit.py small BASE`` commits :func:`small_new_set` into ``BASE``,
both with a fault at the ``FAULT_STEP``-th commit rename (a rename into or out
of a ``.coverkit-run-*`` staging folder, or the journal becoming
``committed.json``): ``FAULT_ACTION`` is ``kill`` (SIGKILL before the rename),
``SIGINT``/``SIGTERM`` (sent from another thread, then the rename goes on) or
``raise`` (the rename fails with EIO).
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file ('dir' for folders), hidden ones included."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "link"
        elif path.is_dir():
            out[rel] = "dir"
        elif not path.is_file():
            out[rel] = "special"  # a FIFO: never opened
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def leftovers(folder: Path) -> list[str]:
    """Staging folders and temporary files anywhere under ``folder``."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.name.startswith(".coverkit-run-") or p.name.endswith(".tmp") or ".old-" in p.name
    )


def small_old_set(base: Path) -> dict[str, str]:
    """An earlier run's outputs in ``base``: three files, a plan folder, a map, a pickle."""
    (base / "out" / "plan").mkdir(parents=True)
    (base / "maps").mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (base / "out" / name).write_text(f"old {name}\n", encoding="utf-8")
    (base / "out" / "plan" / "m.json").write_text("old plan\n", encoding="utf-8")
    (base / "out" / "plan.pickle").write_bytes(b"old pickle")
    (base / "out" / "mine.txt").write_text("the user's own file\n", encoding="utf-8")
    (base / "maps" / "x.html").write_text("old map\n", encoding="utf-8")
    return snapshot(base)


def small_new_set(base: Path) -> Callable[[Path], dict]:
    """A stage callback writing the next run's version of :func:`small_old_set`."""

    def stage(staging: Path) -> dict:
        moves: dict = {}
        for name in ("a.txt", "b.txt", "c.txt"):
            (staging / name).write_text(f"new {name}\n", encoding="utf-8")
            moves[name] = (base / "out" / name, staging / name)
        (staging / "plan").mkdir()
        (staging / "plan" / "m.json").write_text("new plan\n", encoding="utf-8")
        moves["plan"] = (base / "out" / "plan", staging / "plan")
        (staging / "map.html").write_text("new map\n", encoding="utf-8")
        moves["map"] = (base / "maps" / "x.html", staging / "map.html")
        moves["pickle"] = (base / "out" / "plan.pickle", None)
        return moves

    return stage


def expected_new_set(old: dict[str, str]) -> dict[str, str]:
    """What :func:`small_new_set` committed over :func:`small_old_set` gives."""
    new = dict(old)
    del new["out/plan.pickle"]
    for rel, text in [
        ("out/a.txt", "new a.txt\n"),
        ("out/b.txt", "new b.txt\n"),
        ("out/c.txt", "new c.txt\n"),
        ("out/plan/m.json", "new plan\n"),
        ("maps/x.html", "new map\n"),
    ]:
        new[rel] = hashlib.sha256(text.encode()).hexdigest()
    return new


def is_commit_step(src: object, dst: object) -> bool:
    """A rename that moves an output in or out of staging, or marks the commit done."""
    a, b = os.fspath(src), os.fspath(dst)  # type: ignore[arg-type]
    return ((".coverkit-run-" in a) != (".coverkit-run-" in b)) or b.endswith("committed.json")


def install_fault(step: int, action: str) -> None:
    """Patch os.rename/os.replace so the ``step``-th commit step meets ``action``."""
    real = {"rename": os.rename, "replace": os.replace}
    count = [0]

    def fire() -> None:
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "raise":
            raise OSError(errno.EIO, "injected failure")
        sender = threading.Thread(target=os.kill, args=(os.getpid(), getattr(signal, action)))
        sender.start()
        sender.join()

    def wrap(name: str) -> Callable[..., None]:
        def moved(src: object, dst: object, *args: object, **kwargs: object) -> None:
            if is_commit_step(src, dst):
                count[0] += 1
                if count[0] == step:
                    fire()
            return real[name](src, dst, *args, **kwargs)

        return moved

    os.rename = wrap("rename")  # type: ignore[assignment]
    os.replace = wrap("replace")  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    """Run coverkit or the small commit with the fault the environment names."""
    install_fault(int(os.environ.get("FAULT_STEP", "0")), os.environ.get("FAULT_ACTION", "none"))
    if argv[0] == "small":
        from coverkit.atomic import write_together

        base = Path(argv[1])
        write_together(base, small_new_set(base))
        return 0
    from coverkit.cli.main import main as cli

    return cli(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
