"""What every handler works with: settings, stores, the writer, the validator, auth, metrics,
the audit log's recorder, and the services (profiles, segments, models and their training
jobs, decisions)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from retailor.analytics.activity import Activity
from retailor.analytics.reports import Reports
from retailor.api.auth import Authenticator
from retailor.api.metrics import Metrics
from retailor.api.problems import ProblemError, unavailable
from retailor.decision.service import DecisionService
from retailor.domain.events import Event
from retailor.domain.quarantine import Rejection
from retailor.experiments.reading import ExperimentResults
from retailor.ingest.validation import EventValidator
from retailor.ingest.writer import GroupCommitWriter, WriterClosedError
from retailor.models.jobs import TrainingJobs
from retailor.models.serving import ModelService
from retailor.privacy.audit import AuditRecorder
from retailor.privacy.erasure import Eraser
from retailor.privacy.retention import Retention
from retailor.privacy.suppression import Suppression
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.settings import Settings
from retailor.storage.base import AppendResult
from retailor.storage.errors import StorageUnavailableError
from retailor.storage.factory import Storage


async def _nothing() -> None:
    return None


@dataclass
class AppContext:
    """The running app's parts, built once by the server role (``retailor.runtime.server``)."""

    settings: Settings
    storage: Storage
    writer: GroupCommitWriter
    validator: EventValidator
    auth: Authenticator
    metrics: Metrics
    profiles: ProfileService
    segments: SegmentService
    models: ModelService
    training: TrainingJobs
    decisions: DecisionService
    #: folds what other workers appended to the shared log before a read that must see
    #: every acknowledged event (a no-op embedded, where every append is this process's)
    catch_up: Callable[[], Awaitable[object]] = field(default=_nothing)
    background: Callable[[], bool] = lambda: False  # whether this process holds the lease
    #: reports over the fact tables (None: the stores keep none)
    reports: Reports | None = None
    #: experiment results over the exposures and the report facts (None: no facts)
    experiment_results: ExperimentResults | None = None
    #: visitors, orders and revenue by their own time, and the live event rate (None: no
    #: facts)
    activity: Activity | None = None
    #: erasure requests (None: this app was built without them)
    eraser: Eraser | None = None
    #: the suppression list ingest refuses (None: nothing is refused)
    suppression: Suppression | None = None
    #: retention per event type, applied on request (None: not in this process)
    retention: Retention | None = None
    #: the audit log's recorder (None: calls are not audited)
    audit: AuditRecorder | None = None

    async def write(self, events: Sequence[Event], rejections: Sequence[Rejection]) -> AppendResult:
        """Make events durable (and rejections kept) before answering; 503 when it cannot.
        Events naming a suppressed (erased) person are dropped first: neither stored nor
        quarantined, only counted."""
        if self.suppression is not None:
            events, refused = self.suppression.keep(list(events))
            rejections, unkept = self.suppression.keep_rejections(list(rejections))
            refused += unkept
            if refused:
                self.metrics.count_events("suppressed", 0, 0, refused)
        try:
            return await self.writer.submit_async(events, rejections)
        except WriterClosedError:
            raise ProblemError(503, "the server is shutting down; retry shortly") from None
        except StorageUnavailableError as exc:
            raise unavailable(
                f"{exc}. The events were not acknowledged: send them again "
                "(an event id is stored once, so a resend never doubles an event)"
            ) from None
        except Exception as exc:
            raise ProblemError(
                503, f"events could not be stored ({type(exc).__name__}); nothing was kept, retry"
            ) from exc
