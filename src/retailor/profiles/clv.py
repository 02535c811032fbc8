"""Customer lifetime value: the BG/NBD model of purchase frequency and dropout (Fader,
Hardie & Lee 2005, "Counting your customers the easy way") and the Gamma-Gamma model of
spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV"), fitted by maximum
likelihood. Time is measured in weeks, as in the papers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

Array = NDArray[np.float64]


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def probability_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        ratio = np.where(
            x > 0,
            (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + T) / (alpha + t_x)) ** (r + x),
            0.0,
        )
        return 1.0 / (1.0 + ratio)

    def expected_purchases(self, t: float, x: Array, t_x: Array, T: Array) -> Array:
        """Expected purchases in the next ``t`` weeks of customers with history (x, t_x, T)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        head = (a + b + x - 1) / (a - 1)
        body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
        tail = np.where(
            x > 0,
            (a / np.maximum(b + x - 1, 1e-12)) * ((alpha + T) / (alpha + t_x)) ** (r + x),
            0.0,
        )
        return head * body / (1 + tail)  # type: ignore[no-any-return]


def bgnbd_log_likelihood(params: Array, x: Array, t_x: Array, T: Array) -> float:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def fit_bgnbd(x: Array, t_x: Array, T: Array) -> BGNBD:
    """Maximum-likelihood BG/NBD on per-customer (repeat purchases, recency, age) in weeks."""
    if len(x) < 3:
        raise ValueError("fitting BG/NBD needs at least 3 customers")

    def loss(log_params: Array) -> float:
        return -bgnbd_log_likelihood(np.exp(log_params), x, t_x, T)

    best = minimize(loss, np.log([1.0, 1.0, 1.0, 1.0]), method="Nelder-Mead",
                    options={"maxiter": 20_000, "xatol": 1e-8, "fatol": 1e-10})  # fmt: skip
    refined = minimize(loss, best.x, method="L-BFGS-B")
    r, alpha, a, b = np.exp(refined.x if refined.fun <= best.fun else best.x)
    return BGNBD(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters of spend per transaction: p, q, v (gamma)."""

    p: float
    q: float
    v: float

    def expected_spend(self, x: Array, m_x: Array, fallback: float) -> Array:
        """Expected average spend per transaction; ``fallback`` (the population mean) for
        customers without repeat purchases."""
        p, q, v = self.p, self.q, self.v
        conditional = p * (v + x * m_x) / np.maximum(p * x + q - 1, 1e-12)
        return np.where(x > 0, conditional, fallback)

    @property
    def population_mean(self) -> float:
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("nan")


def gamma_gamma_log_likelihood(params: Array, x: Array, m_x: Array) -> float:
    p, q, v = params
    return float(
        np.sum(
            gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
            + (p * x - 1) * np.log(m_x) + p * x * np.log(x) - (p * x + q) * np.log(x * m_x + v)
        )
    )  # fmt: skip


def fit_gamma_gamma(x: Array, m_x: Array) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma on customers with x > 0 repeat transactions of mean
    value m_x > 0."""
    keep = (x > 0) & (m_x > 0)
    x, m_x = x[keep], m_x[keep]
    if len(x) < 3:
        raise ValueError("fitting Gamma-Gamma needs at least 3 customers with repeat purchases")

    def loss(log_params: Array) -> float:
        return -gamma_gamma_log_likelihood(np.exp(log_params), x, m_x)

    best = minimize(loss, np.log([1.0, 1.0, float(np.mean(m_x))]), method="Nelder-Mead",
                    options={"maxiter": 20_000, "xatol": 1e-8, "fatol": 1e-10})  # fmt: skip
    refined = minimize(loss, best.x, method="L-BFGS-B")
    p, q, v = np.exp(refined.x if refined.fun <= best.fun else best.x)
    return GammaGamma(p=float(p), q=float(q), v=float(v))
