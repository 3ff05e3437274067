"""Tests for tlkit.measures: dataset distances and transferability scores."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from scipy.stats import multivariate_normal

from tlkit.measures import (
    class_mean_emd,
    domain_similarity,
    gaussian_w2,
    h_score,
    label_cost_matrix,
    leep,
    logme,
    nce,
    otdd,
    pixel_features,
    rounding_bound,
    stratified_subsample,
)


def gaussian_classes(
    centres: np.ndarray, n_per_class: int, seed: int, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """n_per_class points around each centre with isotropic spread ``scale``."""
    rng = np.random.default_rng(seed)
    k, d = centres.shape
    x = np.concatenate([c + scale * rng.normal(size=(n_per_class, d)) for c in centres])
    return x, np.repeat(np.arange(k), n_per_class)


@pytest.fixture(scope="module")
def centres() -> np.ndarray:
    return np.random.default_rng(0).normal(0.0, 3.0, size=(3, 5))


# --------------------------------------------------------------------------- gaussian_w2


def test_gaussian_w2_one_dimensional_by_hand():
    # 1-D: W2^2 = (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s; (0-1)^2 + (1-2)^2 = 2
    assert gaussian_w2(0.0, 1.0, 1.0, 4.0) == pytest.approx(math.sqrt(2.0), abs=1e-12)
    assert gaussian_w2(0.0, 1.0, 1.0, 4.0, squared=True) == pytest.approx(2.0, abs=1e-12)


def test_gaussian_w2_diagonal_by_hand():
    # diagonal: W2^2 = |mu1 - mu2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2
    #         = (1 + 4) + (1 - 3)^2 + (2 - 1)^2 = 10
    mu1, mu2 = np.zeros(2), np.array([1.0, 2.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    assert gaussian_w2(mu1, s1, mu2, s2, squared=True) == pytest.approx(10.0, abs=1e-10)


def test_gaussian_w2_symmetric_and_zero_on_itself():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    s1, s2 = a @ a.T + 0.1 * np.eye(4), b @ b.T + 0.1 * np.eye(4)
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    assert gaussian_w2(mu1, s1, mu2, s2) == pytest.approx(gaussian_w2(mu2, s2, mu1, s1), rel=1e-9)
    # zero by construction: exactly, on every CPU (round-off is floored, see rounding_bound)
    assert gaussian_w2(mu1, s1, mu1, s1) == 0.0
    assert gaussian_w2(mu1, 1e6 * s1, mu1, 1e6 * s1) == 0.0


def test_gaussian_w2_resolves_what_rounding_allows():
    """The floor only removes round-off: a small genuine difference is still measured."""
    rng = np.random.default_rng(3)
    a = rng.normal(size=(64, 64))
    s = a @ a.T / 64 + 1e-6 * np.eye(64)
    mu = np.zeros(64)
    bound = rounding_bound(2 * np.trace(s), 64)
    # a shift of the covariance by t * I changes W2^2 by about t^2 * sum_i 1/(4 lambda_i)
    for t in (1e-4, 1e-3):
        w2sq = gaussian_w2(mu, s, mu, s + t * np.eye(64), squared=True)
        assert w2sq > 100 * bound, (t, w2sq, bound)


def test_gaussian_w2_rejects_bad_shapes_and_nans():
    with pytest.raises(ValueError, match="shape"):
        gaussian_w2(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_w2(np.array([np.nan]), 1.0, 0.0, 1.0)


# --------------------------------------------------------------------------- OTDD


def test_otdd_two_points_by_hand():
    # One point per class, so each class Gaussian is N(x, ridge): label cost = (mu - mu')^2.
    # A = {(0, a0), (2, a1)}, B = {(1, b0), (5, b1)}; label costs W = [[1, 25], [1, 9]].
    # Ground costs: C = [[1+1, 25+25], [1+1, 9+9]] = [[2, 50], [2, 18]].
    # Couplings of two uniform points are the two permutations: (2+18)/2 = 10, (50+2)/2 = 26.
    xa, ya = np.array([[0.0], [2.0]]), np.array([0, 1])
    xb, yb = np.array([[1.0], [5.0]]), np.array([0, 1])
    np.testing.assert_allclose(
        label_cost_matrix(xa, ya, xb, yb), [[1.0, 25.0], [1.0, 9.0]], atol=1e-9
    )
    assert otdd(xa, ya, xb, yb) == pytest.approx(math.sqrt(10.0), abs=1e-9)


def test_otdd_matches_brute_force_over_permutations():
    # With n uniform points on each side the optimal coupling is a permutation (Birkhoff).
    rng = np.random.default_rng(3)
    xa, xb = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1.0
    ya, yb = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 0, 1, 1, 1, 1])
    ridge = 1e-6

    def stats(x, y, c):
        xc = x[y == c]
        return xc.mean(0), np.cov(xc.T, bias=True) + ridge * np.eye(2)

    w2 = {
        (i, j): gaussian_w2(*stats(xa, ya, i), *stats(xb, yb, j), squared=True)
        for i in (0, 1)
        for j in (0, 1)
    }
    cost = [
        [float(np.sum((xa[i] - xb[j]) ** 2)) + w2[ya[i], yb[j]] for j in range(6)] for i in range(6)
    ]
    best = min(np.mean([cost[i][p[i]] for i in range(6)]) for p in itertools.permutations(range(6)))
    assert otdd(xa, ya, xb, yb, ridge=ridge) == pytest.approx(math.sqrt(best), abs=1e-9)


def test_otdd_zero_on_itself_and_symmetric(centres):
    xa, ya = gaussian_classes(centres, 40, seed=1)
    xb, yb = gaussian_classes(centres + 1.0, 30, seed=2)
    assert otdd(xa, ya, xa, ya) == 0.0
    assert otdd(xa, ya, xb, yb) == pytest.approx(otdd(xb, yb, xa, ya), rel=1e-9)
    # with subsampling active, each dataset's subsample does not depend on argument order
    ab = otdd(xa, ya, xb, yb, max_samples=25, seed=4)
    assert ab == pytest.approx(otdd(xb, yb, xa, ya, max_samples=25, seed=4), rel=1e-9)
    assert otdd(xa, ya, xa, ya, max_samples=25, seed=4) == 0.0


def test_otdd_exact_inner_zero_on_itself_and_symmetric(centres):
    xa, ya = gaussian_classes(centres, 15, seed=1)
    xb, yb = gaussian_classes(centres, 15, seed=2, scale=2.0)
    assert otdd(xa, ya, xa, ya, inner="exact") == 0.0
    ab = otdd(xa, ya, xb, yb, inner="exact")
    assert ab == pytest.approx(otdd(xb, yb, xa, ya, inner="exact"), rel=1e-9)
    assert ab > 0.5


def test_otdd_grows_with_translation(centres):
    xa, ya = gaussian_classes(centres, 50, seed=1)
    xb, yb = gaussian_classes(centres, 50, seed=2)
    direction = np.ones(5) / math.sqrt(5)
    values = [otdd(xa, ya, xb + t * direction, yb) for t in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert np.all(np.diff(values) > 0), values


def test_otdd_grows_with_class_spread(centres):
    xa, ya = gaussian_classes(centres, 50, seed=1)
    values = [otdd(xa, ya, *gaussian_classes(centres, 50, seed=2, scale=s)) for s in (1, 1.5, 2, 3)]
    assert np.all(np.diff(values) > 0), values


def test_otdd_grows_with_label_noise_and_ignores_class_names(centres):
    xa, ya = gaussian_classes(centres, 40, seed=1)
    k = 3
    # renaming classes does not change any class-conditional distribution
    assert otdd(xa, ya, xa, np.array([2, 0, 1])[ya]) == 0.0
    # moving a growing (nested) share of points to a different class does
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ya))
    offset = rng.integers(1, k, size=len(ya))
    values = []
    for share in (0.0, 0.1, 0.25, 0.5):
        idx = order[: int(share * len(ya))]
        yb = ya.copy()
        yb[idx] = (ya[idx] + offset[idx]) % k
        values.append(otdd(xa, ya, xa, yb))
    assert values[0] == 0.0
    assert np.all(np.diff(values) > 0), values


def test_otdd_label_vocabularies_may_differ(centres):
    xa, ya = gaussian_classes(centres, 20, seed=1)
    xb, yb = gaussian_classes(centres[:2], 20, seed=2)
    assert label_cost_matrix(xa, ya, xb, yb + 10).shape == (3, 2)
    assert otdd(xa, ya, xb, yb + 10) == pytest.approx(otdd(xa, ya, xb, yb), abs=1e-9)


def test_stratified_subsample_keeps_every_class_and_is_seeded():
    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    idx = stratified_subsample(y, 10, seed=0)
    assert len(idx) == 10 and len(np.unique(idx)) == 10
    assert sorted(np.unique(y[idx], return_counts=True)[1].tolist()) == [1, 1, 8]
    np.testing.assert_array_equal(idx, stratified_subsample(y, 10, seed=0))
    assert not np.array_equal(idx, stratified_subsample(y, 10, seed=1))
    np.testing.assert_array_equal(stratified_subsample(y, 500), np.arange(100))
    with pytest.raises(ValueError, match="empty"):
        stratified_subsample(y, 2)


def test_otdd_input_errors(centres):
    xa, ya = gaussian_classes(centres, 10, seed=1)
    with pytest.raises(ValueError, match="entries"):
        otdd(xa, ya[:-1], xa, ya)
    bad = xa.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        otdd(bad, ya, xa, ya)
    with pytest.raises(ValueError, match="feature spaces"):
        otdd(xa, ya, xa[:, :2], ya)
    with pytest.raises(ValueError, match="empty"):
        otdd(np.zeros((0, 5)), np.zeros(0, dtype=int), xa, ya)
    with pytest.raises(ValueError, match="empty"):
        otdd(xa, ya, xa, ya, max_samples=2)
    with pytest.raises(ValueError, match="integer"):
        otdd(xa, ya + 0.5, xa, ya)
    with pytest.raises(ValueError, match="inner"):
        otdd(xa, ya, xa, ya, inner="sinkhorn")


# --------------------------------------------------------------------------- Cui et al.


def test_class_mean_emd_by_hand():
    # A: class 0 = {(0,0), (0,0)} (weight 2/3), class 1 = {(3,4)} (weight 1/3);
    # B: one class at (0,0) (weight 1). All of A's class-1 mass travels |(3,4)| = 5: EMD = 5/3.
    xa = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    ya = np.array([0, 0, 1])
    xb, yb = np.zeros((3, 2)), np.zeros(3, dtype=int)
    assert class_mean_emd(xa, ya, xb, yb) == pytest.approx(5.0 / 3.0, abs=1e-12)
    assert domain_similarity(xa, ya, xb, yb, gamma=0.1) == pytest.approx(math.exp(-1 / 6), 1e-12)


def test_domain_similarity_identity_symmetry_and_shift(centres):
    xa, ya = gaussian_classes(centres, 30, seed=1)
    xb, yb = gaussian_classes(centres, 20, seed=2)
    assert domain_similarity(xa, ya, xa, ya) == 1.0
    assert domain_similarity(xa, ya, xb, yb) == pytest.approx(
        domain_similarity(xb, yb, xa, ya), abs=1e-12
    )
    sims = [domain_similarity(xa, ya, xa + t, ya, gamma=0.5) for t in (0.0, 0.5, 1.0, 2.0)]
    assert np.all(np.diff(sims) < 0) and 0 < sims[-1] < 1
    with pytest.raises(ValueError, match="gamma"):
        domain_similarity(xa, ya, xb, yb, gamma=0.0)


# --------------------------------------------------------------------------- pixel features


def test_pixel_features_shape_and_area_resize():
    rng = np.random.default_rng(0)
    blocks = rng.uniform(size=(2, 1, 4, 4))
    images = np.kron(blocks, np.ones((1, 1, 4, 4)))  # 16x16 made of constant 4x4 blocks
    feats = pixel_features(images, size=4)
    assert feats.shape == (2, 16) and feats.dtype == np.float64
    np.testing.assert_allclose(feats, blocks.reshape(2, 16), atol=1e-12)
    assert pixel_features(images[:, 0]).shape == (2, 64)  # (N, H, W) accepted, default size 8


def test_pixel_features_grayscale():
    red = np.zeros((1, 3, 8, 8))
    red[:, 0] = 1.0
    np.testing.assert_allclose(pixel_features(red, size=2), np.full((1, 4), 0.299), atol=1e-12)
    grey = np.random.default_rng(1).uniform(size=(3, 1, 12, 12))
    rgb = np.repeat(grey, 3, axis=1)
    np.testing.assert_allclose(pixel_features(rgb), pixel_features(grey), atol=1e-12)
    tensor = torch.from_numpy(rgb).float()
    np.testing.assert_allclose(pixel_features(tensor), pixel_features(grey), atol=1e-6)


def test_pixel_features_errors():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pixel_features(np.full((1, 1, 8, 8), 255.0))
    with pytest.raises(ValueError, match="channels"):
        pixel_features(np.zeros((1, 2, 8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        pixel_features(np.full((1, 1, 8, 8), np.nan))


# --------------------------------------------------------------------------- transferability


def informative_and_random_features(n_per_class=40, k=4, d=8, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n_per_class)
    centres = rng.normal(0, 3, size=(k, d))
    good = centres[y] + rng.normal(size=(len(y), d))
    noise = rng.normal(size=(len(y), d))
    return good, noise, y


def test_leep_by_hand():
    # P(y,z) = [[.5, 0], [.25, .25]]; P(z) = [.75, .25]; P(y|z) = [[2/3, 0], [1/3, 1]].
    # Example 1 (y=0): 1 * 2/3; example 2 (y=1): .5 * 1/3 + .5 * 1 = 2/3. LEEP = log(2/3).
    theta = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert leep(theta, np.array([0, 1])) == pytest.approx(math.log(2 / 3), abs=1e-12)


def test_leep_perfect_predictor_is_zero_and_scores_are_nonpositive():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, size=200)
    perfect = np.eye(7)[np.array([3, 6, 0, 1, 4])[y]]  # source classes are renamed target classes
    assert leep(perfect, y) == pytest.approx(0.0, abs=1e-12)
    noisy = rng.dirichlet(np.ones(7), size=200)
    informative = 0.7 * perfect + 0.3 * noisy
    assert leep(noisy, y) <= 0 and leep(informative, y) <= 0
    assert leep(informative, y) > leep(noisy, y)
    assert leep(noisy, y) > -math.log(5) - 0.2  # close to -H(Y) for uninformative predictions


def test_leep_errors():
    with pytest.raises(ValueError, match="softmax"):
        leep(np.array([[2.0, -1.0]]), np.array([0]))
    with pytest.raises(ValueError, match="entries"):
        leep(np.array([[1.0, 0.0]]), np.array([0, 1]))


def test_nce_by_hand_and_determined_labels():
    # z=0 -> y in {0, 1} equally (entropy log 2, weight 1/2); z=1 -> y=1 always.
    assert nce(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])) == pytest.approx(
        -0.5 * math.log(2), abs=1e-12
    )
    z = np.random.default_rng(0).integers(0, 10, size=300)
    assert nce(z, z % 3) == pytest.approx(0.0, abs=1e-12)  # target is a function of source
    independent = np.random.default_rng(1).integers(0, 3, size=300)
    assert nce(z, independent) < nce(z, np.where(z < 5, z % 3, independent)) < 0
    with pytest.raises(ValueError, match="entries"):
        nce(z, z[:-1])


def test_h_score_by_hand_and_ordering():
    # 1-D: var(E[f|y]) / var(f) with f = [0, 2, 4, 6], class means [1, 1, 5, 5]: 4 / 5.
    f = np.array([[0.0], [2.0], [4.0], [6.0]])
    assert h_score(f, np.array([0, 0, 1, 1])) == pytest.approx(0.8, rel=1e-9)
    good, noise, y = informative_and_random_features()
    assert h_score(good, y) > h_score(noise, y) + 1.0
    with pytest.raises(ValueError, match="NaN"):
        h_score(np.full((4, 2), np.nan), np.array([0, 0, 1, 1]))


@pytest.mark.parametrize("n_per_class, d", [(10, 3), (2, 10)])
def test_logme_is_the_maximum_evidence(n_per_class, d):
    # The evidence of the linear-Gaussian model is the density of y under
    # N(0, I/beta + F F^T / alpha). Maximise it directly over (log alpha, log beta) for each
    # one-hot target; LogME is the mean over classes of the maximum, divided by n.
    good, _, y = informative_and_random_features(n_per_class=n_per_class, k=3, d=d)
    n = len(y)

    def neg_evidence(log_ab, target):
        alpha, beta = np.exp(log_ab)
        cov = np.eye(n) / beta + good @ good.T / alpha
        return -multivariate_normal(np.zeros(n), cov).logpdf(target) / n

    best = []
    for k in range(3):
        target = (y == k).astype(float)
        fits = [
            minimize(
                neg_evidence,
                start,
                args=(target,),
                method="Nelder-Mead",
                options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000},
            )
            for start in ([0.0, 0.0], [2.0, 2.0], [-2.0, 1.0])
        ]
        best.append(-min(fit.fun for fit in fits))
    assert logme(good, y, tol=1e-10) == pytest.approx(np.mean(best), abs=1e-6)


@pytest.mark.parametrize("scale", [1e3, 1e8, 1e12])
def test_logme_does_not_break_on_large_features_that_fit_the_labels(scale):
    """Features that fit every one-hot target exactly, at a scale where ``n - gamma`` computed
    by subtraction rounds to zero (its noise precision would become 0 and divide by zero):
    the evidence is the one at scale 1, since LogME's maximum does not depend on the scale."""
    for n in (2, 10):
        f, y = np.eye(n), np.arange(n) % 2
        assert logme(f * scale, y) == pytest.approx(logme(f, y), rel=1e-9)


def test_logme_prefers_informative_features():
    good, noise, y = informative_and_random_features()
    assert logme(good, y) > logme(noise, y)
    wide_good, wide_noise, y2 = informative_and_random_features(n_per_class=5, k=3, d=40)
    assert logme(wide_good, y2) > logme(wide_noise, y2)  # d > n is handled
    with pytest.raises(ValueError, match="entries"):
        logme(good, y[:-1])
