"""``Interactions``: what every model learns from — who did what to which item, when.

One row per customer (or session) and item touch: a view, a cart add or a purchase
(one row per order line, the order id as its basket). Identifiers are coded as integer
positions into ``user_ids`` / ``item_ids`` / ``session_ids`` / ``basket_ids``, so models
work on NumPy arrays and SciPy matrices. Item attributes (category path, brand, price,
name) travel alongside for the content-based and per-category models.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

DAY = 86_400.0


class Kind(enum.IntEnum):
    """How strongly an interaction shows interest."""

    VIEW = 0
    CART = 1
    PURCHASE = 2


KIND_NAMES = {k.name.lower(): k for k in Kind}
#: Confidence of each kind for the models that weigh them (configurable per model).
DEFAULT_WEIGHTS: dict[str, float] = {"view": 1.0, "cart": 3.0, "purchase": 5.0}


@dataclass(frozen=True)
class ItemAttributes:
    """What the catalog says about an item."""

    category: tuple[str, ...] = ()
    brand: str | None = None
    price: float | None = None
    name: str | None = None


@dataclass(eq=False)
class Interactions:
    """Coded interaction rows (see the module docstring). Arrays are aligned by row."""

    user: np.ndarray  # int32, -1 when the row has no customer (session-only data)
    item: np.ndarray  # int32
    kind: np.ndarray  # int8, a Kind
    ts: np.ndarray  # float64 epoch seconds
    session: np.ndarray  # int32, -1 when unknown
    basket: np.ndarray  # int32, -1 when not a purchase in an order
    quantity: np.ndarray  # float32
    user_ids: np.ndarray  # str
    item_ids: np.ndarray  # str
    session_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    basket_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    attributes: Mapping[str, ItemAttributes] = field(default_factory=dict)
    stores: np.ndarray | None = None  # int32 codes into store_ids, -1 unknown
    store_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))

    # --- construction ------------------------------------------------------------------

    @classmethod
    def from_arrow(
        cls, table: pa.Table, attributes: Mapping[str, ItemAttributes] | None = None
    ) -> Interactions:
        """From columns ``user_id``, ``item_id``, ``kind`` (view|cart|purchase),
        ``timestamp`` (timestamp or epoch seconds) and optionally ``session_id``,
        ``basket_id``, ``quantity``, ``store_id``. Rows are sorted by time."""
        n = table.num_rows
        names = set(table.column_names)
        ts_col = table.column("timestamp")
        if pa.types.is_timestamp(ts_col.type):
            ts = (
                pc.cast(ts_col, pa.timestamp("us", tz="UTC"))
                .cast(pa.int64())
                .to_numpy(zero_copy_only=False)
                / 1e6
            )
        else:
            ts = np.asarray(
                ts_col.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
            )
        order = np.argsort(ts, kind="stable")
        table = table.take(pa.array(order))
        ts = ts[order]

        def codes(name: str) -> tuple[np.ndarray, np.ndarray]:
            if name not in names:
                return np.full(n, -1, dtype=np.int32), np.array([], dtype=str)
            encoded = pc.dictionary_encode(table.column(name).cast(pa.string())).combine_chunks()
            idx = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
            return idx, np.asarray(encoded.dictionary.to_pylist(), dtype=str)

        user, user_ids = codes("user_id")
        item, item_ids = codes("item_id")
        session, session_ids = codes("session_id")
        basket, basket_ids = codes("basket_id")
        store, store_ids = codes("store_id")
        if "kind" in names:
            kind_names = table.column("kind").cast(pa.string()).to_pylist()
            lookup = {name: int(k) for name, k in KIND_NAMES.items()}
            kind = np.array([lookup.get(k or "", 2) for k in kind_names], dtype=np.int8)
        else:
            kind = np.full(n, Kind.PURCHASE, dtype=np.int8)
        if "quantity" in names:
            quantity = (
                table.column("quantity")
                .cast(pa.float32())
                .fill_null(1.0)
                .to_numpy(zero_copy_only=False)
            )
        else:
            quantity = np.ones(n, dtype=np.float32)
        return cls(
            user=user, item=item, kind=kind, ts=ts, session=session, basket=basket,
            quantity=np.asarray(quantity, dtype=np.float32), user_ids=user_ids,
            item_ids=item_ids, session_ids=session_ids, basket_ids=basket_ids,
            attributes=dict(attributes or {}), stores=store, store_ids=store_ids,
        )  # fmt: skip

    # --- shape -------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.item.size)

    @property
    def n_users(self) -> int:
        return int(self.user_ids.size)

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)

    @property
    def now(self) -> float:
        """The newest interaction time: the reference point of time decay."""
        return float(self.ts.max()) if self.ts.size else 0.0

    # --- selection ---------------------------------------------------------------------

    def subset(self, mask: np.ndarray) -> Interactions:
        """The rows where ``mask`` holds, with the same identifier codes."""
        return Interactions(
            user=self.user[mask], item=self.item[mask], kind=self.kind[mask], ts=self.ts[mask],
            session=self.session[mask], basket=self.basket[mask], quantity=self.quantity[mask],
            user_ids=self.user_ids, item_ids=self.item_ids, session_ids=self.session_ids,
            basket_ids=self.basket_ids, attributes=self.attributes,
            stores=None if self.stores is None else self.stores[mask], store_ids=self.store_ids,
        )  # fmt: skip

    def before(self, cutoff: float) -> Interactions:
        return self.subset(self.ts < cutoff)

    def since(self, cutoff: float) -> Interactions:
        return self.subset(self.ts >= cutoff)

    def of_kind(self, *kinds: Kind) -> Interactions:
        return self.subset(np.isin(self.kind, [int(k) for k in kinds]))

    # --- derived quantities ------------------------------------------------------------

    def weights(self, by_kind: Mapping[str, float] | None = None) -> np.ndarray:
        """Each row's confidence by its kind."""
        table = {**DEFAULT_WEIGHTS, **(by_kind or {})}
        lookup = np.array([table[k.name.lower()] for k in Kind], dtype=np.float32)
        return lookup[self.kind]

    def decay(self, half_life_days: float | None, now: float | None = None) -> np.ndarray:
        """Each row's time-decay factor, 1 at ``now`` and 0.5 one half-life before."""
        if not half_life_days:
            return np.ones(len(self), dtype=np.float32)
        age = ((self.now if now is None else now) - self.ts) / DAY
        return np.power(0.5, np.maximum(age, 0.0) / half_life_days).astype(np.float32)

    def matrix(self, values: np.ndarray, rows: str = "user") -> sp.csr_matrix:
        """A (users or sessions or baskets) x items CSR matrix summing ``values``."""
        row = getattr(self, rows)
        size = {
            "user": self.n_users,
            "session": self.session_ids.size,
            "basket": self.basket_ids.size,
        }[rows]
        keep = row >= 0
        m = sp.csr_matrix(
            (values[keep].astype(np.float32), (row[keep], self.item[keep])),
            shape=(size, self.n_items),
        )
        m.sum_duplicates()
        return m

    def describe(self) -> dict[str, Any]:
        return {
            "interactions": len(self),
            "customers": int(np.unique(self.user[self.user >= 0]).size),
            "items": int(np.unique(self.item).size),
            "purchases": int((self.kind == Kind.PURCHASE).sum()),
        }
