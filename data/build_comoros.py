"""Build the shipped Comoros data from the raw downloads (run once; kept for provenance).

Usage::

    python data/build_comoros.py /work/shared/data/comoros

It

1. reads the three ``admin_level=4`` island relations (Ngazidja, Nzwani, Mwali)
   from ``comores-latest.osm.pbf`` with pyosmium's area assembler,
2. simplifies them to ~20 m (in UTM 38S, topology-preserving) and writes
   ``data/boundaries/comoros_islands.gpkg`` (layer ``islands``: ``id`` = ISO
   3166-2 code, ``name`` = island name in Comorian, ``name_fr``, ``osm_id``),
3. copies the WorldPop raster to ``data/population/comoros_ppp_2020_100m.tif``
   and the OSM extract to ``data/roads/comoros-latest.osm.pbf`` unchanged.

Facilities and villages are NOT pre-extracted: :mod:`coverkit.region` takes
them from the pbf at run time by the rules in ``coverkit/regions/comoros.toml``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import geopandas as gpd
import osmium
import shapely

HERE = Path(__file__).resolve().parent
NAMES = {"KM-G": "Ngazidja", "KM-A": "Nzwani", "KM-M": "Mwali"}
SIMPLIFY_M = 20.0


def islands(pbf: Path) -> gpd.GeoDataFrame:
    """The admin_level 4 island multipolygons of the extract."""
    wkb = osmium.geom.WKBFactory()
    rows = []
    fp = (
        osmium.FileProcessor(str(pbf))
        .with_areas(osmium.filter.TagFilter(("admin_level", "4")))
        .with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
    )
    for area in fp:
        if area.tags.get("admin_level") != "4" or area.from_way():
            continue
        code = area.tags.get("ISO3166-2")
        rows.append(
            {
                "id": code,
                "name": NAMES[code],
                "name_fr": area.tags.get("name:fr", ""),
                "osm_id": f"r{area.orig_id()}",
                "geometry": shapely.from_wkb(wkb.create_multipolygon(area)),
            }
        )
    gdf = gpd.GeoDataFrame(rows, crs="EPSG:4326").sort_values("id").reset_index(drop=True)
    utm = gdf.to_crs("EPSG:32738")
    utm["geometry"] = utm.geometry.simplify(SIMPLIFY_M, preserve_topology=True)
    return utm.to_crs("EPSG:4326")


def main(src: str) -> None:
    """Write the three shipped files from the raw folder ``src``."""
    raw = Path(src)
    pbf = raw / "comores-latest.osm.pbf"
    out = HERE / "boundaries" / "comoros_islands.gpkg"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    islands(pbf).to_file(out, layer="islands", driver="GPKG")
    (HERE / "population").mkdir(exist_ok=True)
    shutil.copyfile(
        raw / "com_ppp_2020_UNadj.tif", HERE / "population" / "comoros_ppp_2020_100m.tif"
    )
    (HERE / "roads").mkdir(exist_ok=True)
    shutil.copyfile(pbf, HERE / "roads" / "comoros-latest.osm.pbf")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/comoros")
