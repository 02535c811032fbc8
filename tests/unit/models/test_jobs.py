"""Training jobs: one at a time, progress while they run, the versions they made, and
the reason a failed one gives."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from retailor.models.jobs import TrainingBusyError, TrainingJob, TrainingJobs
from retailor.storage.base import ModelRecord
from retailor.storage.files.models import FileModelRegistry
from tests.unit.models.test_serving import service, views


def ended(jobs: TrainingJobs, job_id: str) -> TrainingJob:
    deadline = time.monotonic() + 60
    while True:
        job = jobs.get(job_id)
        assert job is not None
        if job.status in ("succeeded", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


def test_one_job_at_a_time_with_its_progress_and_result(tmp_path: Path) -> None:
    models = service(tmp_path, views(datetime.now(UTC) - timedelta(days=2), 40), 0)
    registry = FileModelRegistry(tmp_path / "clv")
    fitting, release = threading.Event(), threading.Event()

    def fit_clv() -> ModelRecord:  # a lifetime fit that holds until released
        fitting.set()
        release.wait(30)
        return registry.save("clv", {"r": 1.0}, {"customers": 7})

    jobs = TrainingJobs(models, fit_clv)
    first = jobs.start(["popularity", "clv"])
    assert first.status in ("queued", "running") and first.progress.total == 2
    assert fitting.wait(30)
    running = jobs.get(first.job_id)
    assert running is not None and running.status == "running"
    assert (running.progress.done, running.progress.current) == (1, "clv: lifetime value")
    with pytest.raises(TrainingBusyError) as busy:
        jobs.start(["popularity"])
    assert busy.value.job.job_id == first.job_id
    release.set()
    done = ended(jobs, first.job_id)
    assert done.status == "succeeded" and done.error is None
    assert done.result is not None
    assert [(m.name, m.version, m.activated) for m in done.result.models] == [
        ("popularity", 1, True), ("clv", 1, True),
    ]  # fmt: skip
    assert (done.progress.done, done.progress.current) == (2, "done")
    second = jobs.start(["popularity"])  # the first has ended: a new one may start
    assert ended(jobs, second.job_id).status == "succeeded"
    assert jobs.get("nope") is None


def test_a_failed_job_keeps_its_reason_and_what_it_made(tmp_path: Path) -> None:
    models = service(tmp_path, views(datetime.now(UTC) - timedelta(days=2), 40), 0)

    def fit_clv() -> ModelRecord:
        raise ValueError("no events yet: nothing to learn lifetime value from")

    jobs = TrainingJobs(models, fit_clv)
    job = ended(jobs, jobs.start(["popularity", "clv"]).job_id)
    assert (
        job.status == "failed"
        and job.error == "no events yet: nothing to learn lifetime value from"
    )
    assert job.result is not None and [m.name for m in job.result.models] == ["popularity"]
