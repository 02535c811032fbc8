"""An identity graph kept in memory: clusters of identifiers with one canonical customer.

Rules (see ``IdentityRules``):
- identifiers named together by an event are linked into one cluster;
- the canonical customer of a cluster is its smallest known ``customer_id`` (or, with none
  known, its smallest anonymous identifier) — the same whatever the order of events;
- two clusters with different known customer ids are never merged by a shared device,
  email or card (a family laptop, a store kiosk): only an explicit ``alias`` merges them;
- a device seen with more than ``max_customers_per_device`` customers stops linking;
- every merge and every refused link is recorded with the event that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from retailor.domain.customers import CustomerRef, IdentifierKind

Node = tuple[str, str]  # (kind, value)


@dataclass(frozen=True)
class IdentityRules:
    max_customers_per_device: int = 3


@dataclass(frozen=True)
class MergeRecord:
    """One merge (``kept`` absorbed ``absorbed``) or one refused link (``refused`` set)."""

    at: datetime
    event_id: str
    kept: str
    absorbed: str
    via: str
    refused: str | None = None


@dataclass
class _Cluster:
    members: set[Node] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    cached_key: str | None = None

    @property
    def key(self) -> str:
        if self.cached_key is None:
            self.cached_key = self._compute_key()
        return self.cached_key

    def _compute_key(self) -> str:
        if self.customers:
            return min(self.customers)
        anonymous = [v for k, v in self.members if k == IdentifierKind.ANONYMOUS_ID]
        if anonymous:
            return min(anonymous)
        return min(f"{k}:{v}" for k, v in self.members)


@dataclass(frozen=True)
class Resolution:
    """Where an event belongs, and the clusters that merged on the way (absorbed → kept)."""

    key: str
    merges: list[tuple[str, str]]


class IdentityGraph:
    """Union-find over identifiers with the guard rails of the module docstring."""

    def __init__(self, rules: IdentityRules | None = None) -> None:
        self.rules = rules or IdentityRules()
        self._parent: dict[Node, Node] = {}
        self._clusters: dict[Node, _Cluster] = {}
        self._device_customers: dict[str, set[str]] = {}
        self._by_key: dict[str, Node] = {}
        self._records_of: dict[str, list[int]] = {}
        self.records: list[MergeRecord] = []

    def _find(self, node: Node) -> Node:
        parent = self._parent.setdefault(node, node)
        if parent == node:
            if node not in self._clusters:
                cluster = _Cluster(members={node})
                if node[0] == IdentifierKind.CUSTOMER_ID:
                    cluster.customers.add(node[1])
                self._clusters[node] = cluster
                self._by_key[cluster.key] = node
            return node
        root = self._find(parent)
        self._parent[node] = root
        return root

    def key_of(self, ref: CustomerRef) -> str | None:
        """The canonical customer of an identifier the graph has seen, else None."""
        node = (ref.kind.value, ref.value)
        if node not in self._parent:
            return None
        return self._clusters[self._find(node)].key

    def members(self, key: str) -> list[CustomerRef]:
        """Every identifier of the cluster whose canonical customer is ``key``."""
        root = self._by_key.get(key)
        if root is None:
            return []
        cluster = self._clusters[self._find(root)]
        return [CustomerRef(IdentifierKind(k), v) for k, v in sorted(cluster.members)]

    def keys(self) -> list[str]:
        """The canonical customer of every cluster."""
        return list(self._by_key)

    def observe(
        self, refs: list[CustomerRef], *, at: datetime, event_id: str, explicit: bool = False
    ) -> Resolution:
        """Link the identifiers one event names; ``explicit`` (an alias) may merge two known
        customers. Returns the event's canonical customer and the merges it caused."""
        if not refs:
            raise ValueError("an event names at least one identifier")
        customer = next((r.value for r in refs if r.kind is IdentifierKind.CUSTOMER_ID), None)
        primary = (refs[0].kind.value, refs[0].value)
        self._find(primary)
        merges: list[tuple[str, str]] = []
        for ref in refs[1:]:
            node = (ref.kind.value, ref.value)
            if ref.kind is IdentifierKind.ANONYMOUS_ID and customer is not None:
                seen = self._device_customers.setdefault(ref.value, set())
                seen.add(customer)
                if len(seen) > self.rules.max_customers_per_device:
                    self._find(node)
                    self._refuse(primary, node, at, event_id, "device seen with too many customers")
                    continue
            merged = self._link(primary, node, at, event_id, explicit)
            if merged:
                merges.append(merged)
        return Resolution(key=self._clusters[self._find(primary)].key, merges=merges)

    def _refuse(self, a: Node, b: Node, at: datetime, event_id: str, why: str) -> None:
        self._record(
            MergeRecord(
                at=at,
                event_id=event_id,
                kept=self._clusters[self._find(a)].key,
                absorbed=self._clusters[self._find(b)].key,
                via=f"{b[0]}:{b[1]}",
                refused=why,
            )
        )

    def _link(
        self, a: Node, b: Node, at: datetime, event_id: str, explicit: bool
    ) -> tuple[str, str] | None:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return None
        ca, cb = self._clusters[ra], self._clusters[rb]
        if ca.customers and cb.customers and ca.customers != cb.customers and not explicit:
            self._refuse(a, b, at, event_id, "would merge two known customers")
            return None
        before_a, before_b = ca.key, cb.key
        big, small = (ra, rb) if len(ca.members) >= len(cb.members) else (rb, ra)
        self._parent[small] = big
        absorbed = self._clusters.pop(small)
        kept = self._clusters[big]
        kept.members |= absorbed.members
        kept.customers |= absorbed.customers
        kept.cached_key = None
        new_key = kept.key
        self._by_key.pop(before_a, None)
        self._by_key.pop(before_b, None)
        self._by_key[new_key] = big
        loser = before_b if new_key == before_a else before_a
        self._record(
            MergeRecord(
                at=at, event_id=event_id, kept=new_key, absorbed=loser, via=f"{b[0]}:{b[1]}"
            )
        )
        return loser, new_key

    def _record(self, record: MergeRecord) -> None:
        index = len(self.records)
        self.records.append(record)
        for name in {record.kept, record.absorbed}:
            self._records_of.setdefault(name, []).append(index)

    def explain(self, key: str) -> list[MergeRecord]:
        """The merges and refusals that involve the customer ``key``, in order."""
        names = {key} | {r.value for r in self.members(key)}
        found = sorted({i for name in names for i in self._records_of.get(name, [])})
        return [self.records[i] for i in found]

    def shared_identifier_conflicts(self, key: str) -> int:
        """How many links were refused because another known customer shares an identifier."""
        return sum(1 for r in self.explain(key) if r.refused == "would merge two known customers")
