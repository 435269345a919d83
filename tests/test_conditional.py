"""ConditionalDCGAN (dcgan_keras/gans/conditional.py) and its networks (dcgan_keras/networks/conditional.py).

A tiny 28x28x1 model over three classes, for each way of feeding the label
("concat", "projection"): fit moves both networks and both optimizers, G
listens to the label, integer and one-hot labels train alike, a `.keras`
file resumes exactly, bad labels are refused before any step, and one step
matches across TensorFlow, JAX and torch (tests/test_cross_backend.py).
"""

import os

import keras
import numpy as np
import pytest

from dcgan_keras import ConditionalDCGAN, build_discriminator, build_generator
from dcgan_keras.networks import build_conditional_discriminator, build_conditional_generator
from tests.helpers import LATENT, QUICK_COMPILE, changed, numpy_weights, random_images, run_backend

CONDITIONINGS = ("concat", "projection")
CLASSES = 3


def tiny_conditional(conditioning="concat", seed=0, dropout=0.3, compile=True, num_classes=CLASSES, **kwargs):
    """A 28x28x1 ConditionalDCGAN with a few thousand weights, compiled with QUICK_COMPILE."""
    keras.utils.set_random_seed(seed)
    generator = build_generator(
        latent_dim=LATENT, image_size=28, channels=1, filters=(16, 8, 4), num_classes=num_classes,
        conditioning=conditioning,
    )
    discriminator = build_discriminator(
        image_size=28, channels=1, filters=(4, 8), dropout=dropout, num_classes=num_classes,
        conditioning=conditioning, seed=seed,
    )
    gan = ConditionalDCGAN(discriminator=discriminator, generator=generator, num_classes=num_classes, seed=seed,
                           **kwargs)
    if compile:
        gan.compile(**QUICK_COMPILE)
    return gan


def labelled(n=32, seed=0):
    return random_images(n, seed=seed), (np.arange(n) % CLASSES).astype("int32")


def fit(gan, x, y=None, batch_size=16):
    return gan.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0).history


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_fit_moves_both_networks_and_both_optimizers(conditioning):
    gan = tiny_conditional(conditioning)
    before_d, before_g = numpy_weights(gan.discriminator.weights), numpy_weights(gan.generator.weights)
    history = fit(gan, labelled(48))
    assert changed(before_d, numpy_weights(gan.discriminator.weights))
    assert changed(before_g, numpy_weights(gan.generator.weights))
    assert int(keras.ops.convert_to_numpy(gan.d_optimizer.iterations)) == 3
    assert int(keras.ops.convert_to_numpy(gan.g_optimizer.iterations)) == 3
    for name in ("d_loss", "g_loss", "d_real", "d_fake", "d_acc"):
        assert np.isfinite(history[name][0]), name


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_the_generator_listens_to_the_label(conditioning):
    gan = tiny_conditional(conditioning, ema_momentum=0.5)
    fit(gan, labelled(32))
    z = np.repeat(np.random.default_rng(1).standard_normal((1, LATENT)).astype("float32"), CLASSES, axis=0)
    images = gan.generate(z=z, labels=np.arange(CLASSES))
    for a in range(CLASSES):
        for b in range(a + 1, CLASSES):
            assert np.max(np.abs(images[a] - images[b])) > 1e-4, (a, b)
    # One id for all, and the classes in turn by default.
    np.testing.assert_allclose(gan.generate(z=z, labels=1), np.repeat(images[1:2], CLASSES, axis=0), atol=1e-6)
    np.testing.assert_allclose(gan.generate(z=z), images, atol=1e-6)


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_integer_and_one_hot_labels_train_the_same(conditioning):
    images, ids = labelled(32)
    spellings = {
        "ids": (images, ids),
        "ids (n, 1) int64": (images, ids[:, None].astype("int64")),
        "one-hot": (images, keras.utils.to_categorical(ids, CLASSES).astype("float32")),
    }
    results = {}
    for name, data in spellings.items():
        gan = tiny_conditional(conditioning)
        history = fit(gan, *data)
        results[name] = (history["d_loss"] + history["g_loss"], numpy_weights(gan.weights))
    # The same up to float rounding: each spelling is its own compiled program, and XLA
    # may fuse them differently (with conftest's older CPU emitters, 2 of 400 weights
    # differed by 1e-10; projection's label embedding over D's flattened features, 1 of
    # 9408 by 2e-9). atol 1e-8 is a few float32 ulps of the N(0, 0.02) weights.
    reference_losses, reference_weights = results["ids"]
    for name, (losses, weights) in results.items():
        np.testing.assert_allclose(losses, reference_losses, rtol=1e-6, err_msg=name)
        for a, b in zip(weights, reference_weights):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8, err_msg=name)


def test_keras_round_trip_gives_identical_next_step_losses(tmp_path):
    gan = tiny_conditional("projection", ema_momentum=0.9)
    data = labelled(32)
    fit(gan, data)
    gan.save(tmp_path / "cgan.keras")
    loaded = keras.saving.load_model(tmp_path / "cgan.keras")
    assert type(loaded) is ConditionalDCGAN
    assert (loaded.num_classes, loaded.latent_dim, loaded.ema_momentum) == (CLASSES, LATENT, 0.9)
    z = np.random.default_rng(2).standard_normal((3, LATENT)).astype("float32")
    np.testing.assert_allclose(loaded.generate(z=z, labels=[0, 1, 2]), gan.generate(z=z, labels=[0, 1, 2]), atol=1e-6)
    np.testing.assert_allclose(fit(loaded, data)["d_loss"], fit(gan, data)["d_loss"], rtol=1e-6)
    np.testing.assert_allclose(numpy_weights(loaded.generator.weights)[0], numpy_weights(gan.generator.weights)[0],
                               atol=1e-6)


def test_the_sample_grid_has_one_class_per_row_and_the_same_noise_per_column():
    gan = tiny_conditional("concat")
    inputs = gan.grid_inputs(7, seed=3)  # 7 // 3 = 2 columns
    assert inputs.shape == (CLASSES * 2, LATENT + 1)
    images, columns = gan.grid_images(inputs)
    assert columns == 2 and images.shape == (6, 28, 28, 1)
    z = inputs[:2, :-1]
    for row in range(CLASSES):
        np.testing.assert_array_equal(inputs[row * 2 : row * 2 + 2, :-1], z)
        np.testing.assert_allclose(images[row * 2 : row * 2 + 2], gan.generate(z=z, labels=row), atol=1e-6)
    assert set(gan.exported_generators()) == {"generator"}
    assert [i.name for i in gan.exported_generators()["generator"].inputs] == ["z", "labels"]


def test_networks_for_every_size_take_named_z_images_and_int_labels():
    for size in (28, 32, 64, 128):
        for conditioning in CONDITIONINGS:
            g = build_conditional_generator(LATENT, CLASSES, size, 3, conditioning, filters=(8, 4, 4, 4, 4, 4)[: 5])
            d = build_conditional_discriminator(size, 3, CLASSES, conditioning, filters=(4, 4, 4, 4, 4))
            assert [(i.name, tuple(i.shape), i.dtype) for i in g.inputs] == [
                ("z", (None, LATENT), "float32"), ("labels", (None,), "int32")]
            assert [i.name for i in d.inputs] == ["images", "labels"]
            assert g.output_shape == (None, size, size, 3) and d.output_shape == (None, 1)


# ------------------------------------------------------------------ refusals


def _refuses(gan, match, *fit_args):
    before = numpy_weights(gan.weights)
    with pytest.raises(ValueError, match=match):
        gan.fit(*fit_args, batch_size=16, epochs=1, verbose=0)
    assert not changed(before, numpy_weights(gan.weights))


def test_bad_labels_are_refused_before_any_step():
    gan = tiny_conditional("concat")
    images, ids = labelled(32)
    _refuses(gan, r"ids must lie in \[0, 3\).*from 1 to 3", (images, ids + 1))
    _refuses(gan, r"ids must lie in \[0, 3\).*from -1", images, ids - 1)
    _refuses(gan, r"shape \(n,\) or \(n, 1\), or one-hot .*\(n, 3\)\. Received shape \(32, 2, 2\)",
             (images, np.zeros((32, 2, 2), "int32")))
    _refuses(gan, r"shape \(n,\).*Received shape \(32, 5\)", (images, np.zeros((32, 5), "float32")))
    _refuses(gan, "single 1 per row", (images, np.full((32, CLASSES), 1 / CLASSES, "float32")))
    _refuses(gan, "32 images and 31 labels", (images, ids[:31]))
    _refuses(gan, "whole numbers", (images, ids + 0.5))
    _refuses(gan, "is conditional: it trains on \\(images, labels\\)", images)


def test_unlabelled_batches_from_a_dataset_are_refused_by_the_step():
    gan = tiny_conditional("concat")

    def batches():
        while True:
            yield (random_images(16),)  # Keras takes a generator's tuples only

    with pytest.raises(ValueError, match="is conditional"):
        gan.fit(batches(), steps_per_epoch=1, epochs=1, verbose=0)


def test_networks_and_num_classes_must_agree():
    g = build_conditional_generator(LATENT, 3, 28, 1, filters=(8, 4, 4))
    d = build_conditional_discriminator(28, 1, 4, filters=(4, 4))
    with pytest.raises(ValueError, match="discriminator's label_one_hot has 4 classes"):
        ConditionalDCGAN(discriminator=d, generator=g, num_classes=3)
    with pytest.raises(ValueError, match="needs `num_classes`"):
        ConditionalDCGAN(discriminator=d, generator=g)
    with pytest.raises(ValueError, match="generator's label_one_hot has 3 classes"):
        ConditionalDCGAN(discriminator=d, generator=g, num_classes=4)
    with pytest.raises(ValueError, match="takes two inputs"):
        ConditionalDCGAN(discriminator=build_discriminator(filters=(4, 4)), generator=g, num_classes=3)
    with pytest.raises(ValueError, match="`labels` must be one class id or one per image"):
        tiny_conditional(compile=False).generate(4, labels=[0, 1])
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        tiny_conditional(compile=False).generate(2, labels=3)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="`embedding_dim` must be None or a positive integer"):
            build_conditional_generator(LATENT, 3, 28, 1, filters=(8, 4, 4), embedding_dim=bad)


# ------------------------------------------------------------------ learning


@pytest.mark.slow
def test_it_learns_which_class_is_bright():
    # Two classes of noisy flat images: class 0 at -0.5, class 1 at +0.5. After
    # 160 steps (Adam 1e-3, beta_1 0.5) the generated images' mean brightness per
    # class must be apart by more than 0.4 (measured on JAX: apart by 0.9-1.2 from
    # step 64 on, 0.72 at the lowest; 23 s on this CPU, minutes on torch).
    rng = np.random.default_rng(0)
    ids = (np.arange(512) % 2).astype("int32")
    images = np.where(ids[:, None, None, None] == 1, 0.5, -0.5) + 0.1 * rng.standard_normal((512, 28, 28, 1))
    gan = tiny_conditional("concat", dropout=0.0, num_classes=2, compile=False)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5), g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                **QUICK_COMPILE)
    gan.fit((images.clip(-1, 1).astype("float32"), ids), batch_size=32, epochs=10, verbose=0)
    fakes = gan.generate(64, labels=np.arange(64) % 2, seed=0)
    brightness = [float(fakes[k::2].mean()) for k in range(2)]
    assert brightness[1] - brightness[0] > 0.4, brightness


# ---------------------------------------------------------------------- data


def _coded(n):
    # Image i holds the value i % 251 everywhere and label (i % 251) % 3: a batch's labels can be checked
    # against its images, whatever order the batches come in.
    codes = np.arange(n) % 251
    return np.broadcast_to(codes[:, None, None, None], (n, 28, 28, 1)).astype("uint8"), (codes % CLASSES)


def test_idx_and_npz_loaders_return_labels_and_batches_serve_them_in_the_images_order(tmp_path):
    from dcgan_keras.data import load_dataset
    from dcgan_keras.data.batches import Batches
    from tests.helpers import write_idx

    images, labels = _coded(300)
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", images[..., 0], gz=True)
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", labels, gz=True)
    np.savez(tmp_path / "coded.npz", images=images, labels=labels)
    for data in (load_dataset("mnist", data_dir=tmp_path / "mnist", limit=250),
                 load_dataset("npz", data_dir=tmp_path / "coded.npz", limit=250)):
        assert data.labels.dtype == np.int32 and len(data.labels) == 250
        np.testing.assert_array_equal(data.labels, labels[:250])
        for epoch in (0, 3):
            batches = data.batches(32, seed=5, epoch=epoch, labels=True)
            resumed = Batches(data.images, 32, seed=5, epoch=epoch, labels=data.labels)
            for i in range(len(batches)):
                x, y = batches[i]
                codes = np.rint((x[:, 0, 0, 0] + 1) * 127.5).astype(int)
                np.testing.assert_array_equal(y, codes % CLASSES)
                np.testing.assert_array_equal(resumed[i][1], y)
        assert not isinstance(data.batches(32)[0], tuple)  # unlabelled batches unless asked
    assert load_dataset("mnist", data_dir=tmp_path / "mnist").class_names[:2] == ["0", "1"]
    os.remove(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz")
    unlabelled = load_dataset("mnist", data_dir=tmp_path / "mnist")
    assert unlabelled.labels is None
    with pytest.raises(ValueError, match="has no labels, and a conditional model"):
        unlabelled.batches(32, labels=True)


def test_fit_on_a_labelled_data_set_and_refusals_of_unlabelled_or_out_of_range_batches():
    from dcgan_keras.data.dataset import ImageDataset

    images, labels = _coded(64)
    gan = tiny_conditional("concat")
    history = gan.fit(ImageDataset(images, "coded", labels=labels).batches(16, labels=True), epochs=1,
                      shuffle=False, verbose=0).history
    assert np.isfinite(history["g_loss"][0])
    _refuses(gan, "is conditional", ImageDataset(images, "coded").batches(16))
    _refuses(gan, r"lie in \[0, 3\)", ImageDataset(images, "coded", labels=labels + 1).batches(16, labels=True))


# -------------------------------------------------------------------- export


@pytest.mark.full  # a TensorFlow subprocess (the export on JAX and torch, plain serving): not in the quick tier
def test_the_saved_model_takes_z_and_int32_labels_and_matches_the_generator(tmp_path):
    pytest.importorskip("tensorflow")
    from dcgan_keras import export

    gan = tiny_conditional("projection")
    fit(gan, labelled(32))
    path = export.export_saved_model(gan, tmp_path / "saved_model")  # the model's one exported generator
    z = np.random.default_rng(3).standard_normal((5, LATENT)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1], "int32")
    # Served by plain TensorFlow, in a process that never imports dcgan_keras.
    script = (
        "import sys, json, numpy as np, tensorflow as tf\n"
        "serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "spec = serve.structured_input_signature[1]\n"
        "z, labels = np.load(sys.argv[2]), np.load(sys.argv[3])\n"
        "np.save(sys.argv[4], serve(z=tf.constant(z), labels=tf.constant(labels))['images'].numpy())\n"
        "assert 'dcgan_keras' not in sys.modules\n"
        "print(json.dumps({k: [v.dtype.name, v.shape.as_list()] for k, v in spec.items()}))\n"
    )
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", labels)
    (tmp_path / "serve.py").write_text(script)
    signature = run_backend("tensorflow", tmp_path / "serve.py", path, tmp_path / "z.npy", tmp_path / "labels.npy",
                            tmp_path / "images.npy")
    assert signature == {"z": ["float32", [None, LATENT]], "labels": ["int32", [None]]}
    np.testing.assert_allclose(np.load(tmp_path / "images.npy"), gan.generate(z=z, labels=labels), atol=1e-5)


def test_the_onnx_file_takes_z_and_int32_labels_and_matches_the_generator(tmp_path):
    if keras.backend.backend() == "jax":
        pytest.skip("JAX's ONNX converter (jax2onnx) is not installed by requirements.txt")
    onnxruntime = pytest.importorskip("onnxruntime")
    from dcgan_keras import export

    gan = tiny_conditional("concat")
    fit(gan, labelled(32))
    path = export.export_onnx(gan, tmp_path / "generator.onnx")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    declared = {i.name: (i.type, i.shape) for i in session.get_inputs()}
    assert declared == {"z": ("tensor(float)", ["batch", LATENT]), "labels": ("tensor(int32)", ["batch"])}
    z = np.random.default_rng(3).standard_normal((5, LATENT)).astype("float32")
    labels = np.array([0, 1, 2, 2, 1], "int32")
    (images,) = session.run(["images"], {"z": z, "labels": labels})
    np.testing.assert_allclose(images, gan.generate(z=z, labels=labels), atol=1e-5)


def test_options_the_conditional_model_does_not_take_are_refused_not_dropped():
    from dcgan_keras.config import ConfigError, resolve_config

    for key, value in (("spectral_norm", True), ("g_architecture", "upsample"), ("latent_distribution", "uniform"),
                       ("update", "simultaneous")):
        with pytest.raises(ConfigError, match=f"{key} is read by model 'dcgan' only, but model is 'conditional'"):
            resolve_config("mnist_conditional", overrides={key: value})
    with pytest.raises(ConfigError, match="loss='wgan_gp' is the DCGAN's"):
        resolve_config("mnist_conditional", overrides={"loss": "wgan_gp"})
    with pytest.raises(ValueError, match="takes no loss with a gradient penalty"):
        tiny_conditional("concat", compile=False).compile(loss_fn="wgan_gp")
