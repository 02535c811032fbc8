"""What ``benchmarks/hostile.py`` sends besides schemathesis: batches of native events and
Segment messages, valid and broken mixed, and whole bodies broken in transport; and what
the server's answer acknowledges of each.

Every event or message carries an id of its own (``event_id``, ``messageId``), so the ids
an answer acknowledges (accepted or already stored: every item the answer does not list
as rejected) can be looked for in the event log afterwards. A broken item keeps its id
where the break allows it."""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

#: How an item is broken (``None``: sent as it is).
ITEM_BREAKS = (
    "unknown type", "no one named", "control character in an id", "blank id",
    "zero-width id", "NaN", "1e309", "nested 200 deep", "lone surrogate escape",
    "invalid UTF-8", "a day and more ahead", "before 1970", "negative price",
    "order without lines", "properties not an object", "unknown envelope field",
    "a string for a number", "8.0 for an integer", "2 KB query", "not an object",
    "truncated",
)  # fmt: skip
#: How a whole body is broken in transport.
BODY_BREAKS = ("cut short", "gzip", "gzip cut short", "deflate", "unknown encoding",
               "not JSON", "empty", "top level array", "deep nesting")  # fmt: skip


@dataclass
class Sent:
    """One request's body, headers, and the ids of its items in order (None for an item
    whose id cannot be read; ``ids`` None when the items cannot be told apart)."""

    path: str
    body: bytes
    headers: dict[str, str]
    ids: list[str | None] | None
    kind: str


@dataclass
class Acknowledged:
    """The ids the server acknowledged, and answers that did not add up."""

    ids: set[str] = field(default_factory=set)
    inconsistent: list[str] = field(default_factory=list)

    def record(self, sent: Sent, status: int, answer: Any) -> None:
        """Take in one answer: 200 acknowledges every item; a 422 with ``rejected``
        acknowledges the items it does not list; anything else acknowledges nothing."""
        if sent.ids is None:
            if status == 200:
                self.inconsistent.append(f"{sent.path} ({sent.kind}): a broken body taken")
            return
        if status == 200 and isinstance(answer, dict) and "accepted" in answer:
            rejected: set[int] = set()
        elif status == 422 and isinstance(answer, dict) and "rejected" in answer:
            rejected = {r["index"] for r in answer["rejected"]}
        else:
            return
        kept = [i for i in range(len(sent.ids)) if i not in rejected]
        if answer["accepted"] + answer.get("duplicates", 0) != len(kept):
            self.inconsistent.append(
                f"{sent.path}: {len(sent.ids)} sent, {len(rejected)} rejected, but "
                f"accepted {answer['accepted']} + duplicates {answer.get('duplicates')}"
            )
        for index in kept:
            found = sent.ids[index]
            if found is not None:
                self.ids.add(found)


class Inputs:
    """A seeded source of hostile requests."""

    def __init__(self, seed: int, auth: dict[str, str], segment_auth: dict[str, str]) -> None:
        self.random = random.Random(seed)
        self.auth, self.segment_auth = auth, segment_auth
        self.count = 0
        self.sent_ids: list[str] = []
        self.prefix = f"h{seed}-{self.random.getrandbits(32):08x}"

    def _id(self, kind: str) -> str:
        self.count += 1
        return f"{self.prefix}-{kind}{self.count}"

    def native(self, now: datetime) -> dict[str, Any]:
        """A valid native event of one of a few types."""
        customer = f"{self.prefix}-c{self.random.randrange(200)}"
        item = f"sku-{self.random.randrange(500)}"
        kind = self.random.choice(["product_viewed", "product_added", "order_completed",
                                   "products_searched", "identify", "page_viewed"])  # fmt: skip
        properties: dict[str, Any] = {
            "product_viewed": {"item_id": item, "price": 9.5},
            "product_added": {"item_id": item, "quantity": 2},
            "order_completed": {
                "order_id": self._id("o"),
                "lines": [{"item_id": item, "quantity": 1, "price": 12.0}],
            },
            "products_searched": {"query": "red mug"},
            "identify": {"traits": {"email": f"{customer}@example.com"}},
            "page_viewed": {"url": "/"},
        }[kind]
        at = now - timedelta(seconds=self.random.randrange(86_400))
        return {"event_id": self._id("e"), "type": kind, "customer_id": customer,
                "timestamp": at.isoformat(), "channel": "web", "properties": properties}  # fmt: skip

    def segment(self, now: datetime) -> dict[str, Any]:
        """A valid Segment message: a track of an e-commerce event, an identify or a page."""
        user = f"{self.prefix}-c{self.random.randrange(200)}"
        kind = self.random.choice(["track", "track", "identify", "page"])
        message: dict[str, Any] = {"type": kind, "userId": user, "messageId": self._id("m"),
                                   "timestamp": now.isoformat()}  # fmt: skip
        if kind == "track":
            message["event"] = self.random.choice(["Product Viewed", "Product Added"])
            message["properties"] = {"product_id": f"sku-{self.random.randrange(500)}"}
        elif kind == "identify":
            message["traits"] = {"email": f"{user}@example.com"}
        else:
            message["name"] = "Home"
        return message

    def _break_item(self, item: dict[str, Any], how: str, segment: bool) -> bytes:
        """``item`` as JSON text, broken ``how``."""
        who = "userId" if segment else "customer_id"
        item = dict(item)
        if how == "unknown type":
            item["type"] = "teleported" if not segment else "telepathy"
        elif how == "no one named":
            item.pop(who, None)
        elif how == "control character in an id":
            item[who] = "c\n1"
        elif how == "blank id":
            item[who] = "   "
        elif how == "zero-width id":
            item[who] = "c\u200b1"
        elif how == "a day and more ahead":
            item["timestamp"] = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        elif how == "before 1970":
            item["timestamp"] = "1969-07-20T20:17:00Z"
        elif how == "negative price":
            item["properties"] = {"item_id": "sku-1", "product_id": "sku-1", "price": -3}
        elif how == "order without lines":
            item["type"], item["event"] = "order_completed", "Order Completed"
            item["properties"] = {"order_id": "o-1", "lines": [], "products": "x"}
        elif how == "properties not an object":
            item["properties"] = [1, 2]
        elif how == "unknown envelope field":
            item["sneaky"] = {"x": 1}
        elif how == "a string for a number":
            item["properties"] = {"item_id": "s", "product_id": "s", "quantity": "two"}
        elif how == "8.0 for an integer":
            item["properties"] = {"item_id": "s", "product_id": "s", "quantity": 8.0}
        elif how == "2 KB query":
            item["type"], item["event"] = "products_searched", "Products Searched"
            item["properties"] = {"query": "q" * 2100}
        text = json.dumps(item).encode()
        if how == "NaN":
            text = text[:-1] + b', "x": NaN}'
        elif how == "1e309":
            text = text[:-1] + b', "x": 1e309}'
        elif how == "nested 200 deep":
            text = text[:-1] + b', "context": ' + b'{"a":' * 200 + b"1" + b"}" * 200 + b"}"
        elif how == "lone surrogate escape":
            text = (
                text.replace(b'"web"', b'"w\\ud800"')
                if b'"web"' in text
                else text[:-1] + (b', "x": "\\udfff"}')
            )
        elif how == "invalid UTF-8":
            text = text[:-1] + b', "x": "\xff\xfe"}'
        elif how == "not an object":
            text = b'"just text"'
        elif how == "truncated":
            text = text[: len(text) // 2]
        return text

    #: The share of a batch's items that are broken (a batch of 20 is whole one time in 25).
    broken_share = 0.15

    def batch(self, now: datetime, segment: bool, size: int) -> Sent:
        """A batch of ``size`` items, some of them broken; now and then an item sent
        before (a duplicate)."""
        raws: list[bytes] = []
        ids: list[str | None] = []
        for _ in range(size):
            if self.sent_ids and self.random.random() < 0.05:
                raws.append(self._again(self.sent_ids[-1], now, segment))
                ids.append(self.sent_ids[-1])
                continue
            item = self.segment(now) if segment else self.native(now)
            own = item["messageId" if segment else "event_id"]
            if self.random.random() < self.broken_share:
                how = self.random.choice(ITEM_BREAKS)
                raws.append(self._break_item(item, how, segment))
                ids.append(own if how not in ("not an object", "truncated") else None)
            else:
                raws.append(json.dumps(item).encode())
                ids.append(own)
                self.sent_ids.append(own)
        key = b"batch" if segment else b"events"
        body = b'{"' + key + b'": [' + b", ".join(raws) + b"]}"
        path = "/v1/batch" if segment else "/v1/events"
        headers = {**(self.segment_auth if segment else self.auth),
                   "Content-Type": "application/json"}  # fmt: skip
        return Sent(path, body, headers, ids, "segment batch" if segment else "native batch")

    def _again(self, event_id: str, now: datetime, segment: bool) -> bytes:
        """An item with an id already sent: a duplicate of it if it was stored."""
        item = self.segment(now) if segment else self.native(now)
        item["messageId" if segment else "event_id"] = event_id
        return json.dumps(item).encode()

    def single_segment(self, now: datetime) -> Sent:
        """One Segment message to its own endpoint (``/v1/track``, ``/v1/identify``, ...)."""
        message = self.segment(now)
        broken = self.random.random() < 0.35
        how = self.random.choice(ITEM_BREAKS) if broken else None
        body = self._break_item(message, how, True) if how else json.dumps(message).encode()
        if not broken:
            self.sent_ids.append(message["messageId"])
        own = None if how in ("not an object", "truncated") else message["messageId"]
        headers = {**self.segment_auth, "Content-Type": "application/json"}
        return Sent(f"/v1/{message['type']}", body, headers, [own], "segment single")

    def broken_body(self, now: datetime) -> Sent:
        """A body broken as a whole (its encoding, its framing, its shape); ids are kept
        only where the body still decodes to the same items."""
        sent = self.batch(now, segment=self.random.random() < 0.3, size=self.random.randrange(1, 8))
        how = self.random.choice(BODY_BREAKS)
        body, headers = sent.body, dict(sent.headers)
        keeps = False
        if how == "cut short":
            body = body[: max(1, len(body) - self.random.randrange(1, 20))]
        elif how == "gzip":
            body, headers["Content-Encoding"], keeps = gzip.compress(body), "gzip", True
        elif how == "gzip cut short":
            body, headers["Content-Encoding"] = gzip.compress(body)[:-4], "gzip"
        elif how == "deflate":
            import zlib

            body, headers["Content-Encoding"], keeps = zlib.compress(body), "deflate", True
        elif how == "unknown encoding":
            headers["Content-Encoding"] = "br"
        elif how == "not JSON":
            body = b"event_id=e1&type=identify"
        elif how == "empty":
            body = b""
        elif how == "top level array":
            body = body[body.index(b"[") : body.rindex(b"]") + 1]
        elif how == "deep nesting":
            body = b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        ids = sent.ids if keeps else None
        return Sent(sent.path, body, headers, ids, f"body: {how}")
