"""The rule register (coverkit.rules): quotes verbatim in their sections, values, counts."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from coverkit import rules, settings
from coverkit.config import overridden_settings
from coverkit.plan import PlanParameters

REPO = Path(__file__).resolve().parents[1]


def _policy_dir() -> Path | None:
    """The policy texts (``shared/policy`` beside the repository or its worktree folder)."""
    for base in (REPO.parent, REPO.parent.parent, Path("/work")):
        folder = base / "shared" / "policy"
        if (folder / "003_excerpt.md").is_file():
            return folder
    return None


POLICY_DIR = _policy_dir()
needs_texts = pytest.mark.skipif(POLICY_DIR is None, reason="policy texts (shared/policy) absent")


def _source_file(number: str) -> Path:
    assert POLICY_DIR is not None
    (path,) = sorted(POLICY_DIR.glob(f"{number}_*"))
    return path


def section_text(text: str, section: str) -> str:
    """The text of one section: ``(一)`` → from ``（一）`` to the next ``（…）`` heading;
    ``3`` → Tianjin's ``3．`` item up to the next numbered item; in the 003 excerpt ``§4``
    to the next ``§``."""
    if section.startswith("("):
        head = "（" + section[1:-1] + "）"
        start = text.index(head)
        nxt = re.compile(r"\n（[一二三四五六七八九十]+）").search(text, start + len(head))
    elif "\n§" in text:  # the 003 excerpt
        start = text.index(f"§{section}")
        nxt = re.compile(r"\n§\d").search(text, start + 2)
    else:
        match = re.compile(rf"(^|\n){section}．").search(text)
        start = match.start() + len(match.group(1))
        nxt = re.compile(r"\n(\d+．|（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、)").search(
            text, start + 2
        )
    return text[start : nxt.start() if nxt else len(text)]


# --------------------------------------------------------------------------- the table


def test_ids_unique_and_kinds_known():
    ids = [r.id for r in rules.RULES]
    assert len(ids) == len(set(ids))
    assert {r.kind for r in rules.RULES} == {"policy", "convention"}
    assert set(rules.AFFECTED) <= set(ids)


def test_issue_rules_are_all_registered():
    ids = {r.id for r in rules.RULES}
    assert {
        "R1-population", "R1-area", "R1-seat-offset", "R1-weak-coverage", "R1-combination",
        "R1-outside-hospitals", "R1-sites", "R1-seat-exclusion", "R1-standard", "R1-choice",
        "R1-second-site", "R1-mip-gap", "R2-fixed", "R2-shared-clinic", "R2-joint",
        "R2-joint-township", "R2-joint-caps", "R2-rotation", "R2-stationed",
        "R2-stationed-term", "R2-build", "R3-second-centre", "R4-village-doctors",
        "R4-centre-establishment", "R4-professional-share", "R4-full-establishment",
        "R5-tertiary", "C-thresholds", "C-travel", "C-raster-checks",
    } <= ids  # fmt: skip


def test_quotes_short_and_policy_rows_quoted():
    for rule in rules.RULES:
        assert len(rule.quote_zh) <= 30, rule.id
        if rule.kind == "policy":
            assert rule.quote_zh, rule.id
            assert rule.source != "convention", rule.id
        if not rule.quote_zh:
            assert rule.source == "convention", rule.id
        else:
            assert re.fullmatch(r"00[0-4] §(\([一二三四五六七八九十]+\)|\d+)", rule.source), rule.id


@needs_texts
@pytest.mark.parametrize("rule", [r for r in rules.RULES if r.quote_zh], ids=lambda r: r.id)
def test_quote_is_verbatim_in_its_section(rule):
    number, _, section = rule.source.partition(" §")
    text = _source_file(number).read_text(encoding="utf-8")
    assert rule.quote_zh in text
    assert rule.quote_zh in section_text(text, section), f"{rule.id}: not in §{section}"


@needs_texts
def test_section_reader_by_hand():
    # 000 §(一) ends where （二） begins; 001 §3 is the clinic item; 003 §4 the establishment
    text = _source_file("000").read_text(encoding="utf-8")
    one = section_text(text, "(一)")
    assert one.startswith("（一）合理配置")
    assert "（二）" not in one
    assert "每次至少半天" in one
    tj = section_text(_source_file("001").read_text(encoding="utf-8"), "3")
    assert tj.startswith("3．加强村卫生室建设")
    assert "4．" not in tj
    assert "（二）" not in tj
    ex = section_text(_source_file("003").read_text(encoding="utf-8"), "4")
    assert "核定镇卫生院人员编制" in ex
    assert "乡村医生按照" not in ex


def test_staffing_and_rotation_cited_to_their_true_sources():
    by_id = {r.id: r for r in rules.RULES}
    # the 1–1.5‰ norms are one district's plan (the 003 excerpt), not 001 §2
    assert by_id["R4-village-doctors"].source == "003 §5"
    assert by_id["R4-centre-establishment"].source == "003 §4"
    assert "LOCAL" in by_id["R4-village-doctors"].rule_en
    # 每次至少半天 is Guangxi's 000 §(一), not Tianjin
    assert by_id["R2-rotation"].source == "000 §(一)"
    assert "每次至少半天" in by_id["R2-rotation"].quote_zh


def test_parameter_defaults_match_plan_parameters():
    params = PlanParameters()
    for name, value in rules.PARAMETER_DEFAULTS.items():
        assert getattr(params, name) == value


def test_readme_lists_every_parameter_the_rules_name():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Policy rules and parameters") :]
    rows = {m.group(1) for m in re.finditer(r"^\| `([a-z_0-9]+)` \|", section, re.M)}
    assert set(rules.setting_names()) <= rows


# --------------------------------------------------------------------------- a hand-made plan


def _tiny_plan() -> SimpleNamespace:
    """Six villages, three centres (one 1 km from the seat), one chosen site."""
    seat = gpd.GeoDataFrame({"id": ["s"]}, geometry=[Point(110.0, 30.0)], crs="EPSG:4326")
    # ~0.009° of latitude is 1 km: centre c1 lies in the 5 km seat radius, c2/c3 at 20+ km
    fac = gpd.GeoDataFrame(
        {
            "id": ["h", "c1", "c2", "c3"],
            "tier": ["county_hospital", "township_centre", "township_centre", "township_centre"],
            "township": ["T0", "T0", "T1", "T2"],
            "meets_standard": [True, True, False, True],
        },
        geometry=[Point(110, 30), Point(110, 30.009), Point(110.3, 30), Point(110, 30.3)],
        crs="EPSG:4326",
    )
    villages = pd.DataFrame(
        {
            "id": ["v1", "v2", "v3", "v4", "v5", "v6"],
            "township": ["T1", "T1", "T2", "T1", "T2", "T2"],
            "mode": ["fixed", "joint", "joint", "stationed", "stationed", "rotation"],
            "serving_facility": ["v1", "v1", "v1", "c2", "c3", "c3"],
            "population": [800.0, 300.0, 200.0, 2000.0, 900.0, 400.0],
            "minutes": [0.0, 5.0, 12.0, 20.0, 50.0, 30.0],
        }
    )
    eligibility = pd.DataFrame(
        {
            "indicator": ["population", "area_km2", "seat_offset_ratio", "share_beyond_threshold"],
            "passes": [False, True, False, True],
        }
    )
    staffing = pd.DataFrame(
        {
            "level": ["village"] * 6 + ["township"] * 4 + ["county"],
            "check": ["village_doctors"] * 6
            + ["centre_staff", "second_centre", "centre_staff", "second_centre"]
            + ["tertiary_hospital"],
            "population": [1.0] * 6 + [150_000.0, 150_000.0, 4_000.0, 4_000.0, 850_000.0],
        }
    )
    return SimpleNamespace(
        params=PlanParameters(p_values=(1, 2)),
        summary={"n_candidates": 2},
        eligible=True,
        seat=seat,
        facilities=fac,
        villages=villages,
        eligibility=eligibility,
        subcentres=pd.DataFrame({"id": ["c2"]}),
        siting=pd.DataFrame({"p": [1, 2], "gain_share": [float("nan"), 0.01]}),
        shared_clinics=pd.DataFrame({"group": [1], "n_villages": [2]}),
        timetable=pd.DataFrame({"village_id": ["v6", "v6"]}),
        staffing=staffing,
    )


def test_register_of_a_hand_made_plan():
    with overridden_settings({"stationed_min_population": 1500.0, "rotation_max_min": 45.0}):
        reg = rules.rule_register(_tiny_plan()).set_index("id")
    got = reg["affected"]
    # by hand: modes fixed 1, joint 2 (v2 in T1 served by v1 in T1; v3 in T2 by v1: 1 across a
    # township line; one host v1), stationed 2 (v4 has 2,000 ≥ 1,500; v5 is 50 min > 45 from
    # its centre), rotation 1 with 2 visits; c1 is 1 km from the seat (≤ 5 km); c1 and c3 meet
    # the standard; p=2 adds 1% < 2%; township 150,000 > 100,000 once; county 850,000 > 800,000
    expected = {
        "R2-fixed": 1, "R2-joint": 2, "R2-joint-township": 1, "R2-joint-caps": 1,
        "R2-stationed": 2, "R2-stationed-term": 2, "R2-stationed-size": 1,
        "R2-rotation-reach": 1, "R2-rotation": 1, "R2-rotation-timetable": 2, "R2-build": 0,
        "R2-shared-clinic": 2, "R1-seat-exclusion": 1, "R1-standard": 2, "R1-second-site": 1,
        "R1-mip-gap": 2, "R1-sites": 1, "R4-full-establishment": 1, "R1-choice": 2,
        "R1-population": 0, "R1-area": 1, "R1-seat-offset": 0, "R1-weak-coverage": 1,
        "R1-combination": 1, "R3-second-centre": 1, "R5-tertiary": 1,
        "R4-village-doctors": 6, "R4-centre-establishment": 2,
    }  # fmt: skip
    assert {k: int(got[k]) for k in expected} == expected
    # nothing to count: shown as "—" in the report (NA here)
    assert pd.isna(got["C-travel"])
    assert pd.isna(got["R1-outside-hospitals"])


def test_missing_tables_give_na_not_errors():
    plan = SimpleNamespace(params=PlanParameters(), summary={}, eligible=None)
    reg = rules.rule_register(plan)
    assert reg["affected"].isna().all()
    assert list(reg.columns[:8]) == [
        "id", "kind", "quote_zh", "source", "settings", "value", "affected", "unit",
    ]  # fmt: skip


def test_value_column_follows_params_overrides_and_settings():
    plan = SimpleNamespace(
        params=PlanParameters(threshold_min=45.0),
        summary={"settings_overrides": {"joint_max_villages": 4}},
    )
    with overridden_settings({"stationed_min_population": 2500.0}):
        reg = rules.rule_register(plan).set_index("id")
    assert "threshold_min=45" in reg.loc["C-thresholds", "value"]
    assert "joint_max_villages=4" in reg.loc["R2-joint-caps", "value"]
    assert "stationed_min_population=2500" in reg.loc["R2-stationed-size", "value"]
    assert reg.loc["R4-professional-share", "value"] == "≥ 90%"
    assert settings.stationed_min_population == 1500.0  # restored


# --------------------------------------------------------------------------- a real plan


@pytest.fixture(scope="module")
def mwali():
    from coverkit.api import parameters_from_config
    from coverkit.config import RunConfig
    from coverkit.plan import plan_county
    from coverkit.region import load_county

    inputs = load_county("comoros", county="Mwali", roads="none")
    return plan_county(inputs, params=parameters_from_config(RunConfig(county="Mwali")))


def test_register_of_mwali_counts_from_its_tables(mwali):
    reg = rules.rule_register(mwali).set_index("id")
    assert list(reg.index) == [r.id for r in rules.RULES]
    got = reg["affected"]
    modes = mwali.villages["mode"].astype(str).value_counts()
    for mode, rule in (("fixed", "R2-fixed"), ("joint", "R2-joint"), ("stationed", "R2-stationed")):
        assert got[rule] == modes.get(mode, 0)
    assert got["R2-rotation"] == modes.get("rotation", 0)
    assert got["R2-rotation-timetable"] == len(mwali.timetable)
    joint = mwali.villages[mwali.villages["mode"] == "joint"]
    assert got["R2-joint-caps"] == joint["serving_facility"].nunique()
    # Mwali by hand (roads="none"): 4 township centres, 3 candidates: the 4th lies in the seat
    # radius; one site chosen; p=2 would add 1.4% < 2%; 14 villages, 5 townships staffed;
    # 321,486 people (< 500,000 and < 800,000), 210 km² (< 2,000): two indicators met
    assert int(got["R1-seat-exclusion"]) == 1
    assert int(got["R1-choice"]) == mwali.summary["n_candidates"] == 3
    assert int(got["R1-sites"]) == len(mwali.subcentres) == 1
    assert int(got["R1-second-site"]) == 1
    assert int(got["R4-village-doctors"]) == len(mwali.villages) == 14
    assert int(got["R4-centre-establishment"]) == 5
    assert [
        int(got[k]) for k in ("R1-population", "R1-area", "R5-tertiary", "R3-second-centre")
    ] == [
        0,
        0,
        0,
        0,
    ]
    assert int(got["R1-seat-offset"]) == int(got["R1-weak-coverage"]) == 1
    assert "p_values=1, 2" in reg.loc["R1-sites", "value"]


def test_parameter_table_names_every_setting_once():
    table = rules.parameter_table()
    assert list(table["name"]) == list(rules.setting_names())
    row = table.set_index("name").loc["county_tertiary_population"]
    assert (row["default"], row["kind"], row["source"]) == ("800000", "policy", "000 §(三)")
