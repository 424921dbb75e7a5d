"""Offline Leaflet building blocks shared by the county map and the province overview.

Everything a coverkit map needs to open without a network: Leaflet's JS/CSS
(vendored in ``coverkit/assets/leaflet`` with its licence) inlined into the page
(:func:`inline_leaflet`), rasters as PNG data URIs (:func:`png_data_uri`), two
small folium elements that write Leaflet JS made here (:func:`element_classes`),
and the escaping that keeps user strings inert in HTML and inline JavaScript
(:func:`escape_html`, :func:`inline_json`). Public on purpose: the province
overview map (:mod:`coverkit.batch`) is built from the same blocks.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import struct
import zlib
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from coverkit.writers import html_text

if TYPE_CHECKING:
    import folium

#: Style sheet of the county map's own elements (title, legend, markers, labels).
MAP_CSS = """
.ck-title{position:fixed;top:10px;left:56px;z-index:1000;
 background:rgba(255,255,255,.93);padding:6px 14px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.35);font:14px/1.35 sans-serif;
 max-width:calc(100% - 560px);min-width:200px}
.ck-title b{font-size:16px}
.ck-legend{position:fixed;bottom:64px;left:10px;z-index:1000;background:rgba(255,255,255,.93);
 padding:8px 10px;border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.35);
 font:12px/1.3 sans-serif;max-height:calc(100% - 150px);overflow-y:auto}
.ck-legend h4{margin:6px 0 3px;font-size:12px}
.ck-legend .sw{display:inline-block;width:14px;height:10px;margin-right:5px;
 vertical-align:middle;border:1px solid #555}
.ck-legend .dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:5px;
 vertical-align:middle;border:1px solid #333}
.ck-legend .ln{display:inline-block;width:18px;margin-right:5px;vertical-align:middle}
.ck-fac{border:2px solid #fff;box-shadow:0 0 2px #000;box-sizing:border-box;color:#fff;
 font:bold 10px/1 sans-serif;text-align:center}
.ck-fac.ck-county_hospital{border-radius:3px}
.ck-fac.ck-central_centre,.ck-fac.ck-township_centre{border-radius:50%}
.ck-fac.ck-village_clinic{border-radius:50%;border-width:1px}
.ck-fac.ck-assumed{border-style:dashed;border-color:#000;opacity:.8}
.ck-sub{border-radius:50%;border:3px solid #f1c40f;background:rgba(241,196,15,.35);
 box-shadow:0 0 6px #000;box-sizing:border-box}
.ck-label{background:none;border:none;color:#222;font:bold 12px sans-serif;
 text-shadow:0 0 3px #fff,0 0 3px #fff;white-space:nowrap}
.ck-popup td{padding:1px 6px 1px 0;vertical-align:top}
.ck-raster{image-rendering:crisp-edges;image-rendering:pixelated}
.ck-title,.ck-legend,.ck-label,.leaflet-container{
 font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 "WenQuanYi Zen Hei",sans-serif}
"""


def escape_html(value: Any) -> str:
    """Escape a value for HTML that may also sit inside a JS string or template literal.

    Parameters
    ----------
    value
        Any value (user data); None gives ``""``.

    Returns
    -------
    str
        HTML-escaped text (quotes included) whose backticks, ``$`` and
        backslashes are entities too, so it cannot end a JavaScript string or
        template literal either; control characters and bidi overrides shown
        as visible escapes (:func:`coverkit.writers.html_text`).
    """
    return html_text(value).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def inline_json(value: Any) -> str:
    """JSON for an inline ``<script>``: no ``<``, ``>``, ``&`` that could end the script.

    Parameters
    ----------
    value
        A JSON-serialisable value.

    Returns
    -------
    str
        Compact JSON with sorted keys (deterministic), ``<``, ``>``, ``&`` and
        the JS line separators written as ``\\u`` escapes.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _palette(rgba: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The distinct colours of an image, sorted as ``np.unique(axis=0)`` sorts them
    (by red, green, blue, alpha), and each pixel's index into them (uint8); ``(None,
    None)`` for more than 256 colours.

    Each pixel is read as one big-endian 32-bit number, whose order is that of its
    bytes, and hashed (:func:`pandas.factorize`) instead of sorted.
    """
    import pandas as pd

    keys = rgba.reshape(-1, 4).view(">u4").reshape(-1).astype(np.uint32)
    codes, uniques = pd.factorize(keys, sort=False)
    if len(uniques) > 256:
        return None, None
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.uint8)
    rank[order] = np.arange(len(order), dtype=np.uint8)
    colours = np.asarray(uniques[order], dtype=">u4").view(np.uint8).reshape(-1, 4)
    return colours, rank[codes]


def png_data_uri(rgba: np.ndarray) -> str:
    """Encode an (h, w, 4) uint8 array as a PNG data URI (deterministic bytes).

    Parameters
    ----------
    rgba
        Red, green, blue and alpha of each pixel.

    Returns
    -------
    str
        ``data:image/png;base64,...``. Images with at most 256 distinct colours
        (all the class maps) are written as palette PNGs (one byte per pixel),
        others as 8-bit RGBA; rows are unfiltered.
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    colours, index = _palette(rgba)
    if colours is not None:
        pixels = index.reshape(h, w)
        header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
        extra = chunk(b"PLTE", colours[:, :3].tobytes()) + chunk(b"tRNS", colours[:, 3].tobytes())
    else:
        pixels = rgba.reshape(h, w * 4)
        header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
        extra = b""
    raw = np.concatenate([np.zeros((h, 1), dtype=np.uint8), pixels], axis=1)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS text, ready to inline.

    Returns
    -------
    tuple of str
        The JS (``</script`` escaped) and the CSS with the layer-control icons
        inlined as data URIs (the default marker icon, never used, is dropped).
    """
    base = resources.files("coverkit") / "assets" / "leaflet"
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    for name in ("layers.png", "layers-2x.png"):
        data = base64.b64encode((base / name).read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{name})", f"url(data:image/png;base64,{data})")
    # marker-icon.png is only used by L.Icon.Default, which the map never uses.
    css = css.replace("url(images/marker-icon.png)", "none")
    return js.replace("</script", "<\\/script"), css


def inline_leaflet(fmap: folium.Map, *, extra_css: str | None = None) -> None:
    """Make ``fmap`` load no external file: Leaflet's JS and CSS go into its header.

    Parameters
    ----------
    fmap
        A fresh folium map; its default CDN scripts and style sheets are removed.
    extra_css
        A style sheet of the caller's own, placed after Leaflet's CSS.
    """
    fmap.default_js = []
    fmap.default_css = []
    js, css = leaflet_assets()
    header = fmap.get_root().header
    header.add_child(text_element(f"<style>{css}</style>"), name="ck_leaflet_css")
    if extra_css is not None:
        header.add_child(text_element(f"<style>{extra_css}</style>"), name="ck_css")
    header.add_child(text_element(f"<script>{js}</script>"), name="ck_leaflet_js")


_NEWLINE = re.compile(r"\r\n|\r|\n")


@functools.cache
def _text_element_class() -> type:
    """A branca element that renders a fixed text.

    branca's ``MacroElement.render`` wraps each rendered script in
    ``Element(script)``, which compiles it as a Jinja template (seconds for a
    large county's GeoJSON) and would evaluate any ``{{ }}`` a name brought in.
    This one gives the text as Jinja gives a text without markup: line breaks
    as ``\\n`` and one final line break dropped.
    """
    from branca.element import Element

    class Text(Element):  # type: ignore[misc]
        def __init__(self, text: str) -> None:
            super().__init__()
            text = _NEWLINE.sub("\n", text)
            self._text = text[:-1] if text.endswith("\n") else text

        def render(self, **kwargs: Any) -> str:
            return self._text

    return Text


def text_element(text: str) -> Any:
    """A branca element that puts ``text`` on the page as it is, never as a template.

    ``branca.element.Element(text)`` compiles its text as a Jinja template, so a
    ``{{ }}`` in a county or facility name would be evaluated (and a crafted one
    could run code). The text must already be HTML-escaped where it holds names.

    Parameters
    ----------
    text
        The HTML to put in.

    Returns
    -------
    branca.element.Element
        Add it to a figure part (``fmap.get_root().html.add_child(...)``).
    """
    return _text_element_class()(text)


def render_as_text(element: Any, kwargs: dict[str, Any]) -> None:
    """Render a branca ``MacroElement`` as branca does, its parts put in as plain text.

    Parameters
    ----------
    element
        The macro element (a folium marker, a layer made here).
    kwargs
        Passed on to its children.

    Notes
    -----
    The page is the same as branca's ``MacroElement.render`` makes for text
    without Jinja markup, without compiling each rendered part as a template.
    """
    text = _text_element_class()
    figure = element.get_root()
    macros = element._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = macros.get(part)
        if macro is not None:
            getattr(figure, part).add_child(text(macro(element, kwargs)), name=element.get_name())
    for child in element._children.values():
        child.render(**kwargs)


@functools.cache
def circle_marker_class() -> type:
    """``folium.CircleMarker`` rendered by :func:`render_as_text` (the same page, faster)."""
    import folium

    class CircleMarker(folium.CircleMarker):  # type: ignore[misc]
        def render(self, **kwargs: Any) -> None:
            if self.location is None:
                raise ValueError("CircleMarker location must be assigned when added to a map.")
            render_as_text(self, kwargs)

    return CircleMarker


@functools.cache
def element_classes() -> tuple[type, type]:
    """The two custom folium elements, ``(JsLayer, Bind)``.

    Returns
    -------
    tuple of type
        ``JsLayer(code, name)`` renders ``var <name>_<id> = <code>;`` with
        ``{parent}`` in ``code`` replaced by the parent element's JS name;
        ``Bind(kind, content_html, options)`` renders
        ``parent.bind<kind>(<content as JSON>, <options>)`` for ``Popup`` or
        ``Tooltip``. Built on the first call so that folium loads at call time.
        Their script goes into the page as it is (:func:`_text_element_class`).
    """
    from branca.element import MacroElement
    from jinja2 import Template

    class Script(MacroElement):  # type: ignore[misc]
        """A macro element whose rendered script is put into the page as text."""

        def render(self, **kwargs: Any) -> None:
            render_as_text(self, kwargs)

    class JsLayer(Script):  # type: ignore[misc]
        """A Leaflet layer built from JS made here; ``{parent}``/``{name}`` are filled in."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "var {{ this.get_name() }} = {{ this.code(this._parent.get_name()) }};\n"
            "{% endmacro %}"
        )

        def __init__(self, code: str, name: str = "ck_layer") -> None:
            super().__init__()
            self._name = name
            self._code = code

        def code(self, parent: str) -> str:
            return self._code.replace("{parent}", parent)

    class Bind(Script):
        """``parent.bindPopup(html)`` / ``bindTooltip(html)`` with escaped HTML as JSON."""

        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this._parent.get_name() }}.bind{{ this.kind }}({{ this.content }},"
            " {{ this.options }});\n"
            "{% endmacro %}"
        )

        def __init__(self, kind: str, content_html: str, options: dict[str, Any]) -> None:
            super().__init__()
            self._name = "ck_bind"
            self.kind = kind
            self.content = inline_json(content_html)
            self.options = inline_json(options)

    return JsLayer, Bind


def stable_ids(root: Any) -> None:
    """Replace every element's random uuid with a counter in tree order.

    Parameters
    ----------
    root
        A branca element (a map's root figure); changed in place.
    """
    counter = 0
    stack = [root]
    seen: set[int] = set()
    while stack:
        el = stack.pop(0)
        if id(el) in seen:
            continue
        seen.add(id(el))
        counter += 1
        el._id = f"ck{counter:05d}"
        stack[0:0] = list(getattr(el, "_children", {}).values())


__all__ = [
    "MAP_CSS",
    "element_classes",
    "escape_html",
    "inline_json",
    "inline_leaflet",
    "leaflet_assets",
    "png_data_uri",
    "stable_ids",
    "text_element",
]
