"""combine(): normalise each, weighted sum, normalise; property tests on small random vectors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embed import combine

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
vec = st.lists(finite, min_size=6, max_size=6).map(lambda xs: np.array(xs, dtype=np.float32)).filter(
    lambda v: np.linalg.norm(v) > 1e-2)
weight = st.floats(0.1, 5, allow_nan=False).flatmap(lambda w: st.sampled_from([w, -w]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(vec, weight), min_size=1, max_size=5), st.floats(0.1, 10), st.randoms())
def test_combine_properties(terms, scale, rnd):
    vs = [v for v, _ in terms]
    ws = [w for _, w in terms]
    expected = sum(w * v.astype(np.float64) / np.linalg.norm(v.astype(np.float64)) for v, w in terms)
    if np.linalg.norm(expected) < 1e-3:
        return  # (near) cancelling terms: covered below
    out = combine(vs, ws)
    assert out.dtype == np.float32 and abs(np.linalg.norm(out) - 1) < 1e-5
    np.testing.assert_allclose(out, expected / np.linalg.norm(expected), atol=1e-4)
    np.testing.assert_allclose(combine(vs, [w * scale for w in ws]), out, atol=1e-4)  # only ratios matter
    order = list(range(len(vs)))
    rnd.shuffle(order)
    np.testing.assert_allclose(combine([vs[i] for i in order], [ws[i] for i in order]), out, atol=1e-4)


def test_all_weights_one_is_the_tutorials_average():
    t = np.array([3.0, 4.0, 0.0], dtype=np.float32)
    i = np.array([0.0, 0.0, 2.0], dtype=np.float32)
    avg = (t / 5 + i / 2) / 2
    np.testing.assert_allclose(combine([t, i]), avg / np.linalg.norm(avg), atol=1e-6)


def test_cancelling_terms_raise():
    v = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    with pytest.raises(ValueError):
        combine([v, 2 * v], [1.0, -1.0])
    with pytest.raises(ValueError):
        combine([v], [0.0])
    with pytest.raises(ValueError):
        combine([np.zeros(3, dtype=np.float32)])
