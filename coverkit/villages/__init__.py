"""Village service: population estimates, service modes, rotation timetables, staffing.

This package turns Rules 2-5 of ``shared/policy/POLICY.md`` into tables. It is
pure: it takes GeoDataFrames / DataFrames and travel-time *matrices* in
minutes (``np.inf`` = unreachable) computed upstream by the network module,
and never imports network, siting, maps or report. One module per concern:

- :mod:`~coverkit.villages.population`: :func:`estimate_village_population`.
- :mod:`~coverkit.villages.modes`: :func:`assign_service_modes` (the rule for one
  village is :func:`service_mode`) and :func:`propose_shared_clinics`. Given the km
  of the trips (``centre_km``, a :data:`TripKm` for pairs of villages), they add km
  beside the minutes, measured along the same paths.
- :mod:`~coverkit.villages.joint`: :func:`assign_joint_hosts` (which standard
  clinic serves which neighbour, exactly, within each host's caps) and
  :func:`walking_minutes`.
- :mod:`~coverkit.villages.timetable`: :func:`rotation_timetable`.
- :mod:`~coverkit.villages.staffing`: :func:`staffing_checks`, one function per rule.

Service modes (Rule 2; 000 §(一), 001 §3), tried in this order, one rule each:

- ``R2-FIXED`` → ``fixed`` (固定村卫生室): the village has a standard clinic.
- ``R2-JOINT`` → ``joint`` (邻（联）村延伸服务): no standard clinic, and a host
  clinic takes it: another village's standard clinic in the same township
  (``joint_same_township``) within ``joint_service_max_min`` minutes of
  ``joint_travel_mode`` (walking by default), whose load stays within
  ``joint_max_villages`` guest villages and ``joint_max_population`` people
  (its own village included). Hosts are chosen for all villages at once: the
  most people served jointly, then the most villages, then the least travel.
- ``R2-BUILD`` → ``build`` (新建/提标村卫生室): no standard clinic, no host,
  and at least ``build_clinic_min_population`` residents: build a standard
  clinic (none) or upgrade the weak one (每个行政村原则上设置1所标准化村卫生室).
- ``R2-ROTATION`` → ``rotation`` (乡镇卫生院定期巡诊): within
  ``rotation_max_min`` of its township health centre and fewer than
  ``stationed_min_population`` residents. Its timetable
  (:func:`rotation_timetable`, 000 §(一) 每周开展巡诊至少2次，每次至少半天，巡诊时间要相对固定):
  ``rotation_visits_per_week`` visits a week on different days at the same
  half-day slot, each a stay of at least ``rotation_visit_min`` minutes at that
  one village with the drive on top, by the fewest teams of the centre.
- ``R2-STATIONED`` → ``stationed`` (派驻): too far, too large, unreachable by
  road, or no township health centre; at least 5 days a week and at least
  half a year continuously in the same village.

:class:`~coverkit.vocab.ServiceMode` and :func:`~coverkit.io.clinic_status_from_values`
are re-exported here for compatibility.
"""

from __future__ import annotations

from coverkit.io import clinic_status_from_values
from coverkit.villages.joint import JointAssignment, assign_joint_hosts, walking_minutes
from coverkit.villages.modes import (
    ModeLimits,
    TripKm,
    VillageAccess,
    assign_service_modes,
    clinic_hosts,
    mode_reason,
    pair_km,
    propose_shared_clinics,
    service_mode,
)
from coverkit.villages.population import MetricCells, estimate_village_population
from coverkit.villages.staffing import staffing_checks
from coverkit.villages.timetable import (
    HALF_DAYS,
    HALF_DAYS_ZH,
    WEEKDAYS,
    WEEKDAYS_ZH,
    rotation_timetable,
)
from coverkit.vocab import ServiceMode

__all__ = [
    "HALF_DAYS",
    "HALF_DAYS_ZH",
    "WEEKDAYS",
    "WEEKDAYS_ZH",
    "JointAssignment",
    "MetricCells",
    "ModeLimits",
    "ServiceMode",
    "TripKm",
    "VillageAccess",
    "assign_joint_hosts",
    "assign_service_modes",
    "clinic_hosts",
    "clinic_status_from_values",
    "estimate_village_population",
    "mode_reason",
    "pair_km",
    "propose_shared_clinics",
    "rotation_timetable",
    "service_mode",
    "staffing_checks",
    "walking_minutes",
]
