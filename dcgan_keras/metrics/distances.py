"""Distances between two sets of features: Fréchet (FID) and kernel (KID).

Pure numpy/scipy on (N, D) feature arrays, so they are the same on every
backend and can be tested against closed forms without any model.
"""

import warnings

import numpy as np
from scipy import linalg


def feature_statistics(features):
    """Mean and covariance of a set of features, the inputs of FID.

    Args:
        features: array-like of shape (N, D), N >= 2.

    Returns:
        (mu, sigma): float64 arrays of shapes (D,) and (D, D); sigma is the
        unbiased sample covariance (divides by N - 1), as in pytorch-fid.

    Example:
        >>> mu, sigma = feature_statistics(np.random.rand(100, 8))
        >>> mu.shape, sigma.shape
        ((8,), (8, 8))
    """
    features = _as_features(features, "features")
    if len(features) < 2:
        raise ValueError(
            f"feature_statistics needs at least 2 samples, got {len(features)}."
        )
    # float64: with D = 2048 the covariance of float32 features loses enough
    # precision to move FID in its first decimal.
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)),
    computed as in the reference pytorch-fid implementation.

    Args:
        mu1, mu2: means, shape (D,).
        sigma1, sigma2: covariances, shape (D, D).
        eps: added to both diagonals when the product is too singular for
            sqrtm, which happens whenever N <= D.

    Returns:
        The distance as a Python float (the squared Fréchet distance, which
        is what "FID" denotes in the literature).

    Example:
        >>> frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
        2.0
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            "Means and covariances must have matching shapes, got "
            f"mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}."
        )
    if sigma1.shape != (mu1.shape[0],) * 2:
        raise ValueError(
            f"Covariance shape {sigma1.shape} does not match mean shape {mu1.shape}."
        )
    for name, value in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.isfinite(value).all():
            raise ValueError(
                f"FID: {name} holds NaN or infinite values (were the images NaN, from a diverged "
                "generator?)."
            )
    diff = mu1 - mu2

    # scipy warns on every singular product; the retry below is the remedy,
    # so one warning of our own is enough.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            warnings.warn(
                f"FID: singular covariance product; adding {eps} to the diagonals "
                "(usually fewer samples than feature dimensions).",
                stacklevel=2,
            )
            offset = np.eye(sigma1.shape[0]) * eps
            covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))

    # Round-off gives sqrtm of a real PSD-like product a tiny imaginary part;
    # a large one means the inputs were not covariances.
    if np.iscomplexobj(covmean):
        # Relative to the result's own size: features 100x larger have a
        # product 1e4x larger, and round-off grows with it.
        tolerance = 1e-3 * max(1.0, float(np.max(np.abs(np.diagonal(covmean).real))))
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=tolerance):
            raise ValueError(
                "FID: matrix square root has a large imaginary component "
                f"({np.max(np.abs(covmean.imag)):.3g}); are sigma1 and sigma2 covariances?"
            )
        covmean = covmean.real

    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid(real_features, fake_features):
    """Fréchet Inception Distance between two feature sets (lower is better).

    Args:
        real_features: (N1, D) features of real images.
        fake_features: (N2, D) features of generated images, same extractor.

    Returns:
        FID as a float. It depends on the extractor and on N (it is biased
        upwards for small N), so compare numbers only at equal settings.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=(5000, 2)), rng.normal(1.0, size=(5000, 2))
        >>> round(fid(a, b))  # ||mu1 - mu2||^2 = 2, equal covariances
        2
    """
    real_features = _as_features(real_features, "real_features")
    fake_features = _as_features(fake_features, "fake_features")
    _check_same_dim(real_features, fake_features)
    return frechet_distance(
        *feature_statistics(real_features), *feature_statistics(fake_features)
    )


def polynomial_kernel(x, y, degree=3, gamma=None, coef0=1.0):
    """k(x, y) = (gamma <x, y> + coef0) ** degree, gamma defaulting to 1 / D."""
    if gamma is None:
        gamma = 1.0 / x.shape[1]
    return (x @ y.T * gamma + coef0) ** degree


def polynomial_mmd(x, y, degree=3, gamma=None, coef0=1.0):
    """Unbiased MMD^2 estimate between equal-sized samples x and y (m, D).

    Leaves out the diagonals of k(x, x) and k(y, y) (self-similarities) but
    keeps all of k(x, y), as torch-fidelity's "unbiased" estimator does.

    Args:
        x, y: NumPy arrays (m, D) with the same m; `kid` draws them as
            subsets of the two feature sets.
        degree, gamma, coef0: the kernel, see `polynomial_kernel` (gamma
            None means 1 / D).

    Returns:
        MMD^2 as a float; near 0, and possibly negative, when x and y come
        from the same distribution.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(200, 4))
        >>> same = polynomial_mmd(x, rng.normal(size=(200, 4)))
        >>> shifted = polynomial_mmd(x, rng.normal(1.0, size=(200, 4)))
        >>> same < 0.1 < shifted
        True
    """
    # float64, as kid passes them: in float32 the kernel sums lose about 1%.
    x, y = _as_features(x, "x"), _as_features(y, "y")
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        # The estimator's normalization assumes it: other sizes would give a wrong number, silently.
        raise ValueError(f"polynomial_mmd needs two samples of the same size, at least 2; got {m} and {y.shape[0]}.")
    k_xx = polynomial_kernel(x, x, degree, gamma, coef0)
    k_yy = polynomial_kernel(y, y, degree, gamma, coef0)
    k_xy = polynomial_kernel(x, y, degree, gamma, coef0)
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kid(real_features, fake_features, num_subsets=100, subset_size=1000, seed=2020,
        degree=3, gamma=None, coef0=1.0):
    """Kernel Inception Distance (Binkowski et al. 2018), as in torch-fidelity.

    The unbiased polynomial-kernel MMD^2 averaged over random subsets. Unlike
    FID it is unbiased, so it is comparable across sample sizes, and it can be
    slightly negative when the two sets come from the same distribution.

    Args:
        real_features: (N1, D) features of real images.
        fake_features: (N2, D) features of generated images.
        num_subsets: number of random subsets to average over.
        subset_size: samples per subset, drawn without replacement from each
            set; clipped to min(N1, N2) so small evaluations still run.
        seed: seed of the subset sampling (2020 is torch-fidelity's default).
        degree, gamma, coef0: the kernel (gamma None means 1 / D).

    Returns:
        (kid_mean, kid_std) as floats; the std is over subsets.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> same = kid(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)), 10, 100)
        >>> shifted = kid(rng.normal(size=(500, 4)), rng.normal(1.0, size=(500, 4)), 10, 100)
        >>> abs(same[0]) < 1.0 < shifted[0]
        True
    """
    real_features = _as_features(real_features, "real_features")
    fake_features = _as_features(fake_features, "fake_features")
    _check_same_dim(real_features, fake_features)
    if num_subsets < 1:
        raise ValueError(f"num_subsets must be >= 1, got {num_subsets}.")
    m = min(subset_size, len(real_features), len(fake_features))
    if m < 2:
        raise ValueError(
            f"KID needs subsets of at least 2 samples, got subset_size={subset_size}, "
            f"N1={len(real_features)}, N2={len(fake_features)}."
        )
    rng = np.random.RandomState(seed)
    mmds = np.empty(num_subsets)
    for i in range(num_subsets):
        x = real_features[rng.choice(len(real_features), m, replace=False)]
        y = fake_features[rng.choice(len(fake_features), m, replace=False)]
        mmds[i] = polynomial_mmd(x, y, degree, gamma, coef0)
    return float(mmds.mean()), float(mmds.std())


def _as_features(features, name):
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got {features.shape}.")
    if not np.isfinite(features).all():
        raise ValueError(
            f"{name} holds NaN or infinite values (were the images NaN, from a diverged generator?)."
        )
    return features


def _check_same_dim(a, b):
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"Feature dimensions differ: {a.shape[1]} vs {b.shape[1]}; "
            "were both sets made by the same extractor?"
        )
