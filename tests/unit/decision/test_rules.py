"""Every rule kind, conditions, diversity and pins, on a small catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from retailor.decision.catalog import CatalogIndex
from retailor.decision.rules import (
    Candidate,
    DiversityLimits,
    RuleContext,
    RuleSet,
    diversify,
    place_pins,
)
from retailor.domain.catalog import CatalogItem
from retailor.domain.placements import DefinitionError, Diversity, Rule, parse_placement

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday


def item(i: int, **fields: object) -> CatalogItem:
    base: dict[str, object] = {
        "item_id": f"i{i}",
        "name": f"Item {i}",
        "category": ["Home", "Kitchen" if i % 2 else "Garden"],
        "brand": "acme" if i < 5 else "zen",
        "price": 10.0 * (i + 1),
        "cost": 5.0 * (i + 1),
        "stock": 10,
        "created_at": NOW - timedelta(days=100),
    }
    base.update(fields)
    return msgspec.convert(base, CatalogItem)


CATALOG = CatalogIndex(
    [
        *(item(i) for i in range(10)),
        item(10, stock=0),
        item(11, attributes={"hidden": True}),
        item(12, created_at=NOW - timedelta(days=2)),
        item(13, stock=500),
        item(14, category=["Grocery", "Coffee"], cost=1.0, price=10.0),
    ]
)


def rules(*defs: dict[str, object]) -> list[Rule]:
    return parse_placement({"sources": [{"source": "popular"}], "rules": list(defs)}, "p").rules


def ctx(**fields: object) -> RuleContext:
    base: dict[str, object] = {
        "channel": "web",
        "store_id": None,
        "segments": frozenset(),
        "now": NOW,
        "cart": frozenset(),
        "purchased": {},
    }
    base.update(fields)
    return RuleContext(**base)  # type: ignore[arg-type]


def ranked(rule_set: RuleSet, n: int = 15) -> list[str]:
    pool = [Candidate(f"i{i}", float(n - i), "popular") for i in range(n)]
    return [c.item_id for c in rule_set.apply(pool)]


def test_exclusions_of_stock_visibility_cart_and_purchases() -> None:
    bought = {"i1": NOW.timestamp() - 86_400, "i14": NOW.timestamp() - 86_400}
    rs = RuleSet(
        rules(
            {"kind": "exclude_out_of_stock"},
            {"kind": "exclude_hidden"},
            {"kind": "exclude_in_cart"},
            {"kind": "exclude_purchased", "repurchasable_categories": ["Grocery"]},
        ),
        ctx(cart=frozenset({"i2"}), purchased=bought),
        CATALOG,
    )
    out = ranked(rs)
    for gone in ("i10", "i11", "i2", "i1"):
        assert gone not in out
    assert "i14" in out  # coffee is a consumable: bought before, offered again
    assert "unknown-item" not in out and rs.allows("unknown-item")


def test_purchase_lookback_and_min_stock() -> None:
    old = {"i3": (NOW - timedelta(days=40)).timestamp()}
    rs = RuleSet(
        rules({"kind": "exclude_purchased", "within_days": 30}), ctx(purchased=old), CATALOG
    )
    assert rs.allows("i3")
    rs = RuleSet(rules({"kind": "exclude_out_of_stock", "min_stock": 11}), ctx(), CATALOG)
    assert not rs.allows("i3") and rs.allows("i13")


def test_include_and_exclude_by_category_brand_and_price() -> None:
    rs = RuleSet(rules({"kind": "include", "match": {"categories": ["Kitchen"]}}), ctx(), CATALOG)
    assert set(ranked(rs, 10)) == {"i1", "i3", "i5", "i7", "i9"}
    rs = RuleSet(rules({"kind": "exclude", "match": {"brands": ["acme"]}}), ctx(), CATALOG)
    assert not set(ranked(rs, 10)) & {"i0", "i1", "i2", "i3", "i4"}
    rs = RuleSet(
        rules({"kind": "include", "match": {"price_min": 30, "price_max": 50}}), ctx(), CATALOG
    )
    assert ranked(rs, 10) == ["i2", "i3", "i4"]


def test_boost_bury_margin_and_new_arrivals() -> None:
    rs = RuleSet(
        rules({"kind": "boost", "match": {"items": ["i9"]}, "factor": 100}), ctx(), CATALOG
    )
    assert ranked(rs)[0] == "i9"
    rs = RuleSet(
        rules({"kind": "bury", "match": {"brands": ["acme"]}, "factor": 100}), ctx(), CATALOG
    )
    assert ranked(rs, 10)[:5] == ["i5", "i6", "i7", "i8", "i9"]
    rs = RuleSet(
        rules({"kind": "boost", "match": {"new_within_days": 7}, "factor": 50}), ctx(), CATALOG
    )
    assert ranked(rs)[0] == "i12"
    rs = RuleSet(
        rules({"kind": "boost", "match": {"stock_above": 100}, "factor": 50}), ctx(), CATALOG
    )
    assert ranked(rs)[0] == "i13"
    rs = RuleSet(rules({"kind": "boost_margin", "weight": 100}), ctx(), CATALOG)
    pool = [Candidate("i0", 1.0, "p"), Candidate("i14", 1.0, "p")]  # margins 0.5 and 0.9
    assert [c.item_id for c in rs.apply(pool)] == ["i14", "i0"]


def test_conditions_on_channel_store_segment_and_time() -> None:
    boost = {"kind": "boost", "match": {"items": ["i9"]}, "factor": 100}
    cases = [
        ({"channels": ["app"]}, ctx(channel="web"), False),
        ({"channels": ["app"]}, ctx(channel="app"), True),
        ({"stores": ["s1"]}, ctx(store_id="s1"), True),
        ({"segments": ["vip"]}, ctx(segments=frozenset({"vip"})), True),
        ({"segments": ["vip"]}, ctx(), False),
        ({"not_segments": ["vip"]}, ctx(segments=frozenset({"vip"})), False),
        ({"days": ["mon"]}, ctx(), True),
        ({"days": ["sat", "sun"]}, ctx(), False),
        ({"hours": [9, 17]}, ctx(), True),
        ({"hours": [22, 6]}, ctx(), False),
        ({"starts_at": "2026-12-01T00:00:00Z"}, ctx(), False),
        ({"ends_at": "2026-12-01T00:00:00Z"}, ctx(), True),
    ]
    for when, context, applies in cases:
        rs = RuleSet(rules({**boost, "when": when}), context, CATALOG)
        assert (ranked(rs)[0] == "i9") is applies, when


def test_pins_respect_exclusions() -> None:
    rs = RuleSet(
        rules(
            {"kind": "pin", "item_id": "i8", "position": 1},
            {"kind": "pin", "item_id": "i10", "position": 2},  # out of stock: not shown
            {"kind": "exclude_out_of_stock"},
        ),
        ctx(),
        CATALOG,
    )
    chosen = place_pins(rs.apply([Candidate(f"i{i}", 10.0 - i, "p") for i in range(5)]), rs, 4)
    assert [c.item_id for c in chosen] == ["i8", "i0", "i1", "i2"]


def test_diversity_limits_per_category_and_brand() -> None:
    pool = [Candidate(f"i{i}", 10.0 - i, "p") for i in range(10)]
    out = diversify(pool, DiversityLimits(Diversity(max_per_category=2), CATALOG), 4)
    assert [c.item_id for c in out] == ["i0", "i1", "i2", "i3"]
    out = diversify(pool, DiversityLimits(Diversity(max_per_brand=1), CATALOG), 3)
    assert [c.item_id for c in out][:2] == ["i0", "i5"]  # then filled in rank order
    assert len(out) == 3


def test_invalid_definitions_say_where() -> None:
    bad = [
        ({"kind": "pin", "item_id": "x", "position": 0}, "$.rules[0].position"),
        ({"kind": "boost", "match": {}}, "$.rules[0].match"),
        ({"kind": "teleport"}, "$.rules[0].kind"),
        ({"kind": "include", "match": {"price_min": 9, "price_max": 1}}, "$.rules[0].match"),
        (
            {"kind": "boost", "match": {"items": ["a"]}, "when": {"days": ["funday"]}},
            "$.rules[0].when.days[0]",
        ),
    ]
    for rule, where in bad:
        with pytest.raises(DefinitionError) as err:
            parse_placement({"sources": [{"source": "popular"}], "rules": [rule]}, "p")
        assert where in str(err.value)


def test_every_source_answers_for_a_stranger_without_models(tmp_path: Path) -> None:
    """No source raises when nothing is known: no customer, no views, no trained model."""
    from retailor.decision.candidates import CandidateSources, SourceRequest
    from retailor.domain.decisions import DecisionContext
    from retailor.features.online import EMPTY, OnlineFeatures
    from retailor.models.serving import ModelService
    from retailor.storage.files.models import FileModelRegistry

    models = ModelService(FileModelRegistry(tmp_path), lambda: iter(()), lambda _: None,
                          lambda ids: {}, lambda: iter(()))  # fmt: skip
    sources = CandidateSources(
        models, OnlineFeatures(lambda _: ([], None)), CATALOG, background=False
    )
    for context in (
        DecisionContext(),
        DecisionContext(item_id="i1", cart=["i2"], category="Kitchen"),
    ):
        request = SourceRequest(None, EMPTY, context, 10)
        for name in sources.names():
            assert isinstance(sources.run(name, request), list), name


def test_naive_condition_datetimes_are_taken_as_utc() -> None:
    from datetime import timezone

    boost = {"kind": "boost", "match": {"items": ["i9"]}, "factor": 100}
    when = {"starts_at": "2026-11-30T13:00:00", "ends_at": "2026-11-30T15:00:00Z"}
    (rule,) = rules({**boost, "when": when})
    assert rule.when is not None
    assert rule.when.starts_at == datetime(2026, 11, 30, 13, tzinfo=UTC)
    assert rule.when.ends_at == datetime(2026, 11, 30, 15, tzinfo=UTC)
    assert ranked(RuleSet([rule], ctx(), CATALOG))[0] == "i9"  # 14:00 UTC is inside
    # datetime objects (what YAML gives) too, an aware one in another zone moved to UTC
    paris = timezone(timedelta(hours=1))
    when = {"starts_at": datetime(2026, 12, 1), "ends_at": datetime(2026, 12, 2, 1, tzinfo=paris)}
    (rule,) = rules({**boost, "when": when})
    assert rule.when is not None and rule.when.starts_at is not None
    assert rule.when.starts_at.tzinfo is UTC
    assert rule.when.ends_at == datetime(2026, 12, 2, tzinfo=UTC)
    assert ranked(RuleSet([rule], ctx(), CATALOG))[0] != "i9"  # not yet


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        ({"sources": [{"source": "popular", "weight": float("inf")}]}, "$.sources[0].weight"),
        ({"sources": [{"source": "popular", "weight": float("nan")}]}, "$.sources[0].weight"),
        (
            {
                "sources": [{"source": "popular"}],
                "rules": [{"kind": "boost", "match": {"items": ["a"]}, "factor": float("inf")}],
            },
            "$.rules[0].factor",
        ),
        (
            {
                "sources": [{"source": "popular"}],
                "rules": [{"kind": "exclude", "match": {"attributes": {"size": -float("inf")}}}],
            },
            "$.rules[0].match.attributes.size",
        ),
    ],
)
def test_non_finite_numbers_in_placements_say_where(
    definition: dict[str, object], where: str
) -> None:
    with pytest.raises(DefinitionError, match="finite") as err:
        parse_placement(definition, "p")
    assert str(err.value).endswith(f"- at `{where}`")


def test_yaml_inf_and_nan_are_refused() -> None:
    from retailor.api.http import load_yaml_definition

    body = "sources:\n  - source: popular\n    weight: .inf\n"
    with pytest.raises(DefinitionError, match=r"\$\.sources\[0\]\.weight"):
        parse_placement(load_yaml_definition(body), "p")
    body = "sources: [{source: popular}]\nrules:\n  - {kind: bury, factor: .nan, match: {items: [a]}}\n"
    with pytest.raises(DefinitionError, match=r"\$\.rules\[0\]\.factor"):
        parse_placement(load_yaml_definition(body), "p")


def test_yaml_aliases_are_refused_when_parsing_definitions() -> None:
    from retailor.api.http import AliasRefusedError, load_yaml_definition

    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    with pytest.raises(AliasRefusedError, match=r"aliases \(\*name\) are not accepted"):
        load_yaml_definition(laughs)
    with pytest.raises(AliasRefusedError):
        load_yaml_definition("base: &b {source: popular}\nsources: [*b]\n")
    with pytest.raises(AliasRefusedError):  # merge keys are aliases too
        load_yaml_definition("base: &b {source: popular}\nsources: [{<<: *b, weight: 2}]\n")
    # an anchor alone expands nothing and still parses like yaml.safe_load would
    plain = load_yaml_definition("sources:\n  - &first {source: popular, weight: 2}\n")
    assert parse_placement(plain, "p").sources[0].weight == 2


@pytest.mark.parametrize(
    ("when", "where"),
    [
        (
            {"starts_at": "2026-12-02T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z"},
            "$.rules[0].when",
        ),
        (
            {"starts_at": "2026-12-01T00:00:00", "ends_at": "2026-12-01T00:00:00Z"},
            "$.rules[0].when",
        ),
        ({"hours": [9, 9]}, "$.rules[0].when.hours"),
        ({"hours": [0, 0]}, "$.rules[0].when.hours"),
        ({"channels": ["web", "telepathy"]}, "$.rules[0].when.channels[1]"),
        ({"channels": ["WEB"]}, "$.rules[0].when.channels[0]"),
    ],
)
def test_conditions_that_could_never_hold_are_refused(when: dict[str, object], where: str) -> None:
    rule = {"kind": "boost", "match": {"items": ["a"]}, "when": when}
    with pytest.raises(DefinitionError) as err:
        parse_placement({"sources": [{"source": "popular"}], "rules": [rule]}, "p")
    assert str(err.value).endswith(f"- at `{where}`")
    if "channels" in where:
        assert "web, app, store" in str(err.value)  # the valid channels are listed


def test_a_placement_channel_must_be_a_known_channel() -> None:
    with pytest.raises(DefinitionError, match="valid channels: web, app") as err:
        parse_placement({"sources": [{"source": "popular"}], "channel": "fax"}, "p")
    assert str(err.value).endswith("- at `$.channel`")
    assert parse_placement({"sources": [{"source": "popular"}], "channel": "kiosk"}, "p").channel


def test_a_stored_placement_that_no_longer_parses_is_dropped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from retailor.decision.placements import PlacementBook
    from retailor.storage.files.definitions import FileDefinitionStore

    store = FileDefinitionStore(tmp_path)
    store.put("placement", "fine", {"sources": [{"source": "popular"}]})
    store.put("placement", "broken", {"sources": [{"source": "popular", "weight": -1}]})
    store.put("placement", "gone", {"sources": [{"source": "retired_model"}]})
    with caplog.at_level(logging.WARNING, logger="retailor.decision.placements"):
        book = PlacementBook(store, lambda name: name in ("popular", "trending_now"))
    assert book.get("fine") is not None
    assert book.get("broken") is None and book.get("gone") is None
    warned = sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert len(warned) == 2
    assert "'broken'" in warned[0] and "$.sources[0].weight" in warned[0]
    assert "'gone'" in warned[1] and "retired_model" in warned[1]
