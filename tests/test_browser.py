"""Load the saved fixture map in headless Chromium: markers drawn, payloads inert, not blank."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "tools"))

import plan_fixture as pf
import screenshot_map

from coverkit import maps

CHROMIUM = "/usr/bin/chromium"

if not Path(CHROMIUM).exists() and os.environ.get("COVERKIT_REQUIRE_BROWSER") == "1":
    # CI installs Chromium (.ci/run); there a missing browser is a failure, not a skip.
    raise RuntimeError("COVERKIT_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs headless Chromium at /usr/bin/chromium"
    ),
]


def _page_requests(page: Path, folder: Path) -> list[str]:
    """URLs the page itself asked the network for, from Chromium's NetLog.

    The network is made unreachable (a proxy on a closed loopback port), so any
    request would fail; Chromium's own background traffic has the initiator
    "not an origin" and is ignored.
    """
    netlog = folder / f"netlog-{page.stem}.json"
    cmd = [
        CHROMIUM,
        *screenshot_map.chromium_args(str(folder / f"profile-net-{page.stem}")),
        "--proxy-server=127.0.0.1:9",
        f"--log-net-log={netlog}",
        "--virtual-time-budget=3000",
        "--dump-dom",
        page.as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params", {})
        url = params.get("url", "")
        if (
            event["type"] == start
            and url
            and params.get("initiator") != "not an origin"
            and not url.startswith(("file:", "data:"))
        ):
            urls.append(url)
    return urls


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    return maps.save_map(pf.make_plan(), folder / "map.html"), folder


@pytest.fixture(scope="module")
def dom(saved):
    path, folder = saved
    cmd = [
        CHROMIUM,
        *screenshot_map.chromium_args(str(folder / "profile-dom")),
        "--dump-dom",
        path.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    text = done.stdout.decode("utf-8")
    # what Leaflet drew: the body up to the first script (the page's own source follows)
    body = text[text.index("<body") :]
    return body[: body.index("<script")]


def test_markers_and_layers_rendered(dom):
    # villages are SVG paths with their mode class
    for mode, n in pf.MODES.items():
        assert (
            len(re.findall(rf'<path class="ck-village ck-mode-{mode} leaflet-interactive"', dom))
            == n
        )
    # facilities as div icons (one per facility), the sub-centre ring, two township labels
    assert len(re.findall(r'<div class="ck-fac ck-', dom)) == pf.N_FACILITIES
    assert len(re.findall(r'<div class="ck-sub"', dom)) == 1
    assert len(re.findall(r'class="[^"]*\bck-label\b', dom)) == 2
    # the layer control lists all 11 overlays; 8 are on at start
    labels = re.findall(
        r'<input type="checkbox" class="leaflet-control-layers-selector"( checked="")?>', dom
    )
    assert len(labels) == 11
    # one raster drawn at start: travel time after
    assert len(re.findall(r'<img [^>]*class="[^"]*ck-raster', dom)) == 1


def test_injection_payloads_did_not_run(dom):
    assert "data-pwned" not in re.search(r"<body[^>]*>", dom).group(0)
    assert not re.search(r"<img[^>]+src=\"x\"", dom)
    # the township name is shown as text in its label
    assert "&quot;&gt;&lt;img src=x onerror=" in dom or '"&gt;&lt;img src=x onerror=' in dom


def _png_pixels(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        data = path.read_bytes()
        w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
        assert depth == 8
        assert ctype in (2, 6)
        chunks, pos = [], 8
        while pos < len(data):
            (n,) = struct.unpack(">I", data[pos : pos + 4])
            if data[pos + 4 : pos + 8] == b"IDAT":
                chunks.append(data[pos + 8 : pos + 8 + n])
            pos += 12 + n
        raw = zlib.decompress(b"".join(chunks))
        bpp = 4 if ctype == 6 else 3
        # filter bytes vary per row; only the first pixel row is unfiltered-safe, so
        # report filtered bytes: still all-equal iff the image is one colour.
        return np.frombuffer(raw, dtype=np.uint8).reshape(h, 1 + w * bpp)[:, 1:]
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_screenshot_not_blank(saved):
    path, folder = saved
    png = screenshot_map.screenshot(path, folder / "shot.png", width=900, height=700)
    pixels = _png_pixels(png)
    flat = pixels.reshape(-1, pixels.shape[-1])
    assert len(np.unique(flat, axis=0)) > 20  # many colours: rasters, markers, legend


def test_page_makes_no_network_request(saved):
    path, folder = saved
    assert _page_requests(path, folder) == []


def test_network_check_sees_an_external_script(saved):
    """Control: the same check catches a page that does load something remote."""
    _, folder = saved
    page = folder / "remote.html"
    page.write_text(
        '<html><head><script src="https://tiles.example.org/leaflet.js"></script></head>'
        "<body>x</body></html>",
        encoding="utf-8",
    )
    assert _page_requests(page, folder) == ["https://tiles.example.org/leaflet.js"]
