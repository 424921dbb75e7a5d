"""Defaults for every threshold coverkit uses, each documented with its source.

These are plain typed module globals (as in osmnx ``settings.py``), and this is
the only place coverkit keeps a threshold. Change them for a session
(``coverkit.settings.walk_speed_kph = 4.0``) or, better, pass the matching
keyword argument or config key. Functions read them when they run, when their own
argument is left as ``None``; no module binds a copy at import time, so a change
here is always seen.

Where the policy texts (``../shared/policy``) give a number it is quoted with
its file; where they are silent the default is a planning convention and says
so.
"""

from __future__ import annotations

# --- travel ----------------------------------------------------------------

#: Car/motorbike speed by OpenStreetMap ``highway`` class, km/h. Based on the
#: design speeds of China's *Technical Standard of Highway Engineering*
#: (公路工程技术标准 JTG B01-2014: 高速 80–120, 一级 60–100, 二级 60–80,
#: 三级 30–40, 四级 20–30 km/h), taken at the low end because rural roads are
#: shared with tractors, pedestrians and livestock. ``_link`` roads take the
#: speed of their parent class. Footways/paths/steps are walked.
road_speeds_kph: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 80.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 15.0,
    "service": 20.0,
    "road": 25.0,
    "track": 15.0,
    "path": 5.0,
    "footway": 5.0,
    "pedestrian": 5.0,
    "bridleway": 5.0,
    "steps": 3.0,
    "cycleway": 5.0,
}

#: Speed for a road whose class is not in :data:`road_speeds_kph`, km/h (the
#: class 四级公路 lower bound). The count of such edges is logged.
default_road_speed_kph: float = 20.0

#: Off-road walking speed, km/h (the common 5 km/h of accessibility studies,
#: e.g. Weiss et al. 2020, *Nature Medicine* 26:1835).
walk_speed_kph: float = 5.0

#: A place farther than this from any road is reported as off-network
#: (never silently dropped or counted as covered), metres.
max_walk_m: float = 5_000.0

#: Detour ratio for the no-road-file fallback: road distance ≈ straight-line
#: distance × this factor. 1.35 is the middle of the 1.3–1.4 range reported
#: for rural road networks (Ballou et al. 2002, *J. Business Logistics*
#: 23(2); Boscoe et al. 2012, *Prof. Geogr.* 64(2)).
circuity_factor: float = 1.35

#: Speed assumed for the no-road-file fallback, km/h.
fallback_speed_kph: float = 30.0

# --- thresholds --------------------------------------------------------------

#: Main travel-time threshold to county-level care, minutes. The policy texts
#: name none; 30 min is the common "30-minute medical service circle"
#: (30分钟医疗服务圈) of county planning.
threshold_min: float = 30.0

#: Thresholds shown side by side in tables and isochrones, minutes.
thresholds_min: tuple[float, ...] = (15.0, 30.0, 45.0, 60.0)

# --- siting (Rule 1) ---------------------------------------------------------

#: Numbers of sub-centres evaluated by default. Policy (000 §(一)): 可在县城之外选建
#: 1至2个中心乡镇卫生院; Tianjin's text says the same for its districts (001 §2:
#: 选择1至2个中心乡镇卫生院). Some districts pick more, so any p >= 1 may be asked.
p_values: tuple[int, ...] = (1, 2)

#: A second sub-centre is recommended only if it adds at least this share of
#: the county population within the threshold (planning convention: the texts
#: allow 1 to 2 sites but give no rule for choosing between them; 2 % keeps a
#: second site that brings a noticeable share of the county within reach).
#: Per run: ``PlanParameters.second_site_min_gain_share``.
second_site_min_gain_share: float = 0.02

#: Candidates closer than this to the county seat count as "in the county
#: seat" and are excluded, metres. The exclusion is policy (000 §(一):
#: 在县城之外选建); the radius is a planning convention (a county seat's built-up
#: area rarely reaches 5 km from its centre). Per run:
#: ``PlanParameters.seat_exclusion_radius_m``.
seat_exclusion_radius_m: float = 5_000.0

#: Relative MIP gap at which HiGHS stops; tiny, so "optimal" means proven optimal.
mip_rel_gap: float = 1e-9

#: Eligibility thresholds for a county to need sub-centres (planning
#: conventions; the policy names the indicators - 常住人口较多、区域面积较大、
#: 县城不在县域中心、县级医院服务覆盖能力不足 (000 §(一)) - but gives no numbers).
#: How they combine: :data:`eligibility_rule`. Per run:
#: ``PlanParameters.eligibility_thresholds``.
eligibility_thresholds: dict[str, float] = {
    # About the upper third of China's ~1,300 county-level units by resident
    # population (the median county has roughly 350,000 residents).
    "population": 500_000.0,
    # About the upper third by area (the median county covers roughly
    # 1,500-2,000 km²); a county of 2,000 km² has a 25 km equivalent radius.
    "area_km2": 2_000.0,
    # Distance county seat -> population-weighted centroid over the radius of
    # a circle of the county's area: 0.5 means the seat lies half-way from
    # the centre to the edge.
    "seat_offset_ratio": 0.5,
    # Share of the population beyond the travel-time threshold from the
    # existing county hospitals (服务覆盖能力不足 when one in five is beyond).
    "share_beyond_threshold": 0.20,
}

# --- county seat (China) ---------------------------------------------------------

#: Share of urban villages above which a town counts as part of the county
#: seat (when its centre is also within :data:`seat_town_radius_m`) (planning
#: convention; NBS urban-rural codes 111/112 mark urban villages).
seat_urban_share: float = 0.5

#: Towns with a mostly urban population whose centre lies within this distance
#: of the county seat point count as the county seat, metres (planning
#: convention). ``None``: twice :data:`seat_exclusion_radius_m`.
seat_town_radius_m: float | None = None

#: Villages whose converted point lies farther than this outside the county
#: boundary are dropped as misplaced, metres (data-quality convention).
village_outside_tolerance_m: float = 2_000.0

# --- villages (Rules 2, 4) -----------------------------------------------------

#: A neighbour's standard clinic within this many minutes, in
#: :data:`joint_travel_mode` minutes (walking by default), can serve a village
#: without one (邻（联）村延伸服务, 000 §(一), 001 §3). The texts give no number;
#: 15 min is the planning convention of the "15-minute walking circle"
#: (15分钟步行生活圈, GB 50180-2018), about 1 km on foot.
joint_service_max_min: float = 15.0

#: Radius (minutes, mutual travel) within which villages without a standard
#: clinic may share one new clinic (服务半径小、交通便利的相邻行政村可共建1所
#: 村卫生室, 001 §3). The texts give no number; 10 min is a planning convention.
share_clinic_radius_min: float = 10.0

#: Villages within this many minutes of their township centre get rotation
#: visits (巡诊); farther ones get stationed staff (派驻).
rotation_max_min: float = 45.0

#: Villages above this population get stationed staff rather than rotation.
stationed_min_population: float = 1_500.0

#: Village doctors and township staff per 1,000 residents, 1–1.5‰: a LOCAL norm
#: (003_excerpt.md §4 镇卫生院人员编制, §5 乡村医生; one Shandong district's 2024
#: plan), not in the provincial texts 000–002; keep it a parameter.
staff_per_1000: tuple[float, float] = (1.0, 1.5)

#: Rule 3 and Rule 5 population limits (001 §1; 000 §(三)).
township_second_centre_population: float = 100_000.0
county_tertiary_population: float = 800_000.0

# --- output writers and province batches (issue 15: coverkit.writers, coverkit.batch) ---

#: Seconds to wait for the Dask scheduler given with ``--scheduler`` before refusing
#: with one line (a scheduler that is down or behind a firewall must not hang the run).
batch_scheduler_timeout_s: float = 20.0

#: Largest ``manifest.json`` a batch reads back, in bytes. A province's manifest
#: holds one simplified outline and a few figures per county (a few kB each; all
#: 2,800 counties of China are well below this), so a larger file is not one.
batch_manifest_max_bytes: int = 256 * 1024 * 1024

#: A write that fails (GDAL reports a full disk in many ways, e.g. "no such table:
#: gpkg_contents") while less than this many bytes are free on the output's file
#: system is reported as a full disk: "free space or choose another --out".
output_min_free_bytes: int = 1024 * 1024


# --------------------------------------------------------------------------- run options (CLI
# flags and config keys; issue 15). Values beyond these are refused with a one-line error.

#: Largest travel-time threshold (``--minutes``, ``--thresholds``), minutes: one day.
#: Health access beyond a day's travel is not a threshold a plan can use.
max_minutes: float = 1_440.0

#: Largest speed (``--road-speed``, ``--walk-speed``), km/h: above any legal road speed in
#: China (120 km/h on expressways) with margin.
max_speed_kph: float = 200.0

#: Largest distance (``--road-buffer``, ``--max-walk``), metres: 100 km is more than the
#: width of most counties; larger buffers load whole provinces of roads for no gain.
max_distance_m: float = 100_000.0

#: Largest number of sub-centres per run (``--subcentres``): a county has a few dozen
#: township centres at most, and policy plans one to three sub-centres.
max_subcentres: int = 50

#: Largest number of local Dask workers (``batch --workers``).
max_workers: int = 256

#: Largest run configuration file (``--config``) read, bytes.
max_config_bytes: int = 1_000_000

# --- input data checks (issue 15: trust the files) ------------------------------

#: A population raster must have data (not nodata) on at least this share of
#: the county's cells, else it is refused: a raster that covers half the county
#: would plan for half the people. 0.9 leaves room for coastal and border cells
#: that WorldPop leaves as nodata (the embedded Comoros islands have > 0.99).
min_population_coverage: float = 0.9

#: Below this share of the county covered by raster data (but above
#: :data:`min_population_coverage`) the plan is made with a warning note.
population_coverage_warn: float = 0.99

#: Plausible county-mean population density, people per km² (low, high).
#: China's rural counties range from well under 1/km² (northern Tibet,
#: Xinjiang: e.g. Shuanghu, Ruoqiang) to about 2,000/km² (the densest plains
#: counties); the Comoros islands lie at roughly 150–1,500/km². Outside this
#: range the raster's units are probably wrong (e.g. ×100, or people per km²
#: rather than per cell) and the plan gets a warning.
plausible_density_per_km2: tuple[float, float] = (0.05, 5_000.0)

#: Largest plausible density of one raster cell, people per km²: 100,000/km²
#: is 1,000 people in one 100 m cell, denser than almost any city block and
#: far beyond any rural place. A cell above it gets a warning (units?).
max_cell_density_per_km2: float = 100_000.0

#: Largest memory a population raster's county window may take, bytes
#: (the cells × the file's value size plus coverkit's float64 working copies
#: and masks, about 26 bytes a cell). 4 GiB is 160 million cells: a
#: 100 m raster of a 1.6 million km² window, ten times China's largest county.
max_raster_window_bytes: float = 4 * 2**30

#: A county with fewer population cells than this gets a warning: people are
#: placed too coarsely for travel times (100 cells of 1 km² for a small county).
min_population_cells_warn: int = 100

# ---------------------------------------------------------------- output commit (issue 15)

#: Longest county part of an output file name, in UTF-8 bytes. File systems allow
#: 255 bytes per name (a Chinese character takes 3); longer names are cut and get
#: a short hash of the whole name so they stay unique and the same on every run.
max_name_bytes: int = 120

#: A staging folder left by an older coverkit (``.coverkit-run-`` without the
#: owner's process id) is removed at the next run once it is this many seconds old.
stale_staging_s: float = 3600.0

# --- rotation timetable (issue 16: coverkit.villages.timetable) -----------------------

#: Policy (000 §(一) 每次至少半天): the shortest STAY of one rotation visit at one
#: village, minutes. A half day of an 8-hour working day is 240 min; the drive from
#: the township centre and back comes on top, and one visit serves one village.
rotation_visit_min: float = 240.0

#: Policy (000 §(一) 每周开展巡诊至少2次): visits a week to each rotation village, on
#: different days, at the same time every week (巡诊时间要相对固定).
rotation_visits_per_week: int = 2

#: Planning convention: when a morning and an afternoon rotation trip leave the
#: township centre ("HH:MM"). 08:00 and 14:00 are the usual opening and after-lunch
#: times of a township health centre.
rotation_slot_starts: tuple[str, str] = ("08:00", "14:00")

#: Planning convention: staff in one rotation team (a doctor and a nurse or public-
#: health worker); a team makes one visit per half-day slot.
rotation_team_size: int = 2

#: Planning convention: working days a week on which rotation visits are made
#: (Monday first; 5 = Monday to Friday, 6 adds Saturday).
rotation_workdays: int = 5

#: Planning convention: a team should be back at its centre by this time ("HH:MM").
#: An afternoon visit goes only to villages it can leave and be back from by then
#: (14:00 + 30 min + 240 min + 30 min = 19:00); a visit back later is still listed,
#: flagged ``late``. A morning visit back after the afternoon departure takes the
#: team's afternoon too.
rotation_day_end: str = "19:00"

#: Planning convention: the largest share of a township centre's staff that can be
#: out on rotation visits at once (a third: the centre keeps its clinic, public-health
#: and emergency work going). A centre whose teams × team size exceed this share of
#: its known staff (facility column ``staff``) is flagged.
rotation_staff_share: float = 1 / 3

# --- joint service, new clinics and staffing by mode (issue 16, joint helper) ----------

#: Joint service stays within the village's own township (village clinics are run
#: by their township centre: 乡村一体化管理, 000 §(二); 镇村一体化, 001 §11); ``False``
#: lets a clinic serve neighbours across a township line (planning convention).
joint_same_township: bool = True

#: At most this many guest villages per host clinic, its own village not counted
#: (planning convention: the texts set no number). 2 keeps a host's doctors on a
#: round of three villages, the usual 邻（联）村 arrangement of adjacent villages.
joint_max_villages: int = 2

#: At most this many people served by one host clinic, its own village included
#: (planning convention). 3,000 people are three village doctors at the lower
#: bound of the local norm (1‰, 003_excerpt.md §5), the staff of a large village
#: clinic; a host whose own village is that large takes no guests.
joint_max_population: float = 3_000.0

#: How "within joint_service_max_min" is measured: ``"walk"`` (walking minutes:
#: the plan's road network when the plan runs in walk mode, else straight-line
#: distance × :data:`circuity_factor` at :data:`walk_speed_kph`) or ``"drive"``
#: (the plan's road travel times). Walking is the convention because 邻（联）村
#: service means adjacent villages, reached on foot (planning convention).
joint_travel_mode: str = "walk"

#: A village without a standard clinic, with no host clinic to take it and at
#: least this many residents gets the mode "build or upgrade a clinic"
#: (新建/提标村卫生室; 每个行政村原则上设置1所标准化村卫生室, 001 §3). Planning
#: convention: equal to :data:`joint_max_population`, so a village that alone
#: would fill a host clinic needs its own (three village doctors at 1‰).
build_clinic_min_population: float = 3_000.0

#: Stationed posts per stationed village (派驻: 每周在村卫生室工作时间不少于5日，
#: 在同一个行政村至少连续服务半年, 000 §(一)): one full-time post each (policy
#: reads as one person; convention for the count).
stationed_posts_per_village: float = 1.0


# --- facilities, eligibility and outside hospitals (issue 16: facilities helper) ---

#: How the four eligibility indicators combine: ``"any"`` (one is enough) or
#: ``"all"`` (every one must pass). Policy (000 §(一)) lists them as alternatives
#: (常住人口较多、区域面积较大、县城不在县域中心、县级医院服务覆盖能力不足的县), hence
#: ``"any"``; Tianjin's text (001 §2) reads as a conjunction for its agricultural
#: districts (常住人口较多、面积较大的), which ``"all"`` follows. Per run:
#: ``PlanParameters.eligibility_rule``.
eligibility_rule: str = "any"

#: Count hospitals outside the county (secondary or higher, from the facility table)
#: within the road buffer as existing county-level cover. Policy (001 §2): the areas
#: to serve are those that 城区外区级医院或周边二级以上综合医院服务难以覆盖; off by
#: default because 000 §(一) speaks of the county's own hospital (县级医院服务覆盖能力
#: 不足) and a neighbour's hospital is not under the county's plan. The plan always
#: states which. Per run: ``PlanParameters.count_outside_hospitals``.
count_outside_hospitals: bool = False


# --- villages placed from OpenStreetMap places (issue 17, item 2: places helper) ---

#: An NBS village without a point is placed at an OSM place of the same name only
#: when that place lies within this distance of its township centre, km. Planning
#: convention: a township (乡镇) of rural China spans some 10–30 km, so a village
#: of it lies within about 15 km of its seat; a namesake farther away is more
#: likely another village of the same common name (新村, 石门) than this one.
osm_village_max_km: float = 15.0

#: OSM places of the same (normalised) name closer than this are one place (a
#: village mapped as a node and as an area), metres. Planning convention: a
#: village's houses lie within a few hundred metres of its centre; two
#: namesakes farther apart are two places and make a match ambiguous.
osm_place_duplicate_m: float = 500.0
# --- province runs: one pass over the OSM extract (issue 17: split helper) ---

#: Road ways plus place nodes held in memory at once while a province or country
#: extract is split into per-county pieces (:mod:`coverkit.osm_split`). Planning
#: convention (engineering, not policy): 500,000 features are about 0.3–0.5 GB of
#: Python records and shapely lines, well inside an 8 GB laptop, and few enough
#: chunks (a China extract has a few million road ways) that the per-county part
#: files stay few.
extract_split_chunk_features: int = 500_000

#: Folder inside a batch's output folder that caches the per-county pieces of the
#: OSM extract (``<out>/<name>/<county code>/roads.gpkg``, ``places.gpkg``).
#: Planning convention: hidden (a dot name) so it is not mistaken for results.
extract_cache_folder: str = ".extract"

# --- scale: large counties (issue 17, item 4: scale helper) ---

#: A plan's cells x (hospitals + candidates) travel-time matrix with at least this many
#: entries is stored in float32 instead of float64. Planning convention (engineering,
#: not policy): float32 keeps minutes to 1e-7 relative, far below the 0.1 min shown,
#: and halves the plan's largest array (1.8 -> 0.9 GB for a 60,000 km² county at
#: 100 m); below it (about 1.2 M populated cells x 20 sites, 200 MB in float64) every
#: figure keeps all its float64 digits.
od_float32_min_entries: int = 25_000_000

# --- scale: reading inputs and writing outputs (issue 17, item 4: outputs helper) ---

#: Road ways read from an OSM extract whose bounding-box test runs as one vectorised
#: batch. Engineering, not policy: 20,000 lines hold a few MB of WKB, and per-batch
#: overhead is then negligible against the per-way read; the kept ways do not depend
#: on it.
osm_bbox_batch_ways: int = 20_000

#: Deflate level of the GeoTIFFs written (plan folder rasters, report travel-time
#: rasters). Engineering, not policy: level 1 with the floating-point predictor is
#: lossless, about twice as fast as the default level 6 without a predictor, and the
#: files come out smaller (37 -> 24 MB for a 60,000 km² county's travel times).
geotiff_deflate_level: int = 1

#: Threads GDAL compresses a GeoTIFF with; 0: min(2, the machine's CPUs). Engineering:
#: the bytes written do not depend on it.
geotiff_threads: int = 0

#: Cells of the population grid turned into densities at once for the map's
#: population layer (a strip of whole k x k blocks, k the downsampling factor).
#: Engineering: 4 M float64 cells are about 32 MB per copy, where the whole grid
#: of a 200,000 km² county (59 M cells) would be ~0.5 GB per copy; the image does
#: not depend on it.
map_raster_strip_cells: int = 4_000_000

#: Rows per strip of the GeoTIFFs written. Engineering: GDAL compresses strips in
#: parallel only when they are large enough to share out (its default strip of a
#: 6,000-cell-wide raster is one row); 64 rows of float32 are ~1.5 MB per strip.
geotiff_strip_rows: int = 64

# --- scale: travel times and the village stage in threads (issue 17, item 4: travel helper) ---

#: Threads for the per-cell array work of a plan (snapping, the OD fill, coordinate
#: transforms; :mod:`coverkit.network.blocks`), capped by the CPUs. Engineering, not
#: policy: numpy, cKDTree and pyproj release the GIL over row blocks, two threads use
#: both cores of a laptop, and results never depend on the count (1 = no pool).
array_threads: int = 2

#: Points per block when cell centres are reprojected in threads
#: (:func:`coverkit.network.blocks.transform_xy`). Engineering: 1 M points are 32 MB of
#: float64 in and out per block, and ten blocks of a 10 M-cell county balance two threads.
transform_block_points: int = 1_000_000

#: Cells per row block when a plan reduces its travel-time matrix by rows (the minutes
#: after the plan, :mod:`coverkit.plan`). Engineering: 262,144 rows of 20 float32 columns
#: are 20 MB, small enough to stay out of the peak, large enough to keep numpy efficient.
row_block_cells: int = 262_144

# --------------------------------------------------------------------- large arrays (scratch)

#: A working array larger than this (MiB) — the travel-time matrix of a very large
#: county — is memory-mapped on a scratch file instead of held in memory
#: (:mod:`coverkit.scratch`). Planning convention (engineering, not policy): 1 GiB
#: leaves room for the rest of a plan (cells, rasters, the road index: a few GB at
#: 30 M cells) on an 8 GB laptop; a 60,000 km² county at 100 m (0.3–0.9 GB) stays in
#: memory, a 200,000 km² one (1.5–5.4 GB) goes to disk and still runs.
in_memory_max_mb: float = 1024.0

#: Folder of the scratch files (``None``: the system's temporary folder, ``TMPDIR``).
#: Planning convention: put it on a local disk with room for the largest array
#: (a few GB); a memory-backed folder (tmpfs) saves no memory and is warned about.
scratch_dir: str | None = None

#: A plan with at least this many cells frees the road network's snapping index once
#: the cells are snapped (the village stage rebuilds it: seconds). Planning convention
#: (engineering, not policy): the index holds ~150 bytes per 50 m of road, 0.45 GB for
#: a 60,000 km² county's lattice (10.9 M cells: kept, rebuilding would cost 3 s) and
#: 1.5 GB for a 200,000 km² one (36 M cells: freed, so it fits an 8 GB machine).
snap_index_free_min_cells: int = 20_000_000

# --- accessibility index: 2SFCA / E2SFCA (issue 18, item 8: access helper) ---

#: Distance decay of the accessibility index by default: ``"step"`` (the enhanced
#: 2SFCA of Luo & Qi 2009); ``"none"`` is the classic 2SFCA of Luo & Wang 2003 and
#: ``"gaussian"`` the Gaussian 2SFCA (Dai 2010). Planning CONVENTION, not policy: the
#: policy texts set no accessibility measure; E2SFCA is the form most county-level
#: studies use, since it lets a nearer site count more than one at the threshold.
access_decay: str = "step"

#: Sub-zones of the step decay as ((upper bound in minutes, weight), …) for a 30-minute
#: catchment: 0–10, 10–20, 20–30 min weighted 1.00, 0.68, 0.22, Luo & Qi's (2009)
#: Gaussian-derived weights (also the `access` package's default). For another
#: threshold T the bounds are stretched to T (60 min: 0–20–40–60). Planning
#: CONVENTION, not policy.
access_step_zones_min: tuple[tuple[float, float], ...] = ((10.0, 1.00), (20.0, 0.68), (30.0, 0.22))

#: The index (supply per person) is reported per this many people (beds or staff per
#: 1,000 people, as China's health statistics give 每千人口床位数). Planning CONVENTION,
#: not policy: it scales the numbers shown, never their order.
access_per_people: float = 1000.0

# --------------------------------------------------------------------- siting: capacity (issue 18)

#: Seconds HiGHS may take to assign demand to a given set of sites under their capacities
#: (:func:`coverkit.siting.assign_with_capacity`); a run not proven optimal by then raises
#: ``SolverError``. Planning convention (engineering, not policy): 60 s; the split LP of
#: 10^6 cells takes well under a second and a single-source MIP of 10^5 rows a few seconds
#: (benchmarks/), so the limit only stops a pathological case.
capacity_time_limit_s: float = 60.0
