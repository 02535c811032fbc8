"""The statistics of an experiment: every variant against the control, on every metric.

`compare` answers one metric for one variant; `analyse` answers a whole experiment from the
summaries of each variant's metrics, the units each variant received and the configured
weights, adding the sample ratio check and Holm-adjusted p-values across each variant's
metrics. The answer is plain data (dicts, lists, floats), ready for JSON:

    {"control": "a", "srm_p_value": 0.41, "warnings": [],
     "variants": {"b": {"revenue": {
         "control_mean": ..., "variant_mean": ..., "cuped": false, "theta": 0.0,
         "absolute": {"effect": ..., "ci95": [lo, hi], "p_value": ..., "p_value_holm": ...},
         "relative": {... the same, as a fraction of the control's mean ...},
         "sequential": {"ci95": [lo, hi], "p_value": ...},
         "chance_to_win": ...,
         "warnings": []}}}}

`sequential` and `chance_to_win` are on the relative effect unless asked otherwise. When a
metric carries a pre-exposure covariate the effects are CUPED-adjusted (`cuped` true, with
the coefficient `theta`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from retailor.experiments.checks import SRM_THRESHOLD, holm, srm_p_value
from retailor.experiments.inference import chance_to_win, sequential, testable, welch
from retailor.experiments.summary import MetricSummary, estimates

Difference = Literal["absolute", "relative"]


def compare(
    control: MetricSummary, variant: MetricSummary, difference: Difference = "relative"
) -> dict[str, Any]:
    """One variant against the control on one metric."""
    if difference not in ("absolute", "relative"):
        raise ValueError(f"difference must be 'absolute' or 'relative', not {difference!r}")
    est_a, est_b, theta = estimates(control, variant)
    relative = difference == "relative"
    warnings: list[str] = []
    if est_a.n == 0 or est_b.n == 0:
        warnings.append("an arm has no units")
    elif est_a.degenerate or est_b.degenerate:
        warnings.append("an arm has no variance: no test")
    elif not testable(est_a, est_b):
        warnings.append("the control's mean is zero: no test")
    seq = sequential(est_a, est_b, relative)
    return {
        "control_mean": est_a.unadjusted_mean,
        "variant_mean": est_b.unadjusted_mean,
        "cuped": theta != 0,
        "theta": theta,
        "absolute": welch(est_a, est_b, relative=False).as_dict(),
        "relative": welch(est_a, est_b, relative=True).as_dict(),
        "sequential": {"ci95": list(seq.ci95), "p_value": seq.p_value},
        "chance_to_win": chance_to_win(est_a, est_b, relative),
        "warnings": warnings,
    }


def analyse(
    summaries: Mapping[str, Mapping[str, MetricSummary]],
    *,
    control: str,
    units: Mapping[str, int],
    weights: Mapping[str, float],
    difference: Difference = "relative",
) -> dict[str, Any]:
    """Every non-control variant against `control` on every metric of the control.

    `summaries` maps variant -> metric -> summary; `units` the units each variant received
    and `weights` the configured traffic weights, both keyed by variant.
    """
    if control not in summaries:
        raise ValueError(f"no summaries for the control variant {control!r}")
    variants = list(summaries)
    for name, table in (("units", units), ("weights", weights)):
        absent = [v for v in variants if v not in table]
        if absent:
            raise ValueError(f"{name} missing for variants: {', '.join(absent)}")
    srm = srm_p_value([units[v] for v in variants], [weights[v] for v in variants])
    warnings: list[str] = []
    if srm < SRM_THRESHOLD:
        warnings.append(
            f"sample ratio mismatch (p = {srm:.3g} < {SRM_THRESHOLD}): "
            "the units do not match the configured weights; results are not trustworthy"
        )
    baseline = summaries[control]
    results: dict[str, dict[str, Any]] = {}
    for variant in variants:
        if variant == control:
            continue
        metrics: dict[str, Any] = {}
        for metric, control_summary in baseline.items():
            if metric not in summaries[variant]:
                raise ValueError(f"variant {variant!r} has no summary for metric {metric!r}")
            metrics[metric] = compare(control_summary, summaries[variant][metric], difference)
        for kind in ("absolute", "relative"):
            adjusted = holm([m[kind]["p_value"] for m in metrics.values()])
            for m, p in zip(metrics.values(), adjusted, strict=True):
                m[kind]["p_value_holm"] = p
        results[variant] = metrics
    return {"control": control, "srm_p_value": srm, "warnings": warnings, "variants": results}
