"""A picture of an evaluation report: each model's scores side by side."""

from __future__ import annotations

from pathlib import Path

from retailor.evaluation.peers import PEERS
from retailor.evaluation.runner import Report


def plot_report(report: Report, path: Path) -> None:
    """Grouped bars: NDCG and Recall at each k (customers), or HR and MRR (sessions)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["ndcg", "recall"] if report.mode == "customers" else ["hr", "mrr"]
    columns = [f"{m}@{k}" for m in metrics for k in report.ks]
    names = sorted(report.results, key=lambda n: -report.results[n][columns[0]])
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(names)), 4.8), dpi=110)
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        values = [report.results[n][column] for n in names]
        xs = [i + (j - (len(columns) - 1) / 2) * width for i in range(len(names))]
        ax.bar(xs, values, width, label=column)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n} (peer)" if n in PEERS else n for n in names], rotation=30, ha="right")
    ax.set_ylabel("score (higher is better)")
    title = (
        "next-item prediction"
        if report.mode == "sessions"
        else f"last {report.split.get('test_days', '?'):g} days"
    )
    ax.set_title(f"Retailor offline evaluation: {title}")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
