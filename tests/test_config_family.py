"""The losses and tricks of issue 29 as run config keys: each reaches the model train.py builds."""

import keras
import pytest

from dcgan_keras import config as config_module
from dcgan_keras import losses
from dcgan_keras.config import ConfigError, resolve_config
from dcgan_keras.run_model import build_model


def test_the_config_offers_every_loss_the_library_has():
    assert set(config_module.LOSSES) == set(losses.LOSSES) - {"bce"}  # "bce": another name of non_saturating


def test_each_new_key_reaches_the_model():
    gan = build_model(resolve_config("synthetic", overrides={
        "g_architecture": "upsample", "g_filters": [8, 4], "d_architecture": "blocks3x3", "d_filters": [4, 4, 4],
        "spectral_norm": True,
        "latent_distribution": "uniform", "instance_noise": 0.1, "instance_noise_steps": 100,
        "loss": "hinge", "beta_2": 0.9, "weight_decay": 1e-4, "d_lr": 1e-4, "g_lr": 3e-4,
    }))
    assert any(isinstance(layer, keras.layers.UpSampling2D) for layer in gan.generator.layers)
    assert any("_sn" in layer.name for layer in gan.discriminator.layers)
    assert gan.latent_distribution == "uniform"
    assert (gan.instance_noise, gan.instance_noise_steps) == (0.1, 100)
    assert gan.gan_loss.name == "hinge"
    for optimizer, rate in ((gan.d_optimizer, 1e-4), (gan.g_optimizer, 3e-4)):
        assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(rate)
        assert optimizer.beta_2 == 0.9 and optimizer.weight_decay == pytest.approx(1e-4)


def test_the_wgan_gp_preset_has_the_papers_recipe():
    gan = build_model(resolve_config("mnist_wgan_gp", overrides={"dataset": "synthetic", "image_size": 28}))
    assert gan.gan_loss.name == "wgan_gp" and gan.d_steps == 5
    assert (gan.d_optimizer.beta_1, gan.d_optimizer.beta_2) == (0.0, 0.9)


@pytest.mark.parametrize("overrides, message", [
    ({"instance_noise": 0.1}, "instance_noise_steps must be set"),
    ({"instance_noise": -0.1, "instance_noise_steps": 10}, "instance_noise must be"),
    ({"loss": "wasserstein"}, "loss must be one of"),
    ({"weight_decay": -1.0}, "weight_decay must be"),
    ({"g_architecture": "pixelshuffle"}, "g_architecture must be one of"),
])
def test_bad_values_are_refused_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("synthetic", overrides=overrides)


# ------------------------------------------------------- the translation models


def test_the_config_names_the_models_the_family_has():
    from dcgan_keras.gans import MODELS

    assert set(config_module.MODEL_NAMES) == set(MODELS)


def test_the_translation_keys_reach_the_models():
    from dcgan_keras.config import make_config
    from dcgan_keras.gans import CycleGAN, Pix2Pix

    gan = Pix2Pix.from_run_config(make_config({
        "model": "pix2pix", "image_size": 32, "channels": 3, "in_channels": 1, "filters": 4, "l1_weight": 10,
        "loss": "least_squares"}))
    assert (gan.input_image_shape, gan.image_shape, gan.l1_weight) == ((32, 32, 1), (32, 32, 3), 10.0)
    assert gan.generator.get_layer("down0_conv").filters == 4 and gan.gan_loss.name == "least_squares"

    class Data:  # 8 examples: 4 steps of 2 an epoch
        name = "data"

        def __len__(self):
            return 8

    gan = CycleGAN.from_run_config(make_config({
        "model": "cyclegan", "image_size": 32, "channels": 1, "filters": 4, "cycle_weight": 5, "identity_weight": 0,
        "pool_size": 3, "lr_decay": True, "epochs": 4, "batch_size": 2, "loss": "focal", "residual_blocks": 2}),
        Data())
    assert (gan.cycle_weight, gan.identity_weight, gan.pool_size, gan.shape_a) == (5.0, 0.0, 3, (32, 32, 1))
    adds = [layer for layer in gan.generator_ab.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 2  # one skip connection a residual block
    schedule = gan.g_ab_optimizer._learning_rate
    assert (schedule.total_steps, schedule.decay_start) == (16, 8)  # constant for half the epochs, then to 0
    assert set(gan.optimizers) == {"g_ab", "g_ba", "d_a", "d_b"}


@pytest.mark.parametrize("overrides, message", [
    ({"model": "dcgan", "pool_size": 3}, "pool_size is read by model 'cyclegan' only"),
    ({"model": "pix2pix", "image_size": 32, "residual_blocks": 2}, "residual_blocks is read by model 'cyclegan' only"),
    ({"model": "pix2pix", "image_size": 32, "latent_dim": 5}, "latent_dim is read by model 'dcgan' and"),
    ({"model": "cyclegan", "image_size": 32, "loss": "hinge"}, "model 'cyclegan' takes loss"),
    ({"model": "pix2pix"}, "model 'pix2pix' needs image_size"),
    ({"model": "dcgan", "image_size": 256}, "model 'dcgan' trains at image_size 28, 32, 64, 128"),
    ({"model": "pix2pix", "image_size": 32, "direction": "AtoC"}, "direction must be one of 'AtoB', 'BtoA'"),
])
def test_keys_of_another_model_and_sizes_it_cannot_train_are_refused(overrides, message):
    from dcgan_keras.config import make_config

    with pytest.raises(ConfigError, match=message):
        make_config(overrides)


def test_a_run_recorded_before_a_default_changed_still_resumes(tmp_path):
    # config.json records every key, those its model ignores at the defaults of their day: a
    # DCGAN run from before conditioning's default became "projection" recorded "concat".
    import json

    from dcgan_keras import training
    from dcgan_keras.config import config_differences, make_config
    from dcgan_keras.rundir import RunDir

    old = dict(resolve_config("mnist").to_dict(), conditioning="concat")
    with pytest.raises(ConfigError, match="conditioning is read by model 'conditional' only"):
        make_config(old)  # given by a user, the key would be ignored: refused
    run = RunDir(tmp_path / "run")
    run.create()
    run.release()
    with open(run.config_json, "w") as f:
        json.dump({"config": old}, f)
    resumed = training.resolve_run_config(run.path, resume=True)  # --resume --workdir=run
    assert resumed.conditioning == "projection" and resumed.lr == old["lr"]
    training._open_run_dir(resolve_config("mnist"), run.path, resume=True)  # --resume --dataset=mnist: no change
    # A conditional run keeps the conditioning it trained with; today's preset differs in it.
    old_conditional = dict(resolve_config("mnist_conditional").to_dict(), conditioning="concat")
    recorded = make_config(config_module.recorded_values(old_conditional))
    assert recorded.conditioning == "concat"
    assert config_differences(recorded, resolve_config("mnist_conditional")) == ["conditioning"]
