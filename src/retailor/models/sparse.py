"""Sparse-matrix helpers shared by the model families: pruning to the strongest
neighbours, per-cell maxima, and CSR matrices as named arrays for ``save``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from retailor.models.interactions import Interactions


def prune(m: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Each row's ``keep`` largest entries."""
    m = m.tocsr()
    m.sort_indices()
    lengths = np.diff(m.indptr)
    if lengths.max(initial=0) <= keep:
        return m
    rows, cols, vals = [], [], []
    for r in np.nonzero(lengths)[0]:
        s, e = m.indptr[r], m.indptr[r + 1]
        data = m.data[s:e]
        idx = np.argpartition(-data, keep - 1)[:keep] if data.size > keep else np.arange(data.size)
        rows.append(np.full(idx.size, r))
        cols.append(m.indices[s:e][idx])
        vals.append(data[idx])
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=m.shape
    )


def pack_csr(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{prefix}_data": m.data, f"{prefix}_indices": m.indices,
        f"{prefix}_indptr": m.indptr, f"{prefix}_shape": np.array(m.shape),
    }  # fmt: skip


def unpack_csr(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=tuple(arrays[f"{prefix}_shape"]),
    )


def max_per_cell(
    data: Interactions, n_users: int, n_items: int, values: np.ndarray | None = None
) -> sp.csr_matrix:
    """Per customer x item, the largest value (default: the latest timestamp)."""
    keep = data.user >= 0
    values = (data.ts if values is None else values)[keep]
    users, items = data.user[keep].astype(np.int64), data.item[keep].astype(np.int64)
    cell = users * max(n_items, 1) + items
    order = np.lexsort((values, cell))
    cell, values = cell[order], values[order]
    last = np.ones(cell.size, dtype=bool)
    last[:-1] = cell[1:] != cell[:-1]
    cell, values = cell[last], values[last]
    return sp.csr_matrix(
        (values.astype(np.float64), (cell // max(n_items, 1), cell % max(n_items, 1))),
        shape=(n_users, n_items),
    )
