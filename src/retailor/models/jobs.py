"""Training jobs: training started through the server runs in the background, one job at
a time, and callers follow its status and progress instead of holding a request open for
the minutes a large history takes.

A job is ``queued`` when made, ``running`` once its thread starts (its progress says when
it waits for a scheduled training under way), then ``succeeded`` with the versions it made
or ``failed`` with the reason (and the versions made before the failure). The newest jobs
are kept in memory while the server runs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from retailor.models.families import CLV as CLV  # also known here, by the jobs' callers
from retailor.models.serving import ModelService
from retailor.storage.base import ModelRecord

log = logging.getLogger("retailor.models")

JobStatus = Literal["queued", "running", "succeeded", "failed"]
ENDED = ("succeeded", "failed")


class TrainedVersion(msgspec.Struct):
    """A version a training run produced, and whether the gate activated it."""

    name: str
    version: int
    activated: bool
    gate: str
    metrics: dict[str, Any]


class TrainingRun(msgspec.Struct):
    models: list[TrainedVersion]


class JobProgress(msgspec.Struct):
    """Models done of the job's ``total``, and what it is doing now."""

    done: int
    total: int
    current: str


class TrainingJob(msgspec.Struct, kw_only=True):
    """A training job: what it trains, how far it is, and how it ended."""

    job_id: str
    kind: str = "training"
    status: JobStatus
    models: list[str]
    progress: JobProgress
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: TrainingRun | None = None
    error: str | None = None


class TrainingBusyError(Exception):
    """A training job is already queued or running (``job``)."""

    def __init__(self, job: TrainingJob) -> None:
        super().__init__(f"training job {job.job_id} is {job.status}")
        self.job = job


Step = Callable[[str, int, int], None]  # (what it does now, models done, models in all)


def train_versions(
    models: ModelService, fit_clv: Callable[[], ModelRecord], names: Sequence[str], step: Step
) -> Iterator[TrainedVersion]:
    """Train the recommenders in ``names`` from the event log (the gate deciding what
    becomes active), then ``clv`` from the profiles when named (always activated)."""
    recommenders = [n for n in names if n != CLV]
    total = len(names)
    if recommenders:
        for outcome in models.train(
            recommenders, progress=lambda now, done, _: step(now, done, total)
        ):
            yield TrainedVersion(
                outcome.name, outcome.record.version, outcome.activated, outcome.reason,
                outcome.record.metrics,
            )  # fmt: skip
    if CLV in names:
        step(f"{CLV}: lifetime value", len(recommenders), total)
        record = fit_clv()
        yield TrainedVersion(CLV, record.version, True, "always", record.metrics)
    step("done", total, total)


def _now() -> datetime:
    return datetime.now(UTC)


class TrainingJobs:
    """The training jobs of a server: one queued or running at a time, each in a thread of
    its own; the newest ``KEEP`` are remembered."""

    KEEP = 20

    def __init__(self, models: ModelService, fit_clv: Callable[[], ModelRecord]) -> None:
        self._models, self._fit_clv = models, fit_clv
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()

    def start(self, names: Sequence[str]) -> TrainingJob:
        """Start training ``names``; ``TrainingBusyError`` while another job has not ended."""
        with self._lock:
            for job in self._jobs.values():
                if job.status not in ENDED:
                    raise TrainingBusyError(_copy(job))
            job = TrainingJob(
                job_id=f"train-{uuid.uuid4().hex[:12]}",
                status="queued",
                models=list(names),
                progress=JobProgress(0, len(names), "queued"),
                created_at=_now(),
            )
            self._jobs[job.job_id] = job
            for old in list(self._jobs)[: -self.KEEP]:
                del self._jobs[old]
            started = _copy(job)
        threading.Thread(
            target=self._run, args=(job,), name=f"retailor-{job.job_id}", daemon=True
        ).start()
        return started

    def get(self, job_id: str) -> TrainingJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else _copy(job)

    def _run(self, job: TrainingJob) -> None:
        total = len(job.models)

        def step(now: str, done: int, _: int) -> None:
            with self._lock:
                job.progress = JobProgress(done, total, now)

        with self._lock:
            job.status, job.started_at = "running", _now()
            job.progress = JobProgress(0, total, "starting")
        made: list[TrainedVersion] = []
        error: str | None = None
        try:
            for version in train_versions(self._models, self._fit_clv, job.models, step):
                made.append(version)
        except ValueError as exc:  # not enough data and the like: the message says why
            error = str(exc)
        except Exception as exc:
            log.exception("training job %s failed", job.job_id)
            error = f"training failed ({type(exc).__name__}: {exc}); the server log has more"
        with self._lock:
            job.status = "failed" if error is not None else "succeeded"
            job.finished_at, job.result, job.error = _now(), TrainingRun(made), error


def _copy(job: TrainingJob) -> TrainingJob:
    """A snapshot the job's thread does not change afterwards (it replaces, never mutates,
    the progress and the result)."""
    return msgspec.structs.replace(job)
