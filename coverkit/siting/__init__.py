"""Sub-centre siting: eligibility, p-median / MCLP / p-centre, explanations.

Rule 1 of the policy (``POLICY.md``): pick **1 to 2** central township health
centres outside the county seat (在县城之外选建1至2个中心乡镇卫生院) and raise
them to county-hospital level, so that the population the county hospital
cannot reach in reasonable time comes within reach of county-level care.

Every model here works on a *cost matrix*: ``cost[i, j]`` is the travel time in
minutes from demand point ``i`` (a population cell or village) to candidate
``j`` (``np.inf`` = unreachable), ``weights[i]`` the population of ``i`` and
``baseline_min[i]`` the minutes from ``i`` to the nearest *existing*
county-level facility (the county hospitals, which stay open). After the plan,
county-level care is the existing facilities plus the chosen sites, so the
time of ``i`` is ``min(baseline_min[i], min_{j in S} cost[i, j])``.

The models are solved exactly with HiGHS (:func:`scipy.optimize.milp`). The
radius formulation is aggregated by distinct candidate *sets*: the 100,000+
population cells of a county share a few hundred sets of "candidates nearer
than the next level", so the MIP has a few hundred continuous variables and
solves in hundredths of a second (:func:`~coverkit.siting.base.set_model`).
Instances where the sets barely merge (the OR-Library ones) use a Benders
decomposition (``highspy``). ``method='enumerate'`` evaluates every set of sites instead;
``method='auto'`` (the default) uses the MIP and enumerates only when the
aggregated model is large and enumeration is cheap. The result reports the
method, the status and the MIP gap; a run that is not proven optimal
raises :class:`~coverkit.errors.SolverError` unless the caller accepts it
(``accept_suboptimal=True``).

One module per concern, as spopt's ``locate`` package: :mod:`~coverkit.siting.base`
(result, input checks, figures, the HiGHS helpers and the set-aggregated model),
:mod:`~coverkit.siting.p_median`, :mod:`~coverkit.siting.coverage` (MCLP) and
:mod:`~coverkit.siting.p_center` (the models), :mod:`~coverkit.siting.benders` (the
exact p-median MIP), :mod:`~coverkit.siting.capacitated`,
:mod:`~coverkit.siting.enumeration`, :mod:`~coverkit.siting.eligibility` (Rule 1
indicators), :mod:`~coverkit.siting.choice` (the number of sites, explanations,
comparison tables), :mod:`~coverkit.siting.scenarios` (a planner's own set beside the
optimum), :mod:`~coverkit.siting.target` (the smallest p for a coverage target) and
:mod:`~coverkit.siting.assignment` (a given set under capacities). Every model takes
``required=`` sites, counted in p. Everything public is importable from ``coverkit.siting``.

Examples
--------
>>> import numpy as np
>>> cost = np.array([[5.0, 40.0], [50.0, 10.0], [45.0, 45.0]])
>>> weights = np.array([100.0, 200.0, 50.0])
>>> result = PMedian.from_cost_matrix(cost, weights, p=1, baseline_min=[60.0] * 3).solve()
>>> result.selected
(1,)
"""

from __future__ import annotations

from coverkit.siting.assignment import CapacityAssignment, assign_with_capacity
from coverkit.siting.base import (
    SET_MODEL_LIMIT,
    SET_MODEL_MIN_MERGE,
    SitingResult,
    checked_required,
    evaluate_selection,
)
from coverkit.siting.choice import (
    SiteExplanation,
    SubcentreChoice,
    choose_subcentres,
    compare_objectives,
    coverage_table,
    explain_sites,
)
from coverkit.siting.coverage import MCLP
from coverkit.siting.eligibility import eligibility
from coverkit.siting.enumeration import ENUMERATION_LIMIT
from coverkit.siting.p_center import PCenter
from coverkit.siting.p_median import PMedian
from coverkit.siting.scenarios import SitesComparison, compare_with_optimum
from coverkit.siting.target import TargetResult, smallest_p_for_share
from coverkit.vocab import Objective

__all__ = [
    "ENUMERATION_LIMIT",
    "MCLP",
    "SET_MODEL_LIMIT",
    "SET_MODEL_MIN_MERGE",
    "CapacityAssignment",
    "Objective",
    "PCenter",
    "PMedian",
    "SiteExplanation",
    "SitesComparison",
    "SitingResult",
    "SubcentreChoice",
    "TargetResult",
    "assign_with_capacity",
    "checked_required",
    "choose_subcentres",
    "compare_objectives",
    "compare_with_optimum",
    "coverage_table",
    "eligibility",
    "evaluate_selection",
    "explain_sites",
    "smallest_p_for_share",
]
