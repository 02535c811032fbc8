"""Wiring the fact tables of reports: the updater's view of the present (who is who from
the profiles, segments, the campaign labels and costs of placements and offers, catalog
costs, each placement's attribution window) and the updater itself, which the holder of
the background lease runs every :data:`FOLD_SECONDS` (embedded: the one server)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from retailor.analytics.activity import Activity, Person
from retailor.analytics.attribution import DEFAULT_CLICKED_SECONDS, DEFAULT_SHOWN_SECONDS, Windows
from retailor.analytics.folding import FactSources
from retailor.analytics.reports import Reports
from retailor.analytics.updater import FactUpdater
from retailor.decision.service import DecisionService
from retailor.domain.customers import IdentifierKind
from retailor.experiments.reading import ExperimentResults
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.storage.factory import Storage

if TYPE_CHECKING:
    from retailor.runtime.services import Services

#: How often the lease holder folds what is new in the logs into the facts: a report is
#: at most this plus the updater's settle time (10 s) behind.
FOLD_SECONDS = 15.0
_KINDS = (IdentifierKind.CUSTOMER_ID, IdentifierKind.ANONYMOUS_ID)


def person_of(profiles: ProfileService) -> Person:
    """Who a customer id or visitor id is: its identity cluster's canonical id (the id
    itself when the profiles know it not; None for neither)."""

    def person(customer: str | None, anonymous_id: str | None) -> str | None:
        if customer:
            return profiles.resolve(customer) or customer
        if anonymous_id:
            return profiles.resolve_anonymous(anonymous_id) or anonymous_id
        return None

    return person


def fact_sources(
    profiles: ProfileService, segments: SegmentService, decisions: DecisionService
) -> FactSources:
    """The updater's view of the running system (see ``analytics.folding.FactSources``)."""
    person = person_of(profiles)

    def identifiers(key: str) -> list[str]:
        return [ref.value for ref in profiles.graph.members(key) if ref.kind in _KINDS]

    def campaigns_of(placement_id: str, offers: Sequence[str]) -> list[str]:
        placement = decisions.placements.get(placement_id)
        labels = [placement.campaign] if placement is not None and placement.campaign else []
        for offer_id in offers:
            offer = decisions.offers.get(offer_id)
            if offer is not None and offer.campaign:
                labels.append(offer.campaign)
        return labels

    def offer_cost(offer_id: str) -> float | None:
        offer = decisions.offers.get(offer_id)
        return None if offer is None else offer.redemption_cost()

    def unit_cost(item_id: str) -> float | None:
        facts = decisions.catalog.get(item_id)
        return None if facts is None else facts.cost

    def windows() -> Windows:
        return Windows(
            DEFAULT_CLICKED_SECONDS,
            DEFAULT_SHOWN_SECONDS,
            {
                placement_id: (p.attribution.clicked_hours * 3600, p.attribution.shown_hours * 3600)
                for placement_id, p in decisions.placements.all().items()
                if p.attribution is not None
            },
        )

    return FactSources(
        person=person,
        identifiers=identifiers,
        segments_of=segments.segments_of,
        campaigns_of=campaigns_of,
        offer_cost=offer_cost,
        unit_cost=unit_cost,
        windows=windows,
    )


def build_fact_updater(
    storage: Storage,
    profiles: ProfileService,
    segments: SegmentService,
    decisions: DecisionService,
    *,
    settle_seconds: float = 10.0,
    horizon: Callable[[], int] | None = None,
) -> FactUpdater | None:
    """The updater of ``storage``'s fact tables (None when it has none). ``horizon``: on
    a shared log, the follower's catch-up with the log, so that the profiles the updater
    asks who is who have folded every event it folds."""
    if storage.facts is None:
        return None
    return FactUpdater(
        storage.decisions,
        storage.events,
        storage.facts,
        fact_sources(profiles, segments, decisions),
        settle_seconds=settle_seconds,
        horizon=horizon,
    )


def reports_of(services: Services) -> Reports | None:
    """The reports of a server: over its fact store; embedded (one process owns the
    store) a report first folds what is new, when the last fold is over 2 s old; on
    shared stores the lease holder keeps the facts (at most a minute behind)."""
    facts = services.storage.facts
    if facts is None:
        return None
    return Reports(
        facts,
        services.facts,
        catch_up=not services.storage.shared,
        withheld=lambda directory: withhold(directory, services.profiles),
    )


def withhold(directory: Path, profiles: ProfileService) -> int:
    """Blank, in the export under ``directory``, whose rows the customers who withdrew
    their analytics consent are."""
    from retailor.privacy.consent import withdrawn_ids
    from retailor.storage.files.exports import blank_people

    return blank_people(directory, withdrawn_ids(profiles))


def experiment_results_of(services: Services, reports: Reports | None) -> ExperimentResults | None:
    """Experiment results over the exposure store and the report facts, with who is who
    from this process's profiles (None when the stores keep no facts)."""
    facts = services.storage.facts
    if facts is None:
        return None
    profiles = services.profiles

    def canonical(identifier: str) -> str:
        if identifier.startswith("a:"):
            return profiles.resolve_anonymous(identifier[2:]) or identifier
        return profiles.resolve(identifier) or identifier

    return ExperimentResults(
        services.storage.exposures,
        facts,
        canonical,
        refresh=reports.refresh if reports is not None else None,
        wait_exposures=services.decisions.exposures.wait_idle,
    )


def activity_of(services: Services, reports: Reports | None) -> Activity | None:
    """Visitors, orders and revenue by their own time and the live event rate, over the
    event log and the report facts (brought up to date as reports are; None when the
    stores keep no facts)."""
    facts = services.storage.facts
    if facts is None:
        return None
    return Activity(
        services.storage.events,
        facts,
        person_of(services.profiles),
        refresh=reports.refresh if reports is not None else None,
    )
