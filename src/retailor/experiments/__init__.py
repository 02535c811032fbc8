"""Experiment statistics: pure functions over per-variant summary statistics, no I/O.

What it owns: the summary a variant's metric is reduced to (`summary.py`: counts, sums and
sums of squares, with a ratio metric's denominator or a pre-exposure covariate, and the
estimates derived from them: plain means, ratio means by the delta method, CUPED-adjusted
means), the inference on one variant against the control (`inference.py`: Welch t-test,
always-valid sequential interval, Bayesian chance to win), the checks across a whole
experiment (`checks.py`: sample ratio mismatch, Holm's adjustment) and the report that puts
them together (`statistics.py`). The figures equal those of GrowthBook's open-source engine
(`gbstats` 0.8.0) on the same summary statistics; see docs/measurement.md."""
