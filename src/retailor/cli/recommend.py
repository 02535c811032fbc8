"""``retailor recommend``: batch recommendations for campaigns, as CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from retailor.cli.common import console, data_option, friendly_errors, reach_data, settings_from
from retailor.models.errors import NotTrainedError
from retailor.models.families import known_models
from retailor.privacy.consent import MARKETING, PURPOSES, may_contact
from retailor.problem import RetailorError

PERSONALIZATION = "personalization"

HEADER = ("customer_id", "rank", "item_id", "score", "source")
Answer = Callable[[str], list[tuple[str, float, str]]]


def read_customers(path: Path) -> list[str]:
    """Customer identifiers from a file: a CSV with a ``customer_id`` (or ``id``,
    ``email``…) column, or one identifier per line."""
    if not path.exists():
        raise click.BadParameter(f"{path} does not exist", param_hint="--customers")
    text = path.read_text(encoding="utf-8-sig").splitlines()
    if not text:
        return []
    head = [c.strip().lower() for c in next(csv.reader([text[0]]))]
    for name in ("customer_id", "customerid", "customer", "id", "user_id", "email"):
        if name in head:
            column = head.index(name)
            rows = csv.reader(text[1:])
            return [r[column].strip() for r in rows if len(r) > column and r[column].strip()]
    return [line.strip() for line in text if line.strip()]


@click.command()
@data_option
@click.option("--customers", "customers_file", type=click.Path(path_type=Path),
              help="File of customers (a customer_id column, or one id per line).")  # fmt: skip
@click.option("--all", "everyone", is_flag=True, help="Every known customer.")
@click.option(
    "--k", default=10, show_default=True, type=click.IntRange(1, 500), help="Items per customer."
)
@click.option("--model", default="blend", show_default=True,
              type=click.Choice(known_models()), help="Which trained model answers.")  # fmt: skip
@click.option("--output", type=click.Path(path_type=Path), required=True, help="CSV file to write.")
@click.option(
    "--purpose",
    type=click.Choice(PURPOSES),
    default=MARKETING,
    show_default=True,
    help="What the file is for: customers who withdrew this purpose are left out "
    "(marketing: any marketing purpose; with consent_required, also those who never gave it).",
)
@friendly_errors
def recommend(
    data_dir: Path | None,
    customers_file: Path | None,
    everyone: bool,
    k: int,
    model: str,
    output: Path,
    purpose: str,
) -> None:
    """Write the top K items for each customer as CSV: customer_id,rank,item_id,score,source.

    Customers Retailor does not know get the cold-start answer (popular and trending
    items), never an error. Customers who may not be contacted for --purpose (a
    marketing contact by default) are left out; those who withdrew personalization get
    the answer for a stranger, as the API gives them. Example:

      retailor recommend --all --k 10 --output campaign.csv
    """
    from retailor.models.base import Context
    from retailor.runtime.command import command_services

    if bool(customers_file) == everyone:
        raise click.UsageError("give either --customers FILE or --all")
    settings = settings_from(data_dir)
    with reach_data(settings) as target:
        if target.client is not None:
            if everyone:
                raise click.UsageError(
                    "--all needs the data directory to itself; stop the server, or pass --customers"
                )
            assert customers_file is not None
            wanted = read_customers(customers_file)

            def allowed(customer: str) -> bool:
                assert target.client is not None
                try:
                    held = target.client.consent(customer)["consent"]
                except RetailorError as exc:
                    if exc.status != 404:
                        raise
                    held = {}  # no one known by it: no record
                consent = {p: bool(s["granted"]) for p, s in held.items()}
                return may_contact(consent, purpose, required=settings.consent_required)

            def answer(customer: str) -> list[tuple[str, float, str]]:
                assert target.client is not None
                got = target.client.recommendations(customer, model=model, k=k)
                return [(i["item_id"], i["score"], i["source"]) for i in got["items"]]

            _write(output, [c for c in wanted if allowed(c)], answer, len(wanted), purpose)
            return
        assert target.storage is not None
        with command_services(settings, target.storage) as services:
            services.models.reload()
            if services.models.get(model) is None and services.models.get("popularity") is None:
                raise click.ClickException(
                    f"model {model!r} has not been trained yet: retailor train --models {model}"
                )
            if everyone:
                wanted = sorted(services.profiles.states)
            else:
                assert customers_file is not None
                wanted = read_customers(customers_file)

            required = settings.consent_required

            def consent_of(customer: str) -> dict[str, bool]:
                key = services.profiles.resolve(customer)
                held = services.profiles.consent(key) if key is not None else None
                return {p: granted for p, (granted, _) in (held or {}).items()}

            def answer(customer: str) -> list[tuple[str, float, str]]:
                key = services.profiles.resolve(customer)
                personal = may_contact(consent_of(customer), PERSONALIZATION, required=required)
                # without personalization consent: the answer for a stranger
                who = (key or customer) if personal else None
                try:
                    _, items = services.models.recommend(model, who, Context(), k)
                except NotTrainedError:
                    _, items = services.models.recommend("blend", who, Context(), k)
                return [(s.item_id, s.score, s.source) for s in items]

            kept = [c for c in wanted if may_contact(consent_of(c), purpose, required=required)]
            _write(output, kept, answer, len(wanted), purpose)


def _write(output: Path, customers: list[str], answer: Answer, asked: int, purpose: str) -> None:
    rows = 0
    with (
        open(output, "w", newline="") as handle,
        Progress(
            TextColumn("recommending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=True,
        ) as bar,
    ):  # fmt: skip
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        task = bar.add_task("recommending", total=len(customers))
        for customer in customers:
            for rank, (item, score, source) in enumerate(answer(customer), start=1):
                writer.writerow((customer, rank, item, f"{score:.6f}", source))
                rows += 1
            bar.advance(task)
    console.print(f"wrote {rows:,} rows for {len(customers):,} customers to {output}")
    if asked > len(customers):
        console.print(
            f"{asked - len(customers):,} customers left out: they may not be contacted for {purpose}"
        )
