"""``retailor policies evaluate``: estimate other offer policies offline on the decision log."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import httpx
import msgspec
from rich.table import Table

from retailor.cli.common import (
    config_option,
    console,
    data_option,
    friendly_errors,
    out,
    reach_data,
    settings_from,
)
from retailor.decision.logged import ChoiceRow, logged_choices
from retailor.decision.policies import Arm, VowpalPolicy
from retailor.evaluation.off_policy import (
    Estimate,
    LoggedChoice,
    RewardModel,
    TargetPolicy,
    always,
    evaluate,
    greedy,
    uniform_policy,
)
from retailor.settings import Settings

_rows = msgspec.json.Decoder(ChoiceRow)


def _read_rows(settings: Settings, log_file: Path | None) -> list[ChoiceRow]:
    if log_file is not None:
        try:
            return [
                _rows.decode(line) for line in log_file.read_bytes().splitlines() if line.strip()
            ]
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise click.ClickException(
                f"cannot read logged choices from {log_file}: {exc}"
            ) from None
    with reach_data(settings) as target:
        if target.client is not None and target.server is not None:
            response = httpx.get(
                f"{target.server.url}/v1/decision-log/choices",
                headers={"Authorization": f"Bearer {target.server.token}"},
                timeout=600,
            )
            response.raise_for_status()
            return [_rows.decode(line) for line in response.content.splitlines() if line.strip()]
        assert target.storage is not None
        return list(
            logged_choices(
                target.storage.decisions,
                reward_mode=settings.offer_reward,
                reward_scale=settings.reward_scale,
            )
        )


def _choice(row: ChoiceRow) -> LoggedChoice:
    return LoggedChoice(row.features, row.eligible, row.chosen, row.propensity, row.reward)


def _vowpal(train: Sequence[ChoiceRow], seed: int) -> TargetPolicy:
    policy = VowpalPolicy(seed=seed)
    for row in train:
        arms = [Arm(o, {}) for o in row.eligible]
        policy.update(row.features, arms, row.chosen, row.propensity, row.reward)

    def target(context: Any, actions: Sequence[str]) -> dict[str, float]:
        probs = policy.distribution(context, [Arm(a, {}) for a in actions])
        total = sum(probs) or 1.0
        return {a: p / total for a, p in zip(actions, probs, strict=True)}

    return target


def _policy(
    name: str, train: Sequence[ChoiceRow], seed: int, logged_offers: set[str]
) -> TargetPolicy:
    if name == "uniform":
        return uniform_policy
    if name.startswith("always:"):
        offer = name.split(":", 1)[1]
        if offer not in logged_offers:
            listed = ", ".join(sorted(logged_offers)) or "none"
            raise click.BadParameter(
                f"offer {offer!r} is never eligible in the logged choices, so always:{offer} "
                f"has nothing to be estimated on; the log's offers: {listed}",
                param_hint="--policy",
            )
        return always(offer)
    if name == "greedy":
        return greedy(RewardModel().fit([_choice(r) for r in train]))
    if name == "vowpal":
        return _vowpal(train, seed)
    raise click.BadParameter(
        f"unknown policy {name!r}: use uniform, always:OFFER_ID, greedy or vowpal",
        param_hint="--policy",
    )


@click.group()
def policies() -> None:
    """Offer policies: evaluate alternatives offline on what was logged."""


@policies.command("evaluate")
@data_option
@config_option
@click.option("--log", "log_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read logged choices from an NDJSON file (as GET /v1/decision-log/choices "
                   "writes them) instead of the data directory.")  # fmt: skip
@click.option("--policy", "names", multiple=True, default=("uniform", "greedy", "vowpal"), show_default=True,
              help="A policy to estimate: uniform, always:OFFER_ID, greedy (the best offer per "
                   "context by a reward model), vowpal (a contextual bandit). Repeat for several.")  # fmt: skip
@click.option("--train-share", default=0.5, show_default=True,
              help="Share of the log (oldest first) that learned policies (greedy, vowpal) train "
                   "on; every policy is then estimated on the rest.")  # fmt: skip
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@friendly_errors
def evaluate_policies(
    data_dir: Path | None, config_file: Path | None, log_file: Path | None, names: tuple[str, ...],
    train_share: float, seed: int, as_json: bool,
) -> None:  # fmt: skip
    """Estimate what other offer policies would have earned, from the decision log alone.

    Each logged choice carries the probability the live policy gave it, so the value of
    another policy is estimated without showing it to anyone: IPS (inverse propensity),
    SNIPS (self-normalized) and DR (doubly robust, with a reward model), each with a 95 %
    interval, next to what the logged policy earned.
    """
    if not 0 < train_share < 1:
        raise click.BadParameter("must be between 0 and 1", param_hint="--train-share")
    settings = settings_from(data_dir, config_file)
    rows = _read_rows(settings, log_file)
    if len(rows) < 10:
        console.print(
            f"[bold red]error:[/] the log holds {len(rows)} offer choices; at least 10 are needed. "
            'Ask for decisions with offers (POST /v1/decisions with "offers": 1) and send feedback.'
        )
        raise SystemExit(2)
    rows.sort(key=lambda r: r.at)
    cut = int(len(rows) * train_share)
    train, test = rows[:cut], rows[cut:]
    report: dict[str, Any] = {
        "choices": len(rows),
        "train": len(train),
        "evaluated_on": len(test),
        "policies": {},
    }
    log = [_choice(r) for r in test]
    logged_offers = {offer for r in rows for offer in r.eligible}
    for name in names:
        estimates = evaluate(log, _policy(name, train, seed, logged_offers))
        report["policies"][name] = {k: _as_dict(v) for k, v in estimates.items()}
    if as_json:
        out.print_json(msgspec.json.encode(report).decode())
        return
    table = Table(
        title=f"Offer policies on {len(test):,} logged choices (learned ones trained on {len(train):,} before)"
    )
    for column in ("policy", "logged", "IPS", "SNIPS", "DR", "effective n (IPS)"):
        table.add_column(column, justify="right" if column != "policy" else "left")
    for name, est in report["policies"].items():
        table.add_row(
            name,
            _fmt(est["logged"]),
            _fmt(est["ips"]),
            _fmt(est["snips"]),
            _fmt(est["dr"]),
            f"{est['ips']['effective_sample_size']:,.0f}",
        )
    out.print(table)
    out.print(
        "[dim]values are the expected reward per decision (1 = a redemption); 95 % intervals.[/]"
    )


def _as_dict(estimate: Estimate) -> dict[str, Any]:
    return {
        "value": estimate.value,
        "ci95": list(estimate.ci95),
        "n": estimate.n,
        "effective_sample_size": estimate.effective_sample_size,
    }


def _fmt(est: dict[str, Any]) -> str:
    low, high = est["ci95"]
    return f"{est['value']:.4f} [{low:.4f}, {high:.4f}]"
