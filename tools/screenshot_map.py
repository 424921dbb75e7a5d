"""Write a PNG screenshot of a saved coverkit map with headless Chromium.

Usage::

    python tools/screenshot_map.py MAP.html OUT.png [--width 1400 --height 1000]

The browser runs offline-friendly (no background networking, throw-away
profile) and waits a virtual 5 s for Leaflet to draw.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    for name in ("/usr/bin/chromium", *CANDIDATES):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_args(profile: str) -> list[str]:
    """Flags for a headless, sandbox-free, network-quiet run with a temporary profile."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
    ]


def screenshot(
    html_path: str | Path,
    png_path: str | Path,
    *,
    width: int = 1400,
    height: int = 1000,
    timeout_s: float = 120.0,
) -> Path:
    """Render ``html_path`` and write a ``width`` × ``height`` PNG to ``png_path``.

    Parameters
    ----------
    html_path
        The map HTML file.
    png_path
        Output PNG.
    width, height
        Window size in pixels.
    timeout_s
        Give up after this many seconds.

    Returns
    -------
    Path
        The PNG written.
    """
    exe = find_chromium()
    if exe is None:
        raise SystemExit("Chromium not found; install it (apt-get install chromium)")
    html_path = Path(html_path).resolve()
    png_path = Path(png_path).resolve()
    with tempfile.TemporaryDirectory(prefix="ck-chromium-") as profile:
        cmd = [
            exe,
            *chromium_args(profile),
            f"--window-size={width},{height}",
            f"--screenshot={png_path}",
            html_path.as_uri(),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout_s)
    if not png_path.exists():
        raise SystemExit(f"Chromium wrote no screenshot to {png_path}")
    return png_path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html")
    parser.add_argument("png")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args(argv)
    out = screenshot(args.html, args.png, width=args.width, height=args.height)
    sys.stdout.write(f"{out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
