"""Lifetime value: the fit reproduces the published parameters on the papers' own data."""

from __future__ import annotations

import csv
from importlib.metadata import distribution

import numpy as np
import pytest

from retailor.profiles.clv import BGNBD, fit_bgnbd, fit_gamma_gamma


def cdnow() -> tuple[np.ndarray, ...]:
    """The CDNOW sample of 2,357 customers (in weeks), as the `lifetimes` package ships it."""
    path = distribution("lifetimes").locate_file(
        "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv"
    )
    rows = list(csv.DictReader(open(path)))  # noqa: SIM115
    return tuple(np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar"))


def test_bgnbd_reproduces_the_published_cdnow_parameters() -> None:
    x, t_x, T, _ = cdnow()
    assert len(x) == 2357
    fitted = fit_bgnbd(x, t_x, T)
    # Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 5
    assert fitted.r == pytest.approx(0.243, abs=0.001)
    assert fitted.alpha == pytest.approx(4.414, abs=0.002)
    assert fitted.a == pytest.approx(0.793, abs=0.001)
    assert fitted.b == pytest.approx(2.426, abs=0.002)


def test_gamma_gamma_reproduces_the_published_cdnow_parameters() -> None:
    x, _, _, zbar = cdnow()
    fitted = fit_gamma_gamma(x, zbar)
    # Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", p = 6.25, q = 3.74, gamma = 15.44
    assert fitted.p == pytest.approx(6.25, abs=0.01)
    assert fitted.q == pytest.approx(3.74, abs=0.01)
    assert fitted.v == pytest.approx(15.44, abs=0.02)


def test_predictions_behave() -> None:
    model = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, t_x, T = np.array([0.0, 2, 2]), np.array([0.0, 30.43, 5.0]), np.array([38.86, 38.86, 38.86])
    alive = model.probability_alive(x, t_x, T)
    assert alive[0] == 1.0  # no repeat purchase: never seen to drop out
    assert alive[1] > alive[2]  # the same frequency, bought more recently
    expected = model.expected_purchases(39.0, x, t_x, T)
    # the paper's figure for a customer with x=2, t_x=30.43, T=38.86 over the next 39 weeks: 1.226
    assert expected[1] == pytest.approx(1.226, abs=0.01)
    assert expected[1] > expected[2]
