"""Access: one archive of everything Retailor holds about a person, across every
identifier of their cluster — a zip of JSON lines, one file per kind of record."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from retailor.privacy.subjects import resolve_subject
from retailor.profiles.segmentation import SegmentService
from retailor.profiles.service import ProfileService
from retailor.storage.base import DecisionLog, EventLog, QuarantineStore
from retailor.storage.experiments import ExposureStore

_LIMIT = 1_000_000


def export_subject(
    identifier: str,
    profiles: ProfileService,
    segments: SegmentService,
    events: EventLog,
    quarantine: QuarantineStore,
    decisions: DecisionLog,
    exposures: ExposureStore,
) -> tuple[bytes, dict[str, int]]:
    """The archive for ``identifier`` and how many records each file holds (``None`` key
    never: an unknown person gets an archive of empty files)."""
    resolved = resolve_subject(identifier, profiles, events)
    subject, key = resolved.subject, resolved.key
    plain = [i for i in subject.ids if not i.startswith("a:")]
    files: dict[str, list[Any]] = {}
    files["events"] = list(reversed(events.timeline(plain, _LIMIT))) if plain else []
    view = profiles.view(key) if key is not None else None
    files["profile"] = (
        [{"customer": view.key, "traits": view.traits, "consent": view.consent,
          "consent_at": view.consent_at}]
        if view is not None else []
    )  # fmt: skip
    files["identities"] = [{"kind": r.kind.value, "value": r.value} for r in resolved.refs]
    files["merges"] = profiles.graph.explain(key) if key is not None else []
    files["consent_history"] = [
        {"at": e.timestamp, "properties": e.properties}
        for e in files["events"]
        if e.type.value == "consent_updated"
    ]
    made = decisions.naming(subject)
    feedback = decisions.feedback_for([d.decision_id for d in made])
    files["decisions"] = made
    files["feedback"] = feedback
    files["segments"] = (
        [{"segment_id": s} for s in segments.segments_of(key)] if key is not None else []
    )
    files["experiment_assignments"] = exposures.naming(list(subject.ids))
    files["quarantine"] = quarantine.naming(subject)
    return _zip(files), {name: len(rows) for name, rows in files.items()}


def _zip(files: Mapping[str, Iterable[Any]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in files.items():
            lines = b"".join(msgspec.json.encode(row, enc_hook=_plain) + b"\n" for row in rows)
            archive.writestr(f"{name}.jsonl", lines)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)
