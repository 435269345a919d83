"""CycleGAN (dcgan_keras.gans.cyclegan): four networks and an image pool, trained as one on every backend.

Tiny 16x16 grayscale networks of our own (CycleGAN takes any four); the
ResNet generator, the unpaired loader and the schedule have their own tests
at the end.
"""


import keras
import numpy as np
import pytest
from keras import ops
from PIL import Image

from dcgan_keras import CycleGAN
from dcgan_keras.data import DataError, load_unpaired
from dcgan_keras.data.synthetic import make_shapes
from dcgan_keras.data.unpaired import UnpairedDataset
from dcgan_keras.gans.cyclegan import adversarial_losses
from dcgan_keras.gans.image_pool import ImagePool
from dcgan_keras.networks.resnet import build_resnet_generator, default_residual_blocks, reflection_padding
from dcgan_keras.schedules import LinearDecay, paper_schedule
from tests.helpers import QUICK_COMPILE, changed, numpy_weights

SHAPE = (16, 16, 1)
OPTIMIZERS = ("g_ab", "g_ba", "d_a", "d_b")


def _generator(name, filters=4, norm=True):
    # Instance normalization as in the paper, except where a test needs the images' mean level kept.
    # No bias before it: the norm subtracts it, so its gradient is rounding noise (and differs by backend).
    norm = [keras.layers.GroupNormalization(groups=-1)] if norm else []
    return keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Conv2D(filters, 3, padding="same", use_bias=not norm), *norm, keras.layers.LeakyReLU(0.2),
         keras.layers.Conv2D(1, 3, padding="same"), keras.layers.Activation("tanh")],
        name=name,
    )


def _discriminator(name, filters=4):
    return keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Conv2D(filters, 4, strides=2, padding="same"), keras.layers.LeakyReLU(0.2),
         keras.layers.Conv2D(1, 3, padding="same")],
        name=name,
    )


def _dense(name, outputs):
    # Batch-1 tests use these: torch's CPU conv backward at batch 1 fails on Keras's
    # permuted kernel ("slow_conv2d: grad_weight must be contiguous", torch 2.x, plain Keras too).
    body = [keras.layers.Dense(256, activation="tanh"), keras.layers.Reshape(SHAPE)] if outputs == "images" else [
        keras.layers.Dense(1)]
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), *body], name=name)


def tiny_cyclegan(seed=0, pool_size=4, optimizers=None, compile=True, dense=False, **kwargs):
    keras.utils.set_random_seed(seed)
    if dense:
        networks = (_dense("g_ab", "images"), _dense("g_ba", "images"), _dense("d_a", "score"), _dense("d_b", "score"))
    else:
        networks = (_generator("g_ab"), _generator("g_ba"), _discriminator("d_a"), _discriminator("d_b"))
    gan = CycleGAN(*networks, pool_size=pool_size, seed=seed, **kwargs)
    if compile:
        gan.compile(optimizers=optimizers, **QUICK_COMPILE)
    return gan


def domains(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 0.5, (n,) + SHAPE).astype("float32"),
            rng.uniform(-0.5, 1, (n,) + SHAPE).astype("float32"))


def iterations(gan):
    return {name: int(ops.convert_to_numpy(o.iterations)) for name, o in gan.optimizers.items()}


def frozen():
    """Four distinct optimizers that change nothing: the networks stay as built."""
    return {name: keras.optimizers.SGD(0.0) for name in OPTIMIZERS}


# ------------------------------------------------------------------ training


def test_fit_moves_all_four_networks_and_each_optimizer_counts_its_updates():
    gan = tiny_cyclegan()
    before = {name: numpy_weights(n.trainable_variables) for name, n in gan.networks.items()}
    seeds_before = numpy_weights(gan._rng_state_variables())
    history = gan.fit(domains(), batch_size=2, epochs=2, verbose=0, shuffle=False)
    assert iterations(gan) == {name: 8 for name in OPTIMIZERS}
    assert int(ops.convert_to_numpy(gan.optimizer.iterations)) == 8
    assert len({id(o) for o in gan.optimizers.values()}) == 4
    for name, network in gan.networks.items():
        assert changed(before[name], numpy_weights(network.trainable_variables)), name
    assert changed(seeds_before, numpy_weights(gan._rng_state_variables())), "the pool's draws advance the seed"
    assert sorted(history.history) == sorted(CycleGAN.metric_names)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    assert int(ops.convert_to_numpy(gan.pool_a.count)) == 4 and int(ops.convert_to_numpy(gan.pool_b.count)) == 4
    # A second fit with a single optimizer replaced: the others count on from 8, it from 0.
    gan.compile(d_b_optimizer=keras.optimizers.Adam(1e-3), **QUICK_COMPILE)
    gan.fit(domains(), batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert iterations(gan)["d_b"] == 2


def test_one_backward_pass_of_the_sum_gives_each_generator_its_own_losss_gradient(monkeypatch):
    from bench.translator_throughput import per_generator  # the step as it was: a pass per generator's loss
    from dcgan_keras import backend as seam

    weights = {}
    for way in ("together", "per_generator"):
        if way == "per_generator":
            monkeypatch.setattr(seam, "minimize_together", per_generator)
        # SGD: the update is the gradient itself (Adam's first step would hide its scale).
        gan = tiny_cyclegan(pool_size=0, optimizers={name: keras.optimizers.SGD(0.1) for name in OPTIMIZERS})
        gan.fit(domains(4), batch_size=4, epochs=1, verbose=0, shuffle=False)
        weights[way] = numpy_weights(gan.generator_ab.trainable_variables + gan.generator_ba.trainable_variables)
    for together, apart in zip(weights["together"], weights["per_generator"]):
        np.testing.assert_allclose(together, apart, rtol=1e-5, atol=1e-6)
    monkeypatch.undo()
    # Optimizers that scale the loss scale it their own way (a pass each): the same SGD step with a
    # loss_scale_factor (apply divides it out), and a LossScaleOptimizer's finite step.
    scaled = {name: keras.optimizers.SGD(0.1, loss_scale_factor=128.0) for name in OPTIMIZERS}
    gan = tiny_cyclegan(pool_size=0, optimizers=scaled)
    gan.fit(domains(4), batch_size=4, epochs=1, verbose=0, shuffle=False)
    for got, want in zip(numpy_weights(gan.generator_ab.trainable_variables + gan.generator_ba.trainable_variables),
                         weights["together"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    loss_scaled = {name: keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(2e-4, beta_1=0.5))
                   for name in ("g_ab", "g_ba")}
    gan = tiny_cyclegan(pool_size=0, optimizers=loss_scaled)
    logs = gan.fit(domains(4), batch_size=4, epochs=1, verbose=0, shuffle=False).history
    assert all(np.isfinite(v[-1]) for v in logs.values()) and iterations(gan)["g_ab"] == 1


def test_identity_and_cycle_losses_are_off_at_zero():
    gan = tiny_cyclegan(cycle_weight=0.0, pool_size=0)
    logs = gan.fit(domains(), batch_size=4, epochs=1, verbose=0, shuffle=False).history
    assert logs["cycle_loss"] == [0.0] and logs["identity_loss"] == [0.0]
    logs = tiny_cyclegan(identity_weight=0.0, pool_size=0).fit(domains(), batch_size=4, verbose=0).history
    assert logs["identity_loss"] == [0.0] and logs["cycle_loss"][0] > 0


def test_the_pool_fills_in_order_then_the_discriminators_learn_on_pooled_fakes():
    # Frozen networks make every fake and every loss predictable from the pool alone.
    gan = tiny_cyclegan(pool_size=1, optimizers=frozen(), seed=3, dense=True)
    a, b = domains(6, seed=1)
    d_loss = lambda d, real, fake: 0.5 * float(  # noqa: E731
        np.mean((ops.convert_to_numpy(d(real)) - 1) ** 2) + np.mean(ops.convert_to_numpy(d(fake)) ** 2))
    swaps, previous = 0, {"a": None, "b": None}
    for k in range(6):
        logs = gan.fit((a[k : k + 1], b[k : k + 1]), batch_size=1, epochs=1, verbose=0, shuffle=False).history
        for domain, pool, fake, real, d in (
            ("a", gan.pool_a, gan.translate(b[k : k + 1], "BtoA"), a[k : k + 1], gan.discriminator_a),
            ("b", gan.pool_b, gan.translate(a[k : k + 1], "AtoB"), b[k : k + 1], gan.discriminator_b),
        ):
            stored = ops.convert_to_numpy(pool.images)
            assert int(ops.convert_to_numpy(pool.count)) == 1
            if previous[domain] is None or np.allclose(stored, previous[domain], atol=0, rtol=0):
                shown = fake  # filling (the first step), or the coin said "show the newest"
                if previous[domain] is None:
                    np.testing.assert_allclose(stored, fake, atol=1e-6)
            else:
                np.testing.assert_allclose(stored, fake, atol=1e-6)  # swapped in ...
                shown, swaps = previous[domain], swaps + 1  # ... and D saw the one it replaced
            np.testing.assert_allclose(logs[f"d_{domain}_loss"][0], d_loss(d, real, shown), rtol=1e-4, atol=1e-6)
            previous[domain] = stored
    assert swaps >= 2, "pooled fakes were never shown (p = 1/2 per step and domain)"


def test_image_pool_query_is_pytorch_cyclegans_sequential_query():
    pool = ImagePool(4, (1, 1, 1))
    seed = keras.random.SeedGenerator(0)
    images = lambda values: np.asarray(values, "float32").reshape(-1, 1, 1, 1)  # noqa: E731
    flat = lambda x: ops.convert_to_numpy(x).reshape(-1).tolist()  # noqa: E731
    assert flat(pool.query(images([1, 2, 3]), seed)) == [1, 2, 3]  # filling: shown as they are
    assert flat(pool.images)[:3] == [1, 2, 3] and int(ops.convert_to_numpy(pool.count)) == 3
    shown = flat(pool.query(images([4, 5, 6]), seed))
    contents = flat(pool.images)
    # 4 takes the last free slot and is shown too; 5 and 6 may swap with any slot, 4's included.
    assert shown[0] == 4 and sorted(shown[1:] + contents) == [1, 2, 3, 4, 5, 6]
    from_pool = 0
    for start in range(7, 200, 3):
        batch = [start, start + 1, start + 2]
        shown = flat(pool.query(images(batch), seed))
        after = flat(pool.images)
        # Every image either passes through or swaps with a slot's: nothing made, nothing lost.
        assert sorted(shown + after) == sorted(batch + contents)
        from_pool += sum(1 for s in shown if s not in batch)
        contents = after
    assert int(ops.convert_to_numpy(pool.count)) == 4
    assert 0.25 < from_pool / 192 < 0.5, from_pool  # half swap, minus swaps with a slot this batch wrote


def test_save_and_load_keep_the_pool_and_resume_with_identical_next_step_losses(tmp_path):
    a, b = domains()
    gan = tiny_cyclegan(pool_size=3)
    gan.fit((a, b), batch_size=2, epochs=1, verbose=0, shuffle=False)
    path = str(tmp_path / "cyclegan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, CycleGAN) and loaded.pool_size == 3 and loaded.loss_fn == "least_squares"
    assert (loaded.cycle_weight, loaded.identity_weight) == (10.0, 0.5)
    assert iterations(loaded) == iterations(gan)
    for pool in ("pool_a", "pool_b"):
        for name in ("images", "count"):
            np.testing.assert_array_equal(ops.convert_to_numpy(getattr(getattr(loaded, pool), name)),
                                          ops.convert_to_numpy(getattr(getattr(gan, pool), name)))
    assert int(ops.convert_to_numpy(loaded.pool_a.count)) == 3
    logs = [m.fit((a, b), batch_size=2, epochs=1, verbose=0, shuffle=False).history for m in (gan, loaded)]
    for name in CycleGAN.metric_names:
        np.testing.assert_array_equal(logs[0][name], logs[1][name], err_msg=name)
    for original, copy in zip(gan.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(ops.convert_to_numpy(original), ops.convert_to_numpy(copy), err_msg=original.path)


@pytest.mark.parametrize("loss_fn", ["bce", "focal"])
def test_the_other_adversarial_losses_train_and_save_by_name(loss_fn, tmp_path):
    gan = tiny_cyclegan(pool_size=0, compile=False)
    gan.compile(loss_fn=loss_fn, **QUICK_COMPILE)
    logs = gan.fit(domains(), batch_size=4, epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values())
    gan.save(str(tmp_path / "g.keras"))
    assert keras.saving.load_model(str(tmp_path / "g.keras")).loss_fn == loss_fn


def test_adversarial_losses_at_known_points():
    known = adversarial_losses()
    ones, zeros = ops.ones((2, 4, 4, 1)), ops.zeros((2, 4, 4, 1))
    assert float(known["least_squares"].discriminator(ones, zeros)) == 0.0
    assert float(known["least_squares"].generator(zeros)) == 1.0
    assert float(known["least_squares"].discriminator(zeros, ones)) == 2.0
    # Focal: BCE scaled by (1 - p_t)^2, so a confident right answer costs far less than BCE.
    focal, bce = float(known["focal"].generator(ones * 2.0)), float(known["bce"].generator(ones * 2.0))
    np.testing.assert_allclose(focal, bce * (1 - 1 / (1 + np.exp(-2.0))) ** 2, rtol=1e-5)


@pytest.fixture
def one_torch_thread():
    # On this shared 2-core machine (load ~9) torch's two intra-op threads spin
    # against each other: a step of this test took 1.2 s with two, 0.2 s with one.
    if keras.backend.backend() != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.full  # trains for seconds to learn a known answer: the full tier's
def test_it_learns_to_invert_shapes_from_unpaired_examples(one_torch_thread):
    # Domain A: light shapes on dark; domain B: the colour inverse of *other* shapes.
    # The true translation is x -> -x; identity maps (what the cycle loss alone
    # would accept) are 0.75 away on held-out shapes, and the untrained G as far.
    scale = lambda x: x.astype("float32") / 127.5 - 1  # noqa: E731
    a, b = scale(make_shapes(512, 16, 1, seed=1)), -scale(make_shapes(512, 16, 1, seed=2))
    held_out = scale(make_shapes(64, 16, 1, seed=3))
    keras.utils.set_random_seed(0)
    # No instance normalization: it would take out the background level that tells the domains apart.
    gan = CycleGAN(_generator("g_ab", 8, norm=False), _generator("g_ba", 8, norm=False), _discriminator("d_a", 8), _discriminator("d_b", 8),
                   cycle_weight=2.0, identity_weight=0.0, pool_size=8, seed=0)
    gan.compile(optimizers={name: keras.optimizers.Adam(2e-3, beta_1=0.5) for name in OPTIMIZERS}, **QUICK_COMPILE)
    error = lambda: float(np.abs(gan.translate(held_out) + held_out).mean())  # noqa: E731
    held_out_b = -scale(make_shapes(64, 16, 1, seed=4))

    def cycle():  # the unweighted cycle loss on held-out images of both domains
        return float(np.abs(gan.translate(gan.translate(held_out), "BtoA") - held_out).mean() + np.abs(
            gan.translate(gan.translate(held_out_b, "BtoA")) - held_out_b).mean())

    start, start_cycle = error(), cycle()
    assert start > 0.5
    logs = gan.fit((a, b), batch_size=8, epochs=4, verbose=0, shuffle=False).history  # 256 steps
    print(f"held-out error {start:.3f} -> {error():.3f}; held-out cycle loss {start_cycle:.3f} -> {cycle():.3f}; "
          f"training cycle loss {logs['cycle_loss'][0]:.3f} -> {logs['cycle_loss'][-1]:.3f}")
    assert error() < 0.15, (start, error())
    assert float(np.abs(gan.translate(-held_out, "BtoA") - held_out).mean()) < 0.15
    assert cycle() < 0.2 * start_cycle, (start_cycle, cycle())
    assert logs["cycle_loss"][-1] < 0.5 * logs["cycle_loss"][0], logs["cycle_loss"]  # epoch means


# ------------------------------------------------------- refusals and API


def test_bad_arguments_are_refused_with_what_was_received():
    g, d = _generator("g"), _discriminator("d")
    with pytest.raises(ValueError, match=r"`cycle_weight` must be >= 0.*cycle_weight=-1"):
        CycleGAN(g, _generator("g2"), d, _discriminator("d2"), cycle_weight=-1)
    with pytest.raises(ValueError, match=r"`identity_weight` must be >= 0.*-0.5"):
        CycleGAN(g, _generator("g2"), d, _discriminator("d2"), identity_weight=-0.5)
    with pytest.raises(ValueError, match=r"`pool_size` must be >= 0.*pool_size=-3"):
        CycleGAN(g, _generator("g2"), d, _discriminator("d2"), pool_size=-3)
    with pytest.raises(ValueError, match=r"`pool_size` must be an int"):
        CycleGAN(g, _generator("g2"), d, _discriminator("d2"), pool_size=2.5)
    wide = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(1, 3)], name="wide")
    with pytest.raises(ValueError, match="discriminator_b takes"):
        CycleGAN(g, _generator("g2"), d, wide)
    gan = tiny_cyclegan(compile=False)
    with pytest.raises(ValueError, match=r"Unknown CycleGAN loss 'hinge'.*\['bce', 'focal', 'least_squares'\]"):
        gan.compile(loss_fn="hinge")
    gan.compile(**QUICK_COMPILE)
    with pytest.raises(ValueError, match=r"`direction` must be one of \['AtoB', 'BtoA'\]"):
        gan.translate(np.zeros((1,) + SHAPE), direction="sideways")
    with pytest.raises(ValueError, match=r"\(images_a, images_b\) batches"):
        gan.fit(domains()[0], batch_size=4, verbose=0)


def test_translate_grid_and_exported_generators():
    gan = tiny_cyclegan()
    a, b = domains(4)
    np.testing.assert_allclose(gan.translate(a, "AtoB"), ops.convert_to_numpy(gan.generator_ab(a)), atol=1e-6)
    assert gan.translate(b[0], "BtoA").shape == SHAPE
    u8 = lambda x: np.round((x + 1) * 127.5).astype("uint8")  # noqa: E731
    data = UnpairedDataset(u8(a), u8(b), test_a=u8(a[:2]), test_b=u8(b[:2]))
    inputs = gan.grid_inputs(3, seed=0, data=data)
    assert inputs.shape == (2, 3) + SHAPE
    assert np.isin(np.round((inputs[0] + 1) * 127.5), u8(a[:2])).all()  # the held-out images
    images, columns = gan.grid_images(inputs)
    assert columns == 6 and images.shape == (18,) + SHAPE
    np.testing.assert_allclose(images[1], gan.translate(inputs[0, :1])[0], atol=1e-6)  # G(a) beside a
    np.testing.assert_allclose(images[5], gan.translate(gan.translate(inputs[1, :1], "BtoA"))[0], atol=1e-6)
    assert gan.exported_generators() == {"generator_ab": gan.generator_ab, "generator_ba": gan.generator_ba}


# ------------------------------------------------------------ ResNet generator


def test_reflection_padding_is_numpys_reflect_from_keras_layers_only():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    pad = reflection_padding(8, 3, 3, "pad")
    np.testing.assert_array_equal(ops.convert_to_numpy(pad(x)), np.pad(x, ((0, 0), (3, 3), (3, 3), (0, 0)), "reflect"))
    generator = build_resnet_generator(16, 1, residual_blocks=1, filters=2)
    modules = {type(layer).__module__.split(".")[0] for model in [generator] + [
        layer for layer in generator.layers if isinstance(layer, keras.Model)] for layer in model.layers}
    assert modules == {"keras"}  # loads in plain Keras, no dcgan_keras import needed


def test_resnet_generator_shape_and_the_papers_block_counts():
    assert (default_residual_blocks(128), default_residual_blocks(256)) == (6, 9)
    generator = build_resnet_generator(16, 3, filters=2)
    assert generator.output_shape == (None, 16, 16, 3)
    assert sum(layer.name.endswith("_add") for layer in generator.layers) == 6
    assert sum(layer.name.endswith("_add") for layer in build_resnet_generator(132, 1, filters=1).layers) == 9
    out = ops.convert_to_numpy(generator(np.zeros((1, 16, 16, 3), "float32")))
    assert out.dtype == np.float32 and np.abs(out).max() <= 1
    for bad in ({"image_size": 18}, {"residual_blocks": -1}, {"filters": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            build_resnet_generator(**{"image_size": 16, "channels": 3, **bad})


# -------------------------------------------------------------------- schedule


def test_the_papers_schedule_is_constant_for_half_then_linear_to_zero():
    schedule = paper_schedule(epochs=4, steps_per_epoch=10, learning_rate=2e-4)
    rates = [float(ops.convert_to_numpy(schedule(step))) for step in (0, 19, 20, 30, 40, 50)]
    np.testing.assert_allclose(rates, [2e-4, 2e-4, 2e-4, 1e-4, 0.0, 0.0], atol=1e-10)
    restored = LinearDecay.from_config(schedule.get_config())
    assert (restored.total_steps, restored.decay_start) == (40, 20)
    with pytest.raises(ValueError, match="decay_start"):
        LinearDecay(1e-3, total_steps=10, decay_start=10)


# ------------------------------------------------------------------- the data


def _write_domains(root, counts, mode="RGB", size=(20, 24)):
    rng = np.random.default_rng(0)
    for sub, n in counts.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 255, size + ((3,) if mode == "RGB" else ()), dtype=np.uint8)
            Image.fromarray(pixels).convert(mode).save(root / sub / f"{i}.png")


def test_unpaired_folders_load_and_batch_in_a_resumable_order(tmp_path):
    _write_domains(tmp_path, {"trainA": 5, "trainB": 3, "testA": 2, "testB": 2})
    data = load_unpaired(data_dir=tmp_path, image_size=16, cache=False)
    assert (len(data.train_a), len(data.train_b), len(data.test_a), data.image_shape) == (5, 3, 2, (16, 16, 3))
    batches = data.batches(1, seed=1)
    assert len(batches) == 5  # an epoch is the larger domain
    assert sorted(batches.domain_order(0)) == [0, 1, 2, 3, 4]
    assert set(batches.domain_order(1)) == {0, 1, 2}  # the smaller, reshuffled to fill the epoch
    first = [batches[i] for i in range(5)]
    again = data.batches(1, seed=1)
    again.set_epoch(0)
    for (a1, b1), (a2, b2) in zip(first, (again[i] for i in range(5))):
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(b1, b2)
    jittered = data.batches(2, seed=1, jitter=True)
    a, b = jittered[0]
    assert a.shape == b.shape == (2, 16, 16, 3) and a.min() >= -1 and a.max() <= 1
    np.testing.assert_array_equal(jittered[0][0], a)  # the jitter is a function of (seed, epoch, batch)
    pair = load_unpaired(dir_a=tmp_path / "trainA", dir_b=tmp_path / "testB", image_size=8, cache=False)
    assert (len(pair.train_a), len(pair.train_b), pair.test_a) == (5, 2, None)


def test_unpaired_loader_refusals(tmp_path):
    _write_domains(tmp_path / "gray", {"trainA": 2}, mode="L")
    _write_domains(tmp_path / "gray", {"trainB": 2}, mode="RGB")
    with pytest.raises(DataError, match=r"differ in channels.*trainA holds grayscale.*trainB colour.*channels=3"):
        load_unpaired(data_dir=tmp_path / "gray", image_size=8, cache=False)
    assert load_unpaired(data_dir=tmp_path / "gray", image_size=8, channels=3, cache=False).image_shape == (8, 8, 3)
    (tmp_path / "empty" / "trainA").mkdir(parents=True)
    _write_domains(tmp_path / "empty", {"trainB": 1})
    (tmp_path / "empty" / "trainA" / "notes.txt").write_text("no images")
    with pytest.raises(DataError, match=r"No image files .* under .*trainA \(it holds 1 other files\)"):
        load_unpaired(data_dir=tmp_path / "empty", image_size=8, cache=False)
    _write_domains(tmp_path / "half", {"trainA": 1})
    with pytest.raises(DataError, match=r"lacks trainB/"):
        load_unpaired(data_dir=tmp_path / "half", image_size=8, cache=False)
    with pytest.raises(DataError, match="both dir_a and dir_b"):
        load_unpaired(dir_a=tmp_path / "half" / "trainA")
    with pytest.raises(DataError, match=r"Unknown unpaired data set 'horse2zebr'.*horse2zebra"):
        load_unpaired("horse2zebr")
