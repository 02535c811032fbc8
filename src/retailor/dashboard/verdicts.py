"""An experiment's comparisons in words: the verdict on each metric and the sequential
status, from one entry of ``comparisons`` of the results document
(``GET /v1/experiments/{id}/results``, ``experiments.results``).

The verdict reads the relative effect and its 95 % (Welch) interval; whether the
difference is *shown* is the always-valid (sequential) interval's call, the one that may be
looked at every day: it is shown when that interval excludes zero.

>>> c = {"variant": "personal", "metric": "revenue", "warnings": [],
...      "relative": {"effect": 0.082, "ci95": [0.015, 0.15]},
...      "sequential": {"ci95": [0.002, 0.17]}}
>>> verdict(c, "plain")
'personal earns 8.2 % more revenue per person than plain (95 %: +1.5 % to +15 %); the always-valid interval excludes zero: the difference is shown'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from retailor.experiments.checks import SRM_THRESHOLD

SHOWN = "a difference is shown"
KEEP_RUNNING = "keep running"
#: Per metric: what the variant does more / less of, as "{variant} … than {control}".
PHRASES = {
    "conversion": ("converts {x} more often", "converts {x} less often"),
    "revenue": ("earns {x} more revenue per person", "earns {x} less revenue per person"),
    "clicks": ("gets {x} more clicks per person", "gets {x} fewer clicks per person"),
    "redemptions": (
        "gets {x} more offers redeemed per person",
        "gets {x} fewer offers redeemed per person",
    ),
    "aov": ("has a {x} higher average order value", "has a {x} lower average order value"),
}
#: What each metric is, for the page's legend.
METRIC_LABELS = {
    "conversion": "conversion (share of people who ordered)",
    "revenue": "revenue per person",
    "clicks": "clicks per person",
    "redemptions": "offers redeemed per person",
    "aov": "average order value (revenue per order)",
}


def signed_percent(value: float) -> str:
    """``+1.5 %``, ``-12 %``: two significant digits, at most one decimal.

    >>> signed_percent(0.15), signed_percent(-0.0042), signed_percent(0.0)
    ('+15 %', '-0.4 %', '0 %')
    """
    points = value * 100
    shown = f"{points:.1f}" if abs(points) < 10 else f"{points:.0f}"
    if shown.endswith(".0"):
        shown = shown[:-2]
    if shown in ("0", "-0"):
        return "0 %"
    return f"{'+' if points > 0 else ''}{shown} %"


def excludes_zero(interval: Sequence[float]) -> bool:
    """Whether ``[lo, hi]`` lies wholly on one side of zero."""
    low, high = interval
    return low > 0 or high < 0


def shown(comparison: Mapping[str, Any]) -> bool:
    """Whether the always-valid interval of the relative effect excludes zero."""
    return not comparison["warnings"] and excludes_zero(comparison["sequential"]["ci95"])


def status(comparison: Mapping[str, Any]) -> str:
    """The sequential status of one comparison: "a difference is shown" or "keep running"."""
    return SHOWN if shown(comparison) else KEEP_RUNNING


def verdict(comparison: Mapping[str, Any], control: str) -> str:
    """One sentence on one variant and metric (see the module docstring)."""
    variant, metric = comparison["variant"], comparison["metric"]
    if comparison["warnings"]:
        return (
            f"{variant} and {control} cannot be compared on {metric} yet "
            f"({'; '.join(comparison['warnings'])}): keep running"
        )
    effect = comparison["relative"]["effect"]
    low, high = comparison["relative"]["ci95"]
    more, less = PHRASES.get(
        metric, (f"is {{x}} higher on {metric}", f"is {{x}} lower on {metric}")
    )
    size = f"{abs(effect) * 100:.1f} %"
    if effect == 0:
        said = f"{variant} does the same as {control} on {metric}"
    else:
        said = f"{variant} {(more if effect > 0 else less).format(x=size)} than {control}"
    interval = f"(95 %: {signed_percent(low)} to {signed_percent(high)})"
    if shown(comparison):
        call = "the always-valid interval excludes zero: the difference is shown"
    else:
        call = "the always-valid interval includes zero: keep running"
    return f"{said} {interval}; {call}"


def overall_status(comparisons: Sequence[Mapping[str, Any]]) -> str:
    """The experiment's sequential status: "a difference is shown" when any comparison's
    always-valid interval excludes zero, else "keep running"."""
    return SHOWN if any(shown(c) for c in comparisons) else KEEP_RUNNING


def srm_broken(srm_p_value: float) -> bool:
    """Whether the units per variant are too far from the weights to trust the results."""
    return srm_p_value < SRM_THRESHOLD
