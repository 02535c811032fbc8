"""Every parser of definitions, query strings, files and settings, fed anything: it refuses
with its own documented error and nothing else, and what it accepts keeps its invariants
(and reads back the same where a writer exists). Segment, placement, offer, experiment and
holdout definitions; report ranges (``parse_when``, ``parse_request``) and the dashboard's
period picker; CLI definition files, ``--map`` pairs and import files of every kind and
format; settings from the environment and TOML files.

The parsers of what arrives over the wire are in ``test_parsers_hypothesis.py``."""

from __future__ import annotations

import gzip
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from retailor.analytics.reports import (
    DIMENSIONS,
    EARLIEST,
    LATEST,
    MAX_DAYS,
    ReportError,
    parse_request,
    parse_when,
)
from retailor.cli.common import read_definition_file
from retailor.dashboard.periods import read_period
from retailor.domain.events import EventType
from retailor.domain.experiments import Experiment, parse_experiment, parse_holdout
from retailor.domain.nesting import walk
from retailor.domain.offers import Offer, parse_offer
from retailor.domain.placements import CHANNELS, DefinitionError, Placement, parse_placement
from retailor.ingest.bulk.options import ImportInputError, ImportOptions, parse_mapping
from retailor.ingest.bulk.runner import StorageSink, run_import
from retailor.profiles.segments import OPS, TRAITS, SegmentError, holds, parse
from retailor.settings import Settings, SettingsError, load_settings
from retailor.storage.factory import open_storage
from tests.unit.hostile_strategies import (
    MODERATE,
    any_bytes,
    any_text,
    decoded_text,
    json_bytes,
    json_values,
    objects,
    vocabulary,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
TIMES = [NOW.isoformat(), (NOW + timedelta(days=3)).isoformat(), "2026-03-01", "0001-01-01"]
#: Times whose offset moves them out of the calendar in UTC.
TIMES += ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]

# -- segments ------------------------------------------------------------------------------

SEGMENT_KEYS = ["all", "any", "not", "trait", "op", "value", "event", "within_days"]
SEGMENT_KEYS += ["min_count", "max_count", "category", "item_id", "name", "description"]
SEGMENT_WORDS: list[Any] = [*OPS, *sorted(TRAITS), "attributes.tier", "consent.email"]
SEGMENT_WORDS += [t.value for t in EventType] + [1, 2.0, 0.5, 36_501, 10_001]


@MODERATE
@given(
    json_values(SEGMENT_KEYS, SEGMENT_WORDS),
    json_values(words=SEGMENT_WORDS),
    st.integers(0, 20_000),
)
@example({"not": {"not": {"trait": "order_count", "op": "gt", "value": "x"}}}, 3, 0)
def test_a_segment_definition_is_a_condition_or_a_segment_error(
    definition: Any, trait: Any, count: int
) -> None:
    try:
        condition = parse(definition)
    except SegmentError as exc:
        assert exc.where.startswith("$")
        return
    # an accepted condition answers for any customer, whatever its traits hold
    assert holds(condition, lambda path: trait, lambda cond: count) in (True, False)


# -- placements, offers, experiments, the holdout -----------------------------------------

PLACEMENT_KEYS, PLACEMENT_WORDS = vocabulary(Placement)
PLACEMENT_WORDS += ["popular", "trending", "similar", "personal", *CHANNELS, *TIMES, [9, 17]]
OFFER_KEYS, OFFER_WORDS = vocabulary(Offer)
OFFER_WORDS += [*CHANNELS, *TIMES, 10, 100, 101, 1.5, [0, 24]]
EXPERIMENT_KEYS, EXPERIMENT_WORDS = vocabulary(Experiment)
EXPERIMENT_WORDS += ["home", "a", "b", 0.5, 1.0, [{"id": "a", "weight": 1.0}]]


def _round_trips(value: Any, parse_again: Any) -> None:
    """A definition the server accepted reads back the same from its own encoding."""
    again = parse_again(msgspec.to_builtins(value))
    assert again == value


@MODERATE
@given(
    objects(PLACEMENT_KEYS, PLACEMENT_WORDS, required={"sources": [{"source": "popular"}]})
    | json_values(PLACEMENT_KEYS, PLACEMENT_WORDS)
)
def test_a_placement_is_a_placement_or_a_definition_error(raw: Any) -> None:
    try:
        placement = parse_placement(raw, "home")
    except DefinitionError as exc:
        assert str(exc)
        return
    assert placement.placement_id == "home" and placement.sources
    _round_trips(placement, lambda data: parse_placement(data, "home"))


@MODERATE
@given(
    objects(OFFER_KEYS, OFFER_WORDS, required={"kind": "percent_off", "value": 10})
    | json_values(OFFER_KEYS, OFFER_WORDS)
)
def test_an_offer_is_an_offer_or_a_definition_error(raw: Any) -> None:
    try:
        offer = parse_offer(raw, "ten")
    except DefinitionError:
        return
    assert offer.offer_id == "ten"
    if offer.kind == "percent_off":
        assert 0 < offer.value <= 100
    _round_trips(offer, lambda data: parse_offer(data, "ten"))


@MODERATE
@given(
    objects(
        EXPERIMENT_KEYS,
        EXPERIMENT_WORDS,
        required={
            "placements": ["home"],
            "control": "a",
            "variants": [{"id": "a", "weight": 0.5}, {"id": "b", "weight": 0.5}],
        },
    )
    | json_values(EXPERIMENT_KEYS, EXPERIMENT_WORDS),
    st.sampled_from(["x", "holdout", "../x", ""]),
)
def test_an_experiment_is_an_experiment_or_a_definition_error(raw: Any, experiment_id: str) -> None:
    try:
        experiment = parse_experiment(raw, experiment_id)
    except DefinitionError:
        return
    ids = [variant.id for variant in experiment.variants]
    assert len(set(ids)) == len(ids) and experiment.control in ids
    assert abs(sum(variant.weight for variant in experiment.variants) - 1) < 1e-6
    _round_trips(experiment, lambda data: parse_experiment(data, experiment_id))


@MODERATE
@given(json_values(["share", "phase"], [0.05, 0.5, 0.6, -0.1]))
def test_the_holdout_is_a_share_or_a_definition_error(raw: Any) -> None:
    try:
        holdout = parse_holdout(raw)
    except DefinitionError:
        return
    assert 0 <= holdout.share <= 0.5


# -- report ranges and the dashboard's periods ---------------------------------------------

when_texts = (
    any_text
    | st.datetimes(timezones=st.timezones()).map(lambda at: at.isoformat())
    | st.dates().map(lambda day: day.isoformat())
    | st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-03-01Z"])
)


@MODERATE
@given(when_texts, st.booleans())
@example("0001-01-01T00:00:00+01:00", False)  # an offset that moves it before year 1
@example("9999-12-31T23:59:59-01:00", True)  # ... or past 9999
def test_a_report_time_is_a_utc_time_in_range_or_a_report_error(text: str, end: bool) -> None:
    try:
        at = parse_when(text, "from", end=end)
    except ReportError as exc:
        assert "from" in str(exc)
        return
    assert at.utcoffset() == timedelta(0)
    assert EARLIEST <= at <= LATEST + timedelta(days=1)


@MODERATE
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(8999, 12, 31)))
def test_a_report_time_round_trips(naive: datetime) -> None:
    at = naive.replace(tzinfo=UTC)
    assert parse_when(at.isoformat(), "from", end=False) == at
    assert parse_when(at.isoformat().replace("+00:00", "Z"), "to", end=True) == at


report_params = st.dictionaries(
    st.sampled_from(["from", "to", "interval", "by", "format"]) | any_text,
    when_texts
    | st.sampled_from(["hour", "day", "none", ",", *DIMENSIONS, ",".join(DIMENSIONS)])
    | st.lists(when_texts | st.sampled_from(list(DIMENSIONS)), max_size=3),
    max_size=5,
)


@MODERATE
@given(report_params)
def test_a_report_request_is_a_request_or_a_report_error(params: dict[str, Any]) -> None:
    try:
        request = parse_request(params, NOW)
    except ReportError:
        return
    assert request.start < request.end
    assert request.end - request.start <= timedelta(days=MAX_DAYS)
    assert len(set(request.by)) == len(request.by) and set(request.by) <= set(DIMENSIONS)


@MODERATE
@given(
    st.dictionaries(
        st.sampled_from(["period", "from", "to"]) | any_text,
        when_texts | st.sampled_from(["custom", "24h", "7d", "30d"]),
        max_size=4,
    )
)
def test_a_period_picker_never_fails_a_page(params: dict[str, str]) -> None:
    period = read_period(params, NOW)
    assert period.start < period.end and period.interval in ("hour", "day")
    assert period.end - period.start <= timedelta(days=MAX_DAYS)


# -- files a command reads -----------------------------------------------------------------


def _written(content: bytes, suffix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    path = folder / f"input{suffix}"
    path.write_bytes(content)
    return path


@MODERATE
@given(
    any_bytes
    | json_values(PLACEMENT_KEYS).map(lambda v: msgspec.yaml.encode(v) if _finite(v) else b"x"),
    st.sampled_from([".json", ".yaml", ".yml", ".txt"]),
)
@example(b"[" * 5000, ".yaml")
@example(b"a: &x [1]\nb: [*x, *x, *x]\n", ".yaml")
def test_a_definition_file_is_a_mapping_or_a_click_error(content: bytes, suffix: str) -> None:
    path = _written(content, suffix)
    try:
        definition = read_definition_file(path, "placement")
    except click.ClickException as exc:
        assert str(path) in exc.message
        return
    assert isinstance(definition, dict)


def _finite(value: Any) -> bool:
    import math

    return all(not (isinstance(v, float) and not math.isfinite(v)) for v, _, _ in walk(value))


@MODERATE
@given(st.lists(any_text | st.sampled_from(["a=b", "a=b,c=d", "=x", "x=", ","]), max_size=4))
def test_map_pairs_are_a_mapping_or_an_import_error(pairs: list[str]) -> None:
    try:
        mapping = parse_mapping(pairs)
    except ImportInputError:
        return
    for target, source in mapping.items():
        assert target and source and target == target.strip() and "," not in target + source
    assert parse_mapping([",".join(f"{t}={s}" for t, s in mapping.items())]) == mapping


CSV_HEADERS = ["event_id", "type", "customer_id", "item_id", "timestamp", "InvoiceNo"]
CSV_HEADERS += ["StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "name"]
CSV_CELLS = ["e1", "product_viewed", "c1", "sku-1", NOW.isoformat(), "536365", "85123A"]
CSV_CELLS += ["6", "12/1/2010 8:26", "2.55", "17850.0", "", '"', "a,b", "-1", "1e309", "\x00"]


def _csv(rows: list[list[str]], delimiter: str) -> bytes:
    return "\n".join(delimiter.join(row) for row in rows).encode("utf-8", "surrogatepass")


csv_files = st.builds(
    _csv,
    st.lists(
        st.lists(st.sampled_from(CSV_HEADERS + CSV_CELLS) | decoded_text, min_size=1, max_size=6),
        max_size=5,
    ).map(lambda rows: [CSV_HEADERS[:4], *rows])
    | st.lists(st.lists(decoded_text, max_size=4)),
    st.sampled_from([",", ";", "\t"]),
)
jsonl_files = st.lists(json_bytes(json_values(CSV_HEADERS, CSV_CELLS)), max_size=5).map(b"\n".join)


# A broken CSV line that is not UTF-8 fails inside Arrow before the handler that keeps it
# sees it: the import is refused whole (an ImportInputError) and Arrow warns of it.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@MODERATE
@given(
    st.sampled_from(["events", "transactions", "catalog", "customers"]),
    st.sampled_from([".csv", ".jsonl", ".csv.gz", ".parquet"]),
    csv_files | jsonl_files | st.binary(max_size=100),
    st.sampled_from(["plain", "gzip", "gzip cut short"]),
)
@example("catalog", ".jsonl", b"null", "plain")  # Arrow's reader crashed the process
@example("catalog", ".jsonl", b'{"item_id": "a"}\n' * 3 + b"null\n", "plain")
@example("events", ".csv.gz", b"event_id,type\n" + b"e1,identify\n" * 99, "gzip cut short")
def test_an_import_file_is_imported_or_an_import_error(
    kind: str, suffix: str, content: bytes, packing: str
) -> None:
    if suffix.endswith(".gz") and packing != "plain":
        content = gzip.compress(content)
        content = content[: len(content) // 2] if packing == "gzip cut short" else content
    path = _written(content, suffix)
    storage = open_storage("memory://", path.parent)
    try:
        summary = run_import(kind, path, StorageSink(storage), ImportOptions())
    except ImportInputError as exc:
        assert str(exc)
        return
    finally:
        storage.close()
    assert summary.accepted + summary.duplicates <= max(summary.rows, summary.created)


# -- settings ------------------------------------------------------------------------------

SETTING_NAMES = [f"RETAILOR_{name.upper()}" for name in Settings.__struct_fields__]


@MODERATE
@given(
    st.dictionaries(
        st.sampled_from(SETTING_NAMES) | st.just("RETAILOR_DATA"),
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
        | st.sampled_from(["0", "-1", "1e309", "nan", "true", "inf", "8000", "0.5"]),
        max_size=4,
    ),
    st.none() | st.binary(max_size=120) | st.sampled_from([b"retailor = 1", b'retailor = "x"']),
)
@example({}, b"retailor = 1")
@example({}, b"data_dir = 5")
@example({}, b"[retailor]\nport = 'x'")
def test_settings_are_settings_or_a_settings_error(env: dict[str, str], toml: bytes | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hostile-settings-"))
    env = {**env, "RETAILOR_DATA_DIR": str(folder)} if "RETAILOR_DATA_DIR" in env else env
    config = None
    if toml is not None:
        config = folder / "retailor-settings.toml"
        config.write_bytes(toml)
    try:
        settings = load_settings(config, environ=env)
    except SettingsError as exc:
        assert str(exc)
        return
    assert isinstance(settings, Settings) and isinstance(settings.data_dir, Path)
    assert settings.body_timeout_seconds > 0 and settings.header_timeout_seconds > 0


def test_a_report_time_whose_offset_leaves_the_calendar_is_a_report_error() -> None:
    with pytest.raises(ReportError):
        parse_when("0001-01-01T00:00:00+01:00", "from", end=False)


@pytest.mark.parametrize(
    ("parse_one", "raw"),
    [
        (parse_offer, {"kind": "free_shipping", "schedule": {"starts_at": TIMES[-2]}}),
        (
            parse_placement,
            {"sources": [{"source": "popular"}],
             "rules": [{"kind": "bury", "when": {"ends_at": TIMES[-1]}, "match": {"brands": ["x"]}}]},
        ),
    ],
    ids=["offer", "placement"],
)  # fmt: skip
def test_a_definition_time_out_of_the_calendar_in_utc_is_a_definition_error(
    parse_one: Any, raw: dict[str, Any]
) -> None:
    with pytest.raises(DefinitionError, match="out of range in UTC"):
        parse_one(raw, "x")
