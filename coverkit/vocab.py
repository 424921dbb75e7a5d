"""coverkit's vocabulary: the closed sets and every user-facing label, in one table.

Facility tiers, village service modes and siting objectives are enums (as r5py's
``TransportMode``); each member's Chinese and English labels live in :data:`LABELS`,
the one table that the map, the report, the province overview and the CLI read.
A label is looked up with :func:`label` (``label(ServiceMode.JOINT)`` →
``"邻（联）村延伸服务"``, ``label("joint", "en")`` → ``"Joint service with a
neighbour"``, ``label(Tier.VILLAGE_CLINIC, "both")`` → ``"村卫生室 Village clinic"``).

Chinese terms are those of the policy texts (``../shared/policy/POLICY.md``), with
full-width punctuation as they are written there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Tier(StrEnum):
    """Tier of a health facility in the 县-乡-村 three-tier network (POLICY.md)."""

    #: 县级医院: the "head" (龙头) of the county network.
    COUNTY_HOSPITAL = "county_hospital"
    #: 乡镇卫生院: the "hub" (枢纽); a central one is 中心乡镇卫生院.
    TOWNSHIP_CENTRE = "township_centre"
    #: 村卫生室: the "base" (基础), one per administrative village.
    VILLAGE_CLINIC = "village_clinic"


#: Tiers from the top of the network down (a facility mapped twice keeps the first).
TIERS: tuple[Tier, ...] = (Tier.COUNTY_HOSPITAL, Tier.TOWNSHIP_CENTRE, Tier.VILLAGE_CLINIC)


class ServiceMode(StrEnum):
    """How an administrative village receives basic care (Rule 2)."""

    #: Its own standard clinic (每个行政村原则上设置1所标准化村卫生室).
    FIXED = "fixed"
    #: Served by a neighbouring village's clinic (邻（联）村延伸服务).
    JOINT = "joint"
    #: Periodic rotation visits from the township centre (乡镇卫生院定期巡诊).
    ROTATION = "rotation"
    #: Staff stationed in the village (派驻).
    STATIONED = "stationed"
    #: No standard clinic, no host clinic and a large population: build a new clinic or
    #: upgrade the weak one (新建/提标村卫生室; 每个行政村原则上设置1所标准化村卫生室).
    BUILD = "build"

    @property
    def zh(self) -> str:
        """Chinese policy term of the mode."""
        return LABELS[self].zh

    @property
    def rule_id(self) -> str:
        """Identifier of the rule that assigns the mode."""
        return f"R2-{self.name}"


class VillageStatus(StrEnum):
    """Whether a county's village section can be planned (issue 17)."""

    #: Villages with points (from the NBS table, OpenStreetMap or the planner's table).
    LOCATED = "located"
    #: Administrative villages exist but none has a point: the section is empty, says why.
    NO_LOCATION = "no_location"
    #: No administrative village (行政村) at all, only 街道/社区: an urban district (城区).
    NOT_APPLICABLE = "not_applicable"

    @classmethod
    def of(cls, summary: dict | None) -> VillageStatus:
        """The status a plan summary records under ``village_service``.

        ``LOCATED`` when it records none (plans made before the status existed)
        or a value outside this set (a plan folder is untrusted input).
        """
        value = (summary or {}).get("village_service")
        known = isinstance(value, str) and value in cls._value2member_map_
        return cls(value) if known else cls.LOCATED


class Objective(StrEnum):
    """Siting objectives."""

    #: Least population-weighted travel time (p-median).
    PMEDIAN = "pmedian"
    #: Most population within the threshold (maximal covering location problem).
    MCLP = "mclp"
    #: Shortest worst trip (p-centre).
    PCENTER = "pcenter"


@dataclass(frozen=True)
class Label:
    """One user-facing term in Chinese and English."""

    zh: str
    en: str


Lang = Literal["zh", "en", "both"]

#: Every user-facing label, keyed by enum member or by a dotted string key.
LABELS: dict[str, Label] = {
    # facility tiers (plus the map's extra classes)
    Tier.COUNTY_HOSPITAL: Label("县级医院", "County hospital"),
    Tier.TOWNSHIP_CENTRE: Label("乡镇卫生院", "Township health centre"),
    Tier.VILLAGE_CLINIC: Label("村卫生室", "Village clinic"),
    "central_centre": Label("中心乡镇卫生院", "Central township health centre"),
    "other": Label("其他", "Other facility"),
    # service modes (plus the map's class for a village with no mode)
    ServiceMode.FIXED: Label("固定村卫生室", "Fixed clinic"),
    ServiceMode.JOINT: Label("邻（联）村延伸服务", "Joint service with a neighbour"),
    ServiceMode.ROTATION: Label("乡镇卫生院定期巡诊", "Rotation visits"),
    ServiceMode.STATIONED: Label("派驻", "Stationed staff"),
    "unknown": Label("未定", "Not assigned"),
    # short tier names in the names given to unnamed OSM facilities ("卫生院 health centre
    # near Mbéni (OSM w406157830)")
    "unnamed.county_hospital": Label("县级医院", "hospital"),
    "unnamed.township_centre": Label("卫生院", "health centre"),
    "unnamed.village_clinic": Label("卫生室", "health post"),
    # siting objectives
    Objective.PMEDIAN: Label("人均出行时间最短", "Least mean travel time (p-median)"),
    Objective.MCLP: Label("阈值内人口最多", "Most people within T (MCLP)"),
    Objective.PCENTER: Label("最远出行时间最短", "Shortest worst trip (p-centre)"),
    # rotation timetable: working days and half-days
    "weekday.Mon": Label("周一", "Mon"),
    "weekday.Tue": Label("周二", "Tue"),
    "weekday.Wed": Label("周三", "Wed"),
    "weekday.Thu": Label("周四", "Thu"),
    "weekday.Fri": Label("周五", "Fri"),
    "half_day.AM": Label("上午", "AM"),
    "half_day.PM": Label("下午", "PM"),
    # road classes drawn on the map
    "road.main": Label("主干道", "Main roads"),
    "road.secondary": Label("次干道", "Secondary roads"),
    "road.minor": Label("其他道路", "Minor roads"),
    # planning scenarios (travel time before / after the sub-centres)
    "scenario.before": Label("现状", "before"),
    "scenario.after": Label("规划后", "after"),
    # rotation timetable: weekend days, for rotation_workdays of 6 or 7 (issue 16)
    "weekday.Sat": Label("周六", "Sat"),
    "weekday.Sun": Label("周日", "Sun"),
    # joint service limits and the "build or upgrade a clinic" mode (issue 16)
    ServiceMode.BUILD: Label("新建/提标村卫生室", "Build or upgrade a clinic"),
    "mode.build": Label("新建/提标村卫生室", "Build or upgrade a clinic"),
    VillageStatus.LOCATED: Label("已定位", "villages located"),
    VillageStatus.NO_LOCATION: Label("村无位置", "no village has a location"),
    VillageStatus.NOT_APPLICABLE: Label("不适用（城区）", "not applicable (urban district)"),
    "travel.walk": Label("步行", "walk"),
    "travel.drive": Label("车程", "drive"),
    # report table headers, by column name (issue 16: one label table)
    "column.id": Label("编号", "id"),
    "column.name": Label("名称", "name"),
    "column.population": Label("人口", "population"),
    "column.township": Label("乡镇", "township"),
    "column.townships": Label("乡镇", "townships"),
    "column.mode": Label("服务方式", "mode"),
    "column.mode_zh": Label("方式", "(中文)"),
    "column.mode_en": Label("mode", "(English)"),
    "column.villages": Label("村", "villages"),
    "column.indicator": Label("指标", "indicator"),
    "column.indicator_zh": Label("指标", "(中文)"),
    "column.value": Label("值", "value"),
    "column.threshold": Label("阈值", "threshold"),
    "column.threshold_min": Label("阈值", "threshold (min)"),
    "column.unit": Label("单位", "unit"),
    "column.passes": Label("达标", "passes"),
    "column.selected_ids": Label("选中编号", "selected ids"),
    "column.selected_names": Label("选中机构", "selected names"),
    "column.objective": Label("目标值", "objective"),
    "column.recommended": Label("推荐", "recommended"),
    "column.rank": Label("排序", "rank"),
    "column.minutes": Label("时间", "min"),
    "column.rule_id": Label("规则", "rule"),
    "column.reason_zh": Label("理由", "reason"),
    "column.reason_en": Label("reason", "(English)"),
    "column.serving_facility": Label("服务机构", "serving facility"),
    "column.host_load_villages": Label("接纳邻村", "guest villages"),
    "column.host_load_population": Label("服务人口", "people served"),
    "column.clinic": Label("村卫生室", "clinic"),
    "column.population_estimated": Label("人口为估计", "estimated"),
    "column.team": Label("小组", "team"),
    "column.weekday": Label("星期", "weekday"),
    "column.half_day": Label("半天", "half day"),
    "column.drive_min": Label("车程", "drive (min)"),
    "column.village": Label("行政村", "village"),
    "column.start": Label("开始", "start"),
    "column.end": Label("结束", "end"),
    "column.level": Label("层级", "level"),
    "column.rule": Label("标准", "rule"),
    "column.source": Label("来源", "source"),
    "column.required_min": Label("最少", "required min"),
    "column.required_max": Label("最多", "required max"),
    "column.pop_within_before": Label("阈值内人口（现状）", "within T, before"),
    "column.pop_within_after": Label("阈值内人口（规划后）", "within T, after"),
    "column.share_within_before": Label("覆盖率（现状）", "share before"),
    "column.share_within_after": Label("覆盖率（规划后）", "share after"),
    "column.mean_min_before": Label("平均时间（现状）", "mean min before"),
    "column.mean_min_after": Label("平均时间（规划后）", "mean min after"),
    "column.pop_newly_within": Label("新增覆盖人口", "newly within T"),
    "column.mean_saved_min": Label("平均节省", "mean saved (min)"),
    "column.max_saved_min": Label("最多节省", "max saved (min)"),
    "column.population_within": Label("阈值内人口", "population within"),
    "column.share_within": Label("覆盖率", "share within"),
    "column.lon": Label("经度", "lon"),
    "column.lat": Label("纬度", "lat"),
    "column.kind": Label("性质", "policy / convention"),
    "column.quote_zh": Label("原文", "quote"),
    "column.affected": Label("涉及", "affected"),
    "column.rule_en": Label("规则", "rule (English)"),
    "column.indicator_source": Label("指标依据", "indicator source"),
    "column.threshold_kind": Label("阈值性质", "threshold kind"),
    "column.eligibility_rule": Label("组合规则", "combination rule"),
    # villages placed from OpenStreetMap places (issue 17)
    "column.located_nbs": Label("统计局坐标", "located (NBS)"),
    "column.matched_osm": Label("OSM匹配", "placed from OSM"),
    "column.ambiguous": Label("重名无法确定", "ambiguous"),
    "column.too_far": Label("同名但过远", "too far"),
    "column.unmatched": Label("无同名地点", "no namesake"),
    "column.match_rate": Label("匹配率", "match rate"),
    "matching.section": Label("村位置匹配（OpenStreetMap）", "Villages placed from OpenStreetMap"),
    "matching.text": Label(
        "统计局表中无坐标的行政村，按名称（去除“村委会”等后缀）与同乡镇附近唯一的 OSM 地点匹配；"
        "重名、过远或无同名地点的村不作猜测，仍未定位。匹配率 = OSM匹配 / 无坐标村数。",
        "NBS villages without a point, matched by name (suffixes such as 村委会 removed) to the "
        "one OSM place near their township; ambiguous, too-far and unnamed ones are not "
        "guessed and stay unplaced. Match rate = placed from OSM / villages without a point.",
    ),
    "matching.total": Label("合计", "total"),
    # province runs (coverkit batch): the status of each county
    "batch.status.ok": Label("正常", "ok"),
    "batch.status.not_applicable": Label("不适用（城区）", "not applicable (urban district)"),
    "batch.status.failed": Label("失败", "failed"),
    # accessibility index, 2SFCA / E2SFCA (issue 18, item 8)
    "access.layer": Label("可及性指数 (2SFCA)", "accessibility index"),
    "access.unit": Label("每千人", "per 1,000 people"),
    "access.none": Label("无可及", "no supply within reach"),
    # km beside minutes (issue 18 item 4): village trips, along the same quickest path
    "column.km": Label("距离", "km"),
    "column.travel_km": Label("车程距离", "drive (km)"),
    "column.max_km": Label("最远距离", "max km"),
}


def label(key: str, lang: Lang = "zh") -> str:
    """The label of ``key`` (an enum member or a key of :data:`LABELS`) in ``lang``.

    Parameters
    ----------
    key
        An enum member of this module, or another key of :data:`LABELS`.
    lang
        ``"zh"``, ``"en"`` or ``"both"`` (Chinese, a space, English).

    Returns
    -------
    str
        The label; an unknown key comes back unchanged, so a value outside the
        vocabulary is shown as it is rather than hidden.
    """
    entry = LABELS.get(key)
    if entry is None:
        return str(key)
    if lang == "zh":
        return entry.zh
    if lang == "en":
        return entry.en
    return f"{entry.zh} {entry.en}"


__all__ = [
    "LABELS",
    "TIERS",
    "Label",
    "Lang",
    "Objective",
    "ServiceMode",
    "Tier",
    "VillageStatus",
    "label",
]
