"""The catalog's word index behind the ``search`` candidate source."""

from __future__ import annotations

from retailor.decision.search import QueryIndex, words


def index() -> QueryIndex:
    q = QueryIndex()
    q.put("mug", "Blue Coffee Mug", ["Home", "Kitchen", "Mugs"], "Acme")
    q.put("cup", "Tea Cup", ["Home", "Kitchen"], "Acme")
    q.put("rake", "Garden Rake", ["Garden", "Tools"], "Zen")
    q.put("box", "Storage Boxes", ["Home", "Storage"], None)
    return q


def test_words_fold_case_punctuation_and_plurals() -> None:
    assert words("Boxes, MUGS & glasses; Batteries 4K a") == [
        "box",
        "mug",
        "glass",
        "battery",
        "4k",
    ]


def test_rare_words_and_names_weigh_more() -> None:
    q = index()
    assert [item for item, _ in q.match("mugs", 5)] == ["mug"]
    assert [item for item, _ in q.match("boxes", 5)] == ["box"]
    # "coffee" is rarer than "kitchen": the mug ranks first, the cup still matches
    assert [item for item, _ in q.match("kitchen coffee", 5)] == ["mug", "cup"]
    assert q.match("", 5) == [] and q.match("?!", 5) == [] and q.match("sofa", 5) == []


def test_reindexing_an_item_forgets_its_old_words() -> None:
    q = index()
    q.put("mug", "Red Plate", ["Home", "Kitchen"], "Acme")
    assert q.match("mug", 5) == []
    assert [item for item, _ in q.match("plate", 5)] == ["mug"]
