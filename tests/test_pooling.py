"""Unit vectors are pooled the same way in training (torch, batched windows) and when tagging
(numpy, one article's stitched states): a mismatch would feed the heads vectors they never saw."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from argmine.inference import _pool  # noqa: E402
from argmine.modeling import pool_spans  # noqa: E402


def test_training_and_tagging_pool_a_unit_alike():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(12, 4)).astype(np.float32)
    ranges = [(0, 3), (3, 4), (5, 12), (7, 7)]  # the last one empty: zeros
    tagged = _pool(states, ranges)
    spans = torch.tensor([[list(r) for r in ranges]])
    trained = pool_spans(torch.from_numpy(states).unsqueeze(0), spans)[0].numpy()
    np.testing.assert_allclose(trained, tagged, rtol=1e-5, atol=1e-6)
    assert tagged.shape == (4, 2 * 4)
    np.testing.assert_allclose(tagged[2, :4], states[5:12].mean(axis=0), rtol=1e-5)  # mean
    np.testing.assert_allclose(tagged[2, 4:], states[5])  # first token
    assert not tagged[3].any()
