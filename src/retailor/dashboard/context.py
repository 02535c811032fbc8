"""What every dashboard page works with: the services of the running server, handed over
by the server role (``retailor.runtime.server``) beside the API's own context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from retailor.analytics.activity import Activity
from retailor.analytics.reports import Reports
from retailor.decision.service import DecisionService
from retailor.experiments.reading import ExperimentResults
from retailor.models.serving import ModelService
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.settings import Settings
from retailor.storage.factory import Storage


async def _caught_up() -> object:
    return 0


@dataclass
class DashboardContext:
    """The running server's parts the pages read, and the dashboard's session secret.

    ``session_secret`` signs session cookies and CSRF tokens; every process of an
    installation must hold the same one (the server role keeps it in the installation
    store), so a session made by one worker is good on every other.
    """

    settings: Settings
    storage: Storage
    session_secret: bytes
    profiles: ProfileService
    segments: SegmentService
    models: ModelService
    decisions: DecisionService
    #: reports over the fact tables (None: the stores keep none)
    reports: Reports | None = None
    #: visitors, orders and revenue by their own time; the live event rate (None: no facts)
    activity: Activity | None = None
    #: experiment results (None: no facts)
    experiment_results: ExperimentResults | None = None
    #: take up what other workers acknowledged before reading profiles (scaled out; the
    #: API's own ``catch_up``)
    catch_up: Callable[[], Awaitable[object]] = field(default=_caught_up)
    #: events this server process counted since it started, by outcome (accepted,
    #: duplicate, rejected): duplicates are counted nowhere durable (None: not counted)
    ingest_counts: Callable[[], dict[str, int]] | None = None

    @property
    def has_holdout(self) -> bool:
        """Whether a global holdout is configured now."""
        return self.decisions.experiments.holdout is not None
