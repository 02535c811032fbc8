"""Experiments: who gets which variant, and what each variant earned.

What it owns: deterministic assignment of units to variants and to the global holdout
(`assignment.py`); the summary a variant's metric is reduced to (`summary.py`: counts, sums
and sums of squares, with a ratio metric's denominator or a pre-exposure covariate, and the
estimates derived from them: plain means, ratio means by the delta method, CUPED-adjusted
means), the inference on one variant against the control (`inference.py`: Welch t-test,
always-valid sequential interval, Bayesian chance to win), the checks across a whole
experiment (`checks.py`: sample ratio mismatch, Holm's adjustment) and the report that puts
them together (`statistics.py`); per-person metrics from first exposure and the results
document (`results.py`). All of these are pure. `reading.py` reads an experiment's results
through the exposure and fact store ports (never an adapter). The figures equal those of
GrowthBook's open-source engine (`gbstats` 0.8.0) on the same summary statistics; see
docs/measurement.md."""
