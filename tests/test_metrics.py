"""Tests for dcgan_keras.metrics: distances against closed forms, extractors, callback."""

import csv
import math
import types
import warnings

import keras
import numpy as np
import pytest

from dcgan_keras import metrics
from dcgan_keras.metrics import (
    FIDCallback,
    class_coverage,
    classifier_extractor,
    evaluate_generator,
    extract_features,
    feature_statistics,
    fid,
    frechet_distance,
    kid,
    label_accuracy,
    load_mnist_classifier,
    polynomial_mmd,
    train_mnist_classifier,
)

# InceptionV3 takes ~30 s to build and compile on JAX's CPU backend (~5 s on
# TensorFlow, ~1 s on torch), so only there is the test marked slow.
slow_on_jax = pytest.mark.slow if keras.backend.backend() == "jax" else (lambda f: f)


def pooled_features(images):
    """A cheap deterministic extractor: 2x2-pooled 8x8 images -> 16 features."""
    images = np.asarray(images)
    n, size = len(images), images.shape[1]
    return images.reshape(n, 4, size // 4, 4, size // 4, -1).mean(axis=(2, 4, 5)).reshape(n, 16)


def pooling_model():
    """`pooled_features` as a weightless keras.Model, to run extractors inside fit."""
    inputs = keras.Input((8, 8, 1))
    return keras.Model(inputs, keras.layers.Flatten()(keras.layers.AveragePooling2D(2)(inputs)))


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def symmetric_sqrt(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_reference(mu1, s1, mu2, s2):
    """Same distance via Tr sqrt(s1^1/2 s2 s1^1/2), a symmetric (eigh-only) route."""
    root1 = symmetric_sqrt(s1)
    cross = np.trace(symmetric_sqrt(root1 @ s2 @ root1))
    return np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross


# --- Fréchet distance and FID ------------------------------------------------


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3.0, size=6), rng.uniform(0.1, 3.0, size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_matches_symmetric_formula_for_full_covariances():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = random_spd(rng, 5), random_spd(rng, 5)
    expected = frechet_reference(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-8)


# Two singular PSD matrices whose product has a 2x2 Jordan block at 0.
DEFECTIVE_S1 = np.array([[1, 1, 1, -1], [1, 1, 1, -1], [1, 1, 2, 0], [-1, -1, 0, 2]], float)
DEFECTIVE_S2 = np.diag([0.0, 1.0, 1.0, 1.0])


def test_frechet_distance_of_a_defective_singular_product_is_right():
    # The product has a 2x2 Jordan block at 0:
    # scipy's sqrtm before 1.17 returned inf for it (the retry below then
    # runs), 1.17's own algorithm a finite root. Either way, the right distance.
    s1, s2, mu = DEFECTIVE_S1, DEFECTIVE_S2, np.zeros(4)
    value = frechet_distance(mu, s1, mu, s2)
    assert value == pytest.approx(frechet_reference(mu, s1, mu, s2), abs=1e-2)


def test_frechet_distance_retries_with_offset_when_sqrtm_fails(monkeypatch):
    # pytorch-fid's eps offset, for a sqrtm that gives up on a singular
    # product (scipy before 1.17 on the one above): a stand-in does so here.
    from scipy import linalg

    real_sqrtm, calls = linalg.sqrtm, []

    def failing_once(matrix, *args, **kwargs):
        calls.append(matrix)
        return np.full(matrix.shape, np.inf) if len(calls) == 1 else real_sqrtm(matrix, *args, **kwargs)

    monkeypatch.setattr(linalg, "sqrtm", failing_once)
    s1, s2, mu = DEFECTIVE_S1, DEFECTIVE_S2, np.zeros(4)
    with pytest.warns(UserWarning, match="singular covariance product; adding 1e-06"):
        value = frechet_distance(mu, s1, mu, s2)
    offset = np.eye(4) * 1e-6
    assert len(calls) == 2 and np.allclose(calls[1], (s1 + offset) @ (s2 + offset), rtol=0, atol=1e-12)
    assert value == pytest.approx(frechet_reference(mu, s1, mu, s2), abs=1e-2)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="matching shapes"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_fid_of_samples_approaches_closed_form():
    rng = np.random.default_rng(2)
    mu1, mu2 = np.array([0.0, 1.0, -1.0, 0.5]), np.array([1.0, 0.0, -1.0, 2.0])
    s1, s2 = np.array([1.0, 2.0, 0.5, 1.0]), np.array([0.5, 2.0, 2.0, 0.25])
    a = mu1 + np.sqrt(s1) * rng.normal(size=(20000, 4))
    b = mu2 + np.sqrt(s2) * rng.normal(size=(20000, 4))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert fid(a, b) == pytest.approx(expected, rel=0.03)


def test_fid_is_zero_on_identical_sets_and_symmetric():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(500, 8)), rng.normal(0.3, size=(500, 8))
    assert fid(a, a) == pytest.approx(0.0, abs=1e-6)
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-6)
    assert fid(a, b) > 0.5  # ||mu1 - mu2||^2 alone is 8 * 0.09


def test_fid_with_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(10, 64)), rng.normal(size=(10, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isfinite(fid(a, b))
        assert fid(a, a) == pytest.approx(0.0, abs=1e-3)


def test_feature_statistics_and_dimension_checks():
    features = np.arange(12.0).reshape(4, 3)
    mu, sigma = feature_statistics(features)
    np.testing.assert_allclose(mu, features.mean(axis=0))
    np.testing.assert_allclose(sigma, np.cov(features.T))
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(features[:1])
    with pytest.raises(ValueError, match="Feature dimensions differ"):
        fid(features, features[:, :2])


# --- KID ----------------------------------------------------------------------


def naive_unbiased_mmd(x, y):
    """Textbook double loops: off-diagonal k(x,x') and k(y,y'), all k(x,y)."""
    m, d = x.shape
    k = lambda u, v: (u @ v / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / (m * m)


def test_kid_matches_naive_computation():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.5, size=(12, 5))
    expected = naive_unbiased_mmd(x, y)
    assert polynomial_mmd(x, y) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="same size"):
        polynomial_mmd(x, y[:10])
    # One subset of every sample is a permutation of the full sets, and MMD
    # does not depend on order.
    mean, std = kid(x, y, num_subsets=1, subset_size=12)
    assert mean == pytest.approx(expected, rel=1e-9)
    assert std == 0.0


def test_kid_near_zero_for_same_distribution_and_larger_when_shifted():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(600, 16))
    same = rng.normal(size=(600, 16))
    shifted = rng.normal(0.5, size=(600, 16))
    same_mean, same_std = kid(real, same, num_subsets=20, subset_size=200)
    shifted_mean, _ = kid(real, shifted, num_subsets=20, subset_size=200)
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert shifted_mean > 20 * max(abs(same_mean), same_std)


def test_kid_clips_subset_size_and_is_seeded():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(30, 4)), rng.normal(size=(40, 4))
    assert kid(x, y, num_subsets=5, subset_size=1000) == kid(x, y, num_subsets=5, subset_size=30)
    with pytest.raises(ValueError, match="at least 2"):
        kid(x[:1], y, num_subsets=5)


# --- class coverage -------------------------------------------------------------


def test_class_coverage():
    uniform = np.eye(10)[np.arange(1000) % 10]
    assert class_coverage(uniform) == pytest.approx(1.0)
    assert class_coverage(np.eye(10)[np.zeros(100, int)]) == pytest.approx(0.0)
    two_classes = np.eye(10)[np.arange(100) % 2]
    assert class_coverage(two_classes) == pytest.approx(math.log(2) / math.log(10))
    with pytest.raises(ValueError, match="num_classes"):
        class_coverage(np.ones(10))


def test_label_accuracy():
    asked = np.arange(20) % 10  # every class twice
    read = asked.copy()
    read[[3, 13, 7]] = [0, 5, 2]  # both 3s misread, one 7 of two
    accuracy, per_class = label_accuracy(np.eye(10)[read] * 5.0, asked)  # logits: argmax only
    assert accuracy == pytest.approx(17 / 20)
    assert per_class[3] == 0.0 and per_class[7] == 0.5 and per_class[0] == 1.0
    _, only_some = label_accuracy(np.eye(10)[[1, 1]], np.array([1, 2]))
    assert only_some[1] == 1.0 and only_some[2] == 0.0 and math.isnan(only_some[0])
    with pytest.raises(ValueError, match="labels"):
        label_accuracy(np.eye(10)[[1, 2]], np.array([1]))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        label_accuracy(np.eye(10)[[1, 2]], np.array([1, 10]))


# --- extraction -------------------------------------------------------------------


def test_to_model_range_maps_uint8_and_checks_floats():
    as_uint8 = np.array([0, 255, 51, 0, 0], np.uint8).reshape(1, 1, 5)
    np.testing.assert_allclose(
        metrics.to_model_range(as_uint8).ravel(), [-1.0, 1.0, -0.6, -1.0, -1.0], atol=1e-6
    )
    assert metrics.to_model_range(as_uint8).shape == (1, 1, 5, 1)  # channel axis added
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        metrics.to_model_range(np.full((1, 2, 2, 1), 255.0))
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        metrics.to_model_range(np.full((1, 2, 2, 1), 0.5))
    with pytest.raises(ValueError, match="must be uint8 in \\[0, 255\\] or float in \\[-1, 1\\], got dtype object"):
        metrics.to_model_range(np.zeros((1, 2, 2, 1), object))


def test_extract_features_sources_agree():
    rng = np.random.default_rng(8)
    images = rng.uniform(-1, 1, size=(25, 8, 8, 1)).astype("float32")
    expected = pooled_features(images)
    from_array = extract_features(pooled_features, images, batch_size=10)
    tensor = keras.ops.convert_to_tensor(images)
    from_tensor = extract_features(pooled_features, tensor, batch_size=10)
    batches = (images[i : i + 7] for i in range(0, 25, 7))
    from_iterable = extract_features(pooled_features, batches, batch_size=10)
    labelled = [(images[:20], np.zeros(20)), (images[20:], np.zeros(5))]
    from_labelled = extract_features(pooled_features, labelled, num_samples=22)
    stream = iter(np.split(images[:24], 8))  # callable drawing new images each call
    from_callable = extract_features(pooled_features, lambda n: next(stream)[:n],
                                     batch_size=3, num_samples=22)
    for got in (from_array, from_tensor, from_iterable):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(from_labelled, expected[:22], rtol=1e-6)
    np.testing.assert_allclose(from_callable, expected[:22], rtol=1e-6)


def test_extract_features_warns_about_a_repeating_callable_and_refuses_a_wrong_count():
    images = np.zeros((4, 8, 8, 1), np.float32) - 0.5
    # A fixed seed, or a generator collapsed to one image: scored, with a warning.
    with pytest.warns(UserWarning, match="same images twice: a collapsed generator, or a fixed seed"):
        assert extract_features(pooled_features, lambda n: images[:n], batch_size=2, num_samples=4).shape[0] == 4
    with pytest.raises(ValueError, match="num_samples"):
        extract_features(pooled_features, lambda n: images[:n])
    with pytest.raises(ValueError, match="returned 4 images when asked for 3; it must return exactly n"):
        extract_features(pooled_features, lambda n: images, batch_size=3, num_samples=6)


def test_nan_images_and_features_are_refused_not_scored():
    # A diverged generator's NaN images scored a finite FID on TF and JAX and crashed scipy on torch.
    images = np.full((4, 8, 8, 1), np.nan, np.float32)
    with pytest.raises(ValueError, match="NaN or infinite values"):
        metrics.to_model_range(images)
    good = np.random.default_rng(0).normal(size=(10, 3))
    bad = good.copy()
    bad[0, 0] = np.inf
    for call in (lambda: fid(good, bad), lambda: kid(bad, good, 2, 5), lambda: class_coverage(bad)):
        with pytest.raises(ValueError, match="NaN or infinite values"):
            call()


def test_lists_dicts_bfloat16_and_single_images_are_read_as_images():
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, size=(5, 8, 8, 3)).astype("float32")
    expected = pooled_features(images)
    # A list of (H, W, C) images was read as 5 batches of 8 images 3 pixels wide.
    np.testing.assert_allclose(extract_features(pooled_features, list(images)), expected, rtol=1e-6)
    as_dicts = [{"image": images[:3], "label": 0}, {"image": images[3:], "label": 1}]
    np.testing.assert_allclose(extract_features(pooled_features, as_dicts), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"dict without an 'image' entry \(keys: \['pixels'\]\)"):
        extract_features(pooled_features, [{"pixels": images}])
    with pytest.raises(ValueError, match=r"\(8, 8, 3\): one \(H, W, C\) image\? Pass a batch"):
        extract_features(pooled_features, images[0])
    half = keras.ops.cast(keras.ops.convert_to_tensor(images), "bfloat16")
    np.testing.assert_allclose(metrics.to_model_range(half), images, atol=1e-2)


def test_fid_of_large_features_with_few_samples_scales_instead_of_failing():
    # N < D: sqrtm's round-off imaginary part grows with the features' scale.
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(50, 256)), rng.normal(0.1, size=(50, 256))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the singular-product retry
        base = fid(a, b)
        np.testing.assert_allclose(fid(a * 100, b * 100), base * 1e4, rtol=1e-3)


def test_polynomial_mmd_computes_in_float64_whatever_it_is_given():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 64)), rng.normal(0.05, size=(300, 64))
    exact = metrics.polynomial_mmd(x, y)
    assert metrics.polynomial_mmd(x.astype("float32"), y.astype("float32")) == pytest.approx(exact, rel=1e-5)


def test_extract_features_pads_last_batch_of_keras_model():
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
    images = np.random.default_rng(9).uniform(-1, 1, size=(7, 8, 8, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(images))
    sizes = []
    predict_on_batch = model.predict_on_batch
    model.predict_on_batch = lambda batch: sizes.append(len(batch)) or predict_on_batch(batch)
    np.testing.assert_allclose(extract_features(model, images, batch_size=3), expected, atol=1e-5)
    assert sizes == [3, 3, 3]  # the last image alone, padded: no retrace for a new batch size


@slow_on_jax
def test_inception_extractor_features_from_small_grayscale_and_rgb_images():
    extractor = metrics.inception_extractor(weights=None, input_size=75)
    rng = np.random.default_rng(10)
    gray = rng.uniform(-1, 1, size=(3, 28, 28, 1)).astype("float32")
    features = extract_features(extractor, gray, batch_size=3)
    assert features.shape == (3, 2048)
    assert np.all(np.isfinite(features)) and np.all(features >= 0)  # post-ReLU pool
    # Gray -> RGB repeats the channel, so a gray image and its RGB copy agree.
    rgb = extract_features(extractor, np.repeat(gray, 3, axis=-1), batch_size=3)
    np.testing.assert_allclose(rgb, features, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=">= 75"):
        metrics.inception_extractor(weights=None, input_size=32)


# --- MNIST classifier ---------------------------------------------------------------


def pattern_dataset(rng, patterns, n):
    """Ten fixed random binary 28x28 patterns plus noise, as uint8 images."""
    labels = rng.integers(0, 10, size=n)
    images = patterns[labels] * 200.0 + rng.normal(0, 40, size=(n, 28, 28))
    return np.clip(images, 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="module")
def pattern_classifier(tmp_path_factory):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(11)
    patterns = (rng.uniform(size=(10, 28, 28)) > 0.7).astype(np.float32)
    # 200 = 5 batches of 40: no short last batch, so JAX compiles one step.
    train_x, train_y = pattern_dataset(rng, patterns, 200)
    path = tmp_path_factory.mktemp("clf") / "clf.weights.h5"
    model = train_mnist_classifier(train_x, train_y, epochs=3, path=path, batch_size=40, verbose=0)
    test_x, test_y = pattern_dataset(rng, patterns, 200)
    return model, path, test_x, test_y


def test_mnist_classifier_learns_patterns_and_covers_classes(pattern_classifier):
    model, _, test_x, test_y = pattern_classifier
    probs = keras.ops.convert_to_numpy(model.predict(metrics.to_model_range(test_x), verbose=0))
    accuracy = np.mean(probs.argmax(axis=1) == test_y)
    assert accuracy > 0.8  # chance is 0.1
    assert class_coverage(probs) > 0.9


def test_mnist_classifier_save_load_round_trip(pattern_classifier, tmp_path):
    model, weights_path, test_x, _ = pattern_classifier
    expected = extract_features(classifier_extractor(model), test_x[:16])
    assert expected.shape == (16, 128)
    keras_path = tmp_path / "clf.keras"
    metrics.save_mnist_classifier(model, keras_path)
    for path in (weights_path, keras_path):
        loaded = load_mnist_classifier(path)
        features = extract_features(classifier_extractor(loaded), test_x[:16])
        np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)


def test_train_mnist_classifier_rejects_bad_inputs():
    images = np.zeros((4, 28, 28), np.uint8)
    with pytest.raises(ValueError, match=".weights.h5 or .keras"):
        train_mnist_classifier(images, np.arange(4), path="clf.h5")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        train_mnist_classifier(images.astype("float32") + 255, np.arange(4), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="labels"):
        train_mnist_classifier(images, np.arange(3), epochs=1, verbose=0)


def test_train_mnist_classifier_reads_column_labels_and_refuses_out_of_range_ones():
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (8, 8, 8), dtype=np.uint8)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    # keras.datasets' CIFAR labels are (N, 1): read as one-hot of 1 class, it trained nothing.
    model = train_mnist_classifier(images, labels[:, None], epochs=1, batch_size=8, verbose=0)
    assert model.output_shape == (None, 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\) for num_classes=3, got \[1, 3\]"):
        train_mnist_classifier(images, labels + 1, num_classes=3, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        train_mnist_classifier(images, np.zeros(8, int), epochs=1, verbose=0)


def test_the_classifier_judges_the_same_under_any_policy_or_data_format(pattern_classifier, tmp_path):
    model, weights_path, test_x, _ = pattern_classifier
    expected = extract_features(classifier_extractor(model), test_x[:8])
    data_format = keras.config.image_data_format()
    try:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        keras.config.set_image_data_format("channels_first")
        loaded = load_mnist_classifier(weights_path)
        features = extract_features(classifier_extractor(loaded), test_x[:8])
    finally:
        keras.mixed_precision.set_global_policy("float32")
        keras.config.set_image_data_format(data_format)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)


def test_a_weights_file_of_another_class_count_loads_and_a_misfit_is_one_line(tmp_path):
    path = tmp_path / "letters.weights.h5"
    metrics.save_mnist_classifier(metrics.build_mnist_classifier(num_classes=26), path)
    assert load_mnist_classifier(path).output_shape == (None, 26)
    with pytest.raises(ValueError, match=r"does not fit a classifier of image_size=32, channels=1, num_classes=26 \(") as info:
        load_mnist_classifier(path, image_size=32)
    assert "\n" not in str(info.value)


# --- evaluation and callback ------------------------------------------------------------


class StubGAN(keras.Model):
    """Trains as a trivial regressor; generates noise that drifts with each call."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.generate_calls = []

    def call(self, x):
        return self.dense(x)

    def generate(self, n, seed=None):
        self.generate_calls.append((n, seed))
        rng = np.random.default_rng(seed)
        shift = 0.1 * len(self.generate_calls)
        images = np.tanh(rng.normal(shift, 1.0, size=(n, 8, 8, 1))).astype("float32")
        return keras.ops.convert_to_tensor(images)  # a backend tensor, like the DCGAN's


def test_fid_callback_sets_logs_at_every_nth_epoch(tmp_path):
    rng = np.random.default_rng(12)
    real = np.tanh(rng.normal(size=(200, 8, 8, 1))).astype("float32")
    model = StubGAN()
    model.compile(optimizer="sgd", loss="mse")
    callback = FIDCallback(real, pooling_model(), every=2, num_samples=100,
                           log_dir=tmp_path, seed=3)
    csv_path = tmp_path / "log.csv"
    history = model.fit(
        np.zeros((8, 2), "float32"), np.zeros((8, 1), "float32"), epochs=5, verbose=0,
        callbacks=[callback, keras.callbacks.CSVLogger(str(csv_path))],
    )

    fids = history.history["fid"]
    assert [math.isnan(v) for v in fids] == [True, False, True, False, True]
    assert 0 < fids[1] < fids[3]  # the stub drifts further from the real data
    assert model.generate_calls == [(100, 3), (100, 3)]
    first_draw = keras.ops.convert_to_numpy(StubGAN().generate(100, seed=3))
    expected = fid(pooled_features(real), pooled_features(first_draw))
    assert fids[1] == pytest.approx(expected, rel=1e-4)
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    assert [row["fid"] for row in rows][1] == str(fids[1])
    lines = (tmp_path / "fid.csv").read_text().splitlines()
    assert lines == [f"1,{fids[1]}", f"3,{fids[3]}"]


def test_fid_callback_requires_generate():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    callback = FIDCallback(np.zeros((4, 8, 8, 1), "float32"), pooled_features)
    with pytest.raises(TypeError, match="generate"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0, callbacks=[callback])
    with pytest.raises(ValueError, match="every"):
        FIDCallback(None, pooled_features, every=0)


def test_fid_callback_does_not_score_an_epoch_its_guard_calls_diverged():
    stub = StubGAN()
    guard = types.SimpleNamespace(info=None)
    callback = FIDCallback(np.zeros((4, 8, 8, 1), "float32"), pooled_features, guard=guard)
    callback.set_model(stub)
    logs = {}
    guard.info = {"epoch": 1}  # what DivergenceMonitor records for a NaN loss
    callback.on_epoch_end(0, logs)
    assert math.isnan(logs["fid"]) and stub.generate_calls == []


def test_evaluate_generator_scores_matching_generator_better():
    rng = np.random.default_rng(13)
    real = np.tanh(rng.normal(size=(400, 8, 8, 1))).astype("float32")
    good = lambda n: np.tanh(rng.normal(size=(n, 8, 8, 1))).astype("float32")  # noqa: E731
    bad = lambda n: np.tanh(rng.normal(0.5, size=(n, 8, 8, 1))).astype("float32")  # noqa: E731
    good_scores = evaluate_generator(good, real, pooled_features, num_samples=400,
                                     kid_subsets=10, kid_subset_size=200)
    bad_scores = evaluate_generator(bad, real, pooled_features, num_samples=400,
                                    kid_subsets=10, kid_subset_size=200)
    assert set(good_scores) == {"fid", "kid", "kid_std"}
    assert good_scores["fid"] < 0.1 < bad_scores["fid"]
    assert good_scores["kid"] < bad_scores["kid"]
