"""dcgan_keras.cli and train.py's flags, without subprocesses: the exit-code mapping, flags made from the config."""

import dataclasses
import errno
import os
import signal
import sys

import pytest
from absl import flags

from dcgan_keras import cli, config, tf_logs, train_command, training
from dcgan_keras.export import ExportError
from dcgan_keras.rundir import RunDir


@pytest.fixture
def run(tmp_path):
    run = RunDir(tmp_path / "run")
    run.create()
    run.release()
    (tmp_path / "run" / "config.json").write_text("{}")
    return run


def test_each_error_maps_to_its_exit_code_and_says_what_is_kept(run):
    cases = [
        (config.ConfigError("Unknown config key(s)"), 2, "Unknown config key(s)"),
        (training.TrainingDiverged("the loss diverged"), 3, "the loss diverged"),
        (ExportError("no tf"), 1, f"checkpoints are in {run.path}, but the export failed: no tf"),
        (OSError(errno.ENOSPC, "No space left on device", "x.keras"), 2, "No space left on device (x.keras)"),
        (MemoryError("big"), 2, "out of memory (MemoryError: big)"),
        (KeyboardInterrupt(), 130, "interrupted; no epoch had completed, so none is kept"),
    ]
    for err, code, phrase in cases:
        got_code, message, _ = train_command.training_exit(err, run.path, "jax")
        assert got_code == code and phrase in message, (err, got_code, message)
    # A bug is re-raised, with its traceback.
    assert train_command.training_exit(ValueError("a bug"), run.path, "jax")[0] is None
    assert train_command.training_exit(OSError(errno.ENOENT, "gone"), run.path, "jax")[0] is None
    assert set(cli.EXIT_CODES) == {0, 1, 2, 3, 130, 143}


def test_a_stop_names_the_epoch_kept_and_the_command_that_continues(run, tmp_path):
    open(run.checkpoint_path(3), "wb").close()
    open(run.checkpoint_path(2), "wb").close()
    said = cli.what_was_kept(run.path, "torch")
    assert said == (f"epoch 3 is kept (checkpoints/epoch_0003.keras); continue with: "
                    f"python train.py --resume --workdir={run.path} --backend=torch")
    assert "nothing to resume" in cli.what_was_kept(str(tmp_path / "never"), "torch")
    # SIGTERM inside stopping_on_signals: 143 and its name.
    with cli.stopping_on_signals():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
        code, message, mid_line = train_command.training_exit(KeyboardInterrupt(), run.path, "torch")
    assert (code, mid_line) == (143, True) and message.startswith("stopped by SIGTERM; epoch 3 is kept")


def test_the_flags_are_the_configs_fields_with_their_types_choices_and_bounds():
    fv = flags.FlagValues()
    train_command.define_flags(fv)
    fields = {f.name: f for f in dataclasses.fields(config.Config)}
    specs = config.flag_specs()
    assert {s.name for s in specs} == set(config.FLAG_HELP) <= set(fields)
    for spec in specs:
        flag = fv[spec.name]
        assert flag.default is None, spec.name  # the preset's value, else the Config default, stands
        assert f"else {fields[spec.name].default if fields[spec.name].default is not None else 'unset'}" in flag.help
        check = config._CHECKS[spec.name]
        if getattr(check, "choices", None) is not None:
            assert flag.parser.enum_values == list(check.choices), spec.name
        else:
            assert type(flag.parser).__name__ == {int: "IntegerParser", float: "FloatParser",
                                                  bool: "BooleanParser", str: "ArgumentParser"}[spec.kind], spec.name
    assert fv["update"].parser.enum_values == list(config.UPDATES)
    assert fv["seed"].parser.upper_bound == 2**32 - 1 and fv["epochs"].parser.lower_bound == 1


def test_each_list_of_choices_is_defined_once():
    from dcgan_keras import distribute, losses, models
    from dcgan_keras.gans import dcgan

    assert distribute.MODES is config.DISTRIBUTE_MODES and distribute.PRECISIONS is config.PRECISIONS
    assert dcgan.UPDATES is config.UPDATES and dcgan.LATENT_DISTRIBUTIONS is config.LATENT_DISTRIBUTIONS
    assert models.GENERATOR_ARCHITECTURES is config.G_ARCHITECTURES
    assert models.DISCRIMINATOR_ARCHITECTURES is config.D_ARCHITECTURES
    # The loss names: config.py's (no Keras) against the functions' registry ("bce": non_saturating's other name).
    assert set(config.LOSSES) == set(losses.LOSSES) - {"bce"}
    # The models a run names, and how a conditional one feeds its label.
    from dcgan_keras.gans import MODELS
    from dcgan_keras.networks import conditional

    assert set(config.MODEL_NAMES) == set(MODELS)
    assert conditional.CONDITIONINGS is config.CONDITIONINGS


def test_help_lists_the_users_flags_and_not_the_test_hooks():
    import train

    shown = train.FLAGS.module_help(train)  # what --help prints when train.py is the main module
    assert "--epochs" in shown and "--backend" in shown and "--coordinator_address" in shown
    assert "--debug_" not in shown
    assert "--debug_batch_sleep" in train.FLAGS.get_help()  # --helpfull keeps them


def test_multi_host_flags_are_checked_together():
    values = dict(coordinator_address="10.0.0.1:1234", num_processes=2, process_id=0, distribute=None)
    assert train_command.check_multi_host(values) is None
    assert "missing --process_id" in train_command.check_multi_host(dict(values, process_id=None))
    assert "HOST:PORT" in train_command.check_multi_host(dict(values, coordinator_address="x"))
    assert "leave out --distribute=none" in train_command.check_multi_host(dict(values, distribute="none"))


def test_sample_py_choices_are_the_librarys():
    from dcgan_keras import sample_command, sampling

    fv = flags.FlagValues()
    sample_command.define_flags(fv)
    assert fv["interp_method"].parser.enum_values == list(sampling.INTERPOLATION_METHODS)
    assert fv["backend"].parser.enum_values == list(cli.BACKENDS)
    assert fv["export_format"].parser.enum_values == list(cli.EXPORT_FORMATS)


ONEDNN = b"I0000 00:00:1796597403.847641    6334 port.cc:153] oneDNN custom operations are on. You may see ..."
BEFORE_INIT = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


@pytest.mark.parametrize("level, kept", [
    (3, [b"F0000 00:00:17.5 1 a.cc:1] fatal", b"Traceback (most recent call last):"]),
    (2, [b"E0000 00:00:17.5 1 a.cc:1] error", b"F0000 00:00:17.5 1 a.cc:1] fatal", b"Traceback (most recent call last):"]),
    (0, [BEFORE_INIT, ONEDNN, b"W1206 22:51:03.1 1 b.cc:2] warn", b"E0000 00:00:17.5 1 a.cc:1] error",
         b"F0000 00:00:17.5 1 a.cc:1] fatal", b"Traceback (most recent call last):"]),
])
def test_tensorflows_log_lines_are_kept_from_their_level_up(level, kept):
    lines = [BEFORE_INIT, ONEDNN, b"W1206 22:51:03.1 1 b.cc:2] warn", b"E0000 00:00:17.5 1 a.cc:1] error",
             b"F0000 00:00:17.5 1 a.cc:1] fatal", b"Traceback (most recent call last):"]
    assert [line for line in lines if tf_logs.keeps(line, level)] == kept
    assert tf_logs.min_log_level({"TF_CPP_MIN_LOG_LEVEL": str(level)}) == level


def _fake_tensorflow(tmp_path, name, raises=False):
    # What TensorFlow's import writes to fd 2 on a CPU where oneDNN is on by default, beside what must pass.
    start_up = BEFORE_INIT + b"\n" + ONEDNN + b"\n"
    (tmp_path / f"{name}.py").write_text(
        "import os, sys\n"
        f"os.write(2, {start_up!r})\n"
        "os.write(2, b'a line of its own\\n')\n"
        "os.write(2, b'I0000 00:00:17.1 9 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\\n'"
        " b'To enable the following instructions: AVX2 FMA, rebuild TensorFlow\\n')\n"
        "os.write(2, b'E0000 00:00:17.2 9 a.cc:1] an error line\\nno newline at the end')\n"
        + ("raise ImportError('broken build')\n" if raises else "")
    )


def test_the_first_import_of_tensorflow_drops_its_start_up_lines_and_nothing_else(tmp_path, monkeypatch, capfd):
    _fake_tensorflow(tmp_path, "fake_tensorflow")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("sys.meta_path", list(sys.meta_path))
    tf_logs.filter_import({"TF_CPP_MIN_LOG_LEVEL": "3"}, module="fake_tensorflow")
    tf_logs.filter_import({"TF_CPP_MIN_LOG_LEVEL": "3"}, module="fake_tensorflow")  # once is enough
    assert sum(isinstance(f, tf_logs._Finder) for f in sys.meta_path) == 1
    try:
        import fake_tensorflow
    finally:
        sys.modules.pop("fake_tensorflow", None)
    assert capfd.readouterr().err == "a line of its own\nno newline at the end"
    assert not any(isinstance(f, tf_logs._Finder) for f in sys.meta_path)
    # It leaves no trace on the module.
    assert not isinstance(fake_tensorflow.__loader__, tf_logs._Loader)
    assert fake_tensorflow.__spec__.loader is fake_tensorflow.__loader__
    # The user's level wins: at 0 nothing is filtered, and nothing is installed.
    tf_logs.filter_import({"TF_CPP_MIN_LOG_LEVEL": "0"}, module="fake_tensorflow")
    assert not any(isinstance(f, tf_logs._Finder) for f in sys.meta_path)


def test_an_import_that_fails_keeps_its_error_and_stderr(tmp_path, monkeypatch, capfd):
    _fake_tensorflow(tmp_path, "broken_tensorflow", raises=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("sys.meta_path", list(sys.meta_path))
    tf_logs.filter_import({"TF_CPP_MIN_LOG_LEVEL": "1"}, module="broken_tensorflow")
    with pytest.raises(ImportError, match="broken build"):
        import broken_tensorflow  # noqa: F401
    sys.modules.pop("broken_tensorflow", None)
    # Level 1 drops INFO lines only; the rest of stderr reaches it, and stderr is itself again.
    assert capfd.readouterr().err == (BEFORE_INIT.decode() + "\na line of its own\nE0000 00:00:17.2 9 a.cc:1] an error line"
                                      "\nno newline at the end")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
    assert not any(isinstance(f, tf_logs._Finder) for f in sys.meta_path)
