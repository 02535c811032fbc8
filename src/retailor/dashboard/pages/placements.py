"""Placements, offers and campaigns, ``/dashboard/placements``: per placement, per offer
and per campaign the decisions, CTR, conversion, attributed revenue and revenue per
decision; each offer's redemptions and budget spent in the period and, against its
configured budget and redemption limit, so far; and the policy's share of each offer over
time (per hour or day, the share of the decisions with an offer slot that chose it).

Every figure comes from ``Reports.report`` — the function ``GET /v1/reports`` answers
with — for the page's period (``by=placement``, ``by=offer``, ``by=campaign``; with the
period's ``interval`` for the shares), and the offers' usage so far from the offer ledger,
as ``GET /v1/offers`` answers it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from retailor.analytics.reports import Report
from retailor.dashboard.context import DashboardContext
from retailor.dashboard.periods import CHOICES, Period, read_period
from retailor.dashboard.registry import page
from retailor.dashboard.rendering import chart, render, when
from retailor.dashboard.sessions import Session
from retailor.domain.offers import Offer

#: How a row without a value of its dimension is named (decisions with no offer, no
#: campaign label).
NONE_LABELS = {"offer": "(no offer)", "campaign": "(no campaign)", "placement": "(none)"}
#: The most bars a ranking chart shows (the largest by decisions); the tables show all.
CHART_BARS = 20
#: The most offers the share chart stacks (the most chosen); the rest add up to "other".
STACKED_OFFERS = 8


def conversion(row: dict[str, Any]) -> float | None:
    """Orders per decision: the orders with a line attributed to the group's decisions
    over its decisions (None without decisions).

    >>> conversion({"orders": 3, "decisions": 120})
    0.025
    """
    decisions = row.get("decisions", 0)
    return round(row.get("orders", 0) / decisions, 6) if decisions else None


@dataclass(frozen=True)
class OfferBudget:
    """An offer's definition and its usage so far (the ledger, as ``GET /v1/offers``):
    redemptions and spend against its redemption limit and budget."""

    offer: Offer
    redemptions: int
    spent: float

    @property
    def budget_used(self) -> float | None:
        """The share of the budget spent (None: no budget, or a budget of 0 unspent)."""
        budget = self.offer.budget
        if budget is None:
            return None
        if budget == 0:
            return 1.0 if self.spent > 0 else None
        return self.spent / budget

    @property
    def redemptions_used(self) -> float | None:
        """The share of the redemption limit used (None: no limit)."""
        limit = self.offer.max_redemptions
        return None if limit is None else self.redemptions / limit


@dataclass(frozen=True)
class OfferShares:
    """The share of each offer among the decisions with an offer slot, per period."""

    periods: list[datetime]
    #: decisions with at least one offer slot, per period
    with_offer: list[int]
    #: per offer id, its share in each period (None where no decision had an offer)
    shares: dict[str, list[float | None]]
    #: per offer id, its decisions in each period
    decisions: dict[str, list[int]]


@dataclass(frozen=True)
class PlacementsView:
    """What the page shows for one period."""

    period: Period
    by_placement: Report
    by_offer: Report
    by_campaign: Report
    budgets: list[OfferBudget]
    shares: OfferShares


def every_period(start: datetime, end: datetime, interval: str) -> list[datetime]:
    """The start of every hour or day (UTC) that ``[start, end)`` touches, as a report's
    ``period`` names them.

    >>> from datetime import UTC
    >>> [p.hour for p in every_period(datetime(2026, 3, 1, 22, 30, tzinfo=UTC),
    ...                               datetime(2026, 3, 2, 1, 0, tzinfo=UTC), "hour")]
    [22, 23, 0]
    """
    step = timedelta(hours=1) if interval == "hour" else timedelta(days=1)
    at = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if interval != "hour":
        at = at.replace(hour=0)
    found = []
    while at < end:
        found.append(at)
        at += step
    return found


def offer_shares(over_time: Report, by_offer: Report) -> OfferShares:
    """The policy's share of each offer per period: decisions that chose it over the
    decisions with an offer slot (a decision shows under each offer it chose, so the shares
    of a period sum to more than 1 when decisions carry several offers).

    ``over_time`` is the report by interval alone (every decision of each period),
    ``by_offer`` the report by interval and ``offer`` (decisions with none under None);
    every period of the range is there, None where no decision had an offer."""
    request = over_time.request
    periods = every_period(request.start, request.end, request.interval or "day")
    total = {row["period"]: row["decisions"] for row in over_time.rows}
    without: dict[datetime, int] = {}
    chose: dict[str, dict[datetime, int]] = {}
    for row in by_offer.rows:
        if row["offer"] is None:
            without[row["period"]] = row["decisions"]
        else:
            chose.setdefault(row["offer"], {})[row["period"]] = row["decisions"]
    with_offer = [total.get(p, 0) - without.get(p, 0) for p in periods]
    shares: dict[str, list[float | None]] = {}
    decisions: dict[str, list[int]] = {}
    for offer_id in sorted(chose):
        counts = [chose[offer_id].get(p, 0) for p in periods]
        decisions[offer_id] = counts
        shares[offer_id] = [
            round(n / base, 6) if base else None for n, base in zip(counts, with_offer, strict=True)
        ]
    return OfferShares(periods, with_offer, shares, decisions)


def read_placements(ctx: DashboardContext, period: Period) -> PlacementsView | None:
    """The page's figures (None when the server keeps no report facts)."""
    if ctx.reports is None:
        return None
    reports = ctx.reports
    by_offer = reports.report(period.request(("offer",), None))
    over_time = reports.report(period.request())
    offers_over_time = reports.report(period.request(("offer",)))
    budgets = []
    for offer in ctx.decisions.offers.all():
        redemptions, spent = ctx.decisions.ledger.usage(offer.offer_id)
        budgets.append(OfferBudget(offer, redemptions, round(spent, 2)))
    return PlacementsView(
        period,
        reports.report(period.request(("placement",), None)),
        by_offer,
        reports.report(period.request(("campaign",), None)),
        budgets,
        offer_shares(over_time, offers_over_time),
    )


def table_rows(report: Report, dimension: str) -> list[dict[str, Any]]:
    """A report's rows as the tables show them: the dimension's value (``key``: "" for
    none), its label, the report's figures and the conversion; largest first."""
    rows = []
    for row in report.rows:
        value = row[dimension]
        label = NONE_LABELS[dimension] if value is None else str(value)
        rows.append({**row, "key": "" if value is None else str(value), "label": label,
                     "conversion": conversion(row)})  # fmt: skip
    rows.sort(key=lambda r: (-r["decisions"], r["label"]))
    return rows


def _ranking(rows: list[dict[str, Any]], metric: str, name: str, unit: str,
             title: str) -> dict[str, Any]:  # fmt: skip
    shown = rows[:CHART_BARS]
    return chart("bar", [r["label"] for r in shown], [(name, [r[metric] for r in shown])],
                 unit=unit, title=title)  # fmt: skip


def share_chart(shares: OfferShares, interval: str) -> dict[str, Any]:
    """The stacked bar chart of the offers' shares per period (the most chosen offers;
    the others as "other offers")."""
    ranked = sorted(shares.decisions, key=lambda o: (-sum(shares.decisions[o]), o))
    kept, rest = ranked[:STACKED_OFFERS], ranked[STACKED_OFFERS:]
    series: list[tuple[str, list[float | None]]] = [(o, shares.shares[o]) for o in kept]
    if rest:
        other = [
            round(sum(shares.decisions[o][i] for o in rest) / base, 6) if base else None
            for i, base in enumerate(shares.with_offer)
        ]
        series.append(("other offers", other))
    block = chart(
        "bar", [when(p, interval) for p in shares.periods], series, unit="percent",
        title="Share of the decisions with an offer that chose each offer",
    )  # fmt: skip
    block["stacked"] = True
    return block


def charts(view: PlacementsView, rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The chart blocks of the page, by element id."""
    placements, offers, campaigns = rows["placement"], rows["offer"], rows["campaign"]
    return {
        "chart-placement-ctr": _ranking(placements, "ctr", "CTR", "percent", "CTR by placement"),
        "chart-placement-rpd": _ranking(placements, "revenue_per_decision",
                                        "revenue per decision", "money",
                                        "Revenue per decision by placement"),
        "chart-offer-revenue": _ranking(offers, "attributed_revenue", "attributed revenue",
                                        "money", "Attributed revenue by offer"),
        "chart-campaign-revenue": _ranking(campaigns, "attributed_revenue",
                                           "attributed revenue", "money",
                                           "Attributed revenue by campaign"),
        "chart-offer-share": share_chart(view.shares, view.period.interval),
    }  # fmt: skip


@page("/placements")
async def placements(request: Request, ctx: DashboardContext, session: Session) -> Response:
    """The placements, offers and campaigns page."""
    period = read_period(dict(request.query_params))
    view = await asyncio.to_thread(read_placements, ctx, period)
    rows = (
        {name: table_rows(getattr(view, f"by_{name}"), name)
         for name in ("placement", "offer", "campaign")}
        if view is not None else {}
    )  # fmt: skip
    names = {b.offer.offer_id: b.offer.name for b in view.budgets} if view is not None else {}
    return render(
        request,
        "placements.html",
        title="Placements",
        period=period,
        choices=CHOICES,
        view=view,
        rows=rows,
        offer_names=names,
        charts=charts(view, rows) if view is not None else {},
    )
