import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.callbacks import Callback, ModelCheckpoint
from small_problem import classifier, points


class Predictions(Callback):
    """What the network predicts at the end of each epoch."""

    def __init__(self, X):
        self.X, self.by_epoch = X, {}

    def on_epoch_end(self, state):
        self.by_epoch[state.epoch] = state.net.predict(self.X)


class Plant(Callback):
    def __init__(self, key, values):
        self.key, self.values = key, list(values)

    def on_epoch_end(self, state):
        state.logs[self.key] = self.values[state.epoch - 1]


def test_every_epoch_file_loads_and_predicts_like_that_epoch(tmp_path):
    X, y = points()
    seen = Predictions(X)
    checkpoint = ModelCheckpoint(tmp_path / "run-{epoch:02d}.safetensors")
    history = classifier().fit(X, y, optimizer=cr.SGD(0.5), epochs=3, batch_size=4,
                               callbacks=[seen, checkpoint])
    assert sorted(os.listdir(tmp_path)) == [f"run-0{e}.safetensors" for e in (1, 2, 3)]
    assert checkpoint.last_path == str(tmp_path / "run-03.safetensors")
    for epoch in (1, 2, 3):
        saved = cr.load(tmp_path / f"run-{epoch:02d}.safetensors")
        np.testing.assert_array_equal(saved.predict(X), seen.by_epoch[epoch])
        assert saved.metadata["epoch"] == epoch
        assert saved.metadata["iteration"] == 3 * epoch
        assert saved.metadata["logs"] == {key: values[epoch - 1] for key, values in history.items()}


def test_every_n_epochs(tmp_path):
    X, y = points()
    classifier().fit(X, y, epochs=5, callbacks=[ModelCheckpoint(tmp_path / "e{epoch}.safetensors",
                                                                every=2)])
    assert sorted(os.listdir(tmp_path)) == ["e2.safetensors", "e4.safetensors"]


def test_save_best_only_keeps_the_best_epoch(tmp_path):
    X, y = points()
    seen = Predictions(X)
    path = tmp_path / "best.safetensors"
    checkpoint = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    classifier().fit(X, y, optimizer=cr.SGD(0.5), epochs=5,
                     callbacks=[Plant("val_loss", [0.9, 0.7, 0.8, 0.6, 0.65]), seen, checkpoint])
    saved = cr.load(path)
    assert saved.metadata["epoch"] == 4 and saved.metadata["best"] == 0.6
    assert saved.metadata["monitor"] == "val_loss"
    np.testing.assert_array_equal(saved.predict(X), seen.by_epoch[4])
    assert (checkpoint.best, checkpoint.best_epoch) == (0.6, 4)


def test_save_best_only_writes_only_on_improvement(tmp_path):
    X, y = points()
    checkpoint = ModelCheckpoint(tmp_path / "e{epoch}.safetensors", monitor="val_accuracy",
                                 save_best_only=True)
    classifier().fit(X, y, epochs=5,
                     callbacks=[Plant("val_accuracy", [0.5, 0.7, 0.7, 0.6, 0.9]), checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["e1.safetensors", "e2.safetensors", "e5.safetensors"]


def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    X, y = points()
    seen = Predictions(X)
    path = tmp_path / "last.safetensors"
    failing = {"on": False}
    real_fsync = os.fsync

    def fsync(fd):
        if failing["on"]:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    class FailFromEpoch3(Callback):
        def on_epoch_end(self, state):
            failing["on"] = state.epoch >= 3

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="No space left"):
        classifier().fit(X, y, optimizer=cr.SGD(0.5), epochs=5,
                         callbacks=[seen, FailFromEpoch3(), ModelCheckpoint(path)])
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["last.safetensors"]     # no temporary file left behind
    saved = cr.load(path)
    assert saved.metadata["epoch"] == 2
    np.testing.assert_array_equal(saved.predict(X), seen.by_epoch[2])
    assert not np.array_equal(seen.by_epoch[2], seen.by_epoch[3])


def test_log_values_json_cannot_hold_become_null(tmp_path):
    X, y = points()
    path = tmp_path / "m.safetensors"
    classifier().fit(X, y, epochs=1, callbacks=[Plant("odd", [float("inf")]),
                                                ModelCheckpoint(path)])
    assert cr.load(path).metadata["logs"]["odd"] is None


def test_path_with_log_fields(tmp_path):
    X, y = points()
    classifier().fit(X, y, epochs=1, callbacks=[
        Plant("val_loss", [0.25]), ModelCheckpoint(tmp_path / "{epoch}-{val_loss:.2f}.safetensors")])
    assert os.listdir(tmp_path) == ["1-0.25.safetensors"]


def test_unknown_path_field_is_explained(tmp_path):
    X, y = points()
    with pytest.raises(cr.InvalidValueError, match=r"\{step\}.*fields may be .*epoch"):
        classifier().fit(X, y, epochs=1,
                         callbacks=[ModelCheckpoint(str(tmp_path) + "/{step}.safetensors")])


def test_missing_monitor_is_explained(tmp_path):
    X, y = points()
    with pytest.raises(cr.InvalidValueError, match="val_loss needs validation_data"):
        classifier().fit(X, y, epochs=1, callbacks=[
            ModelCheckpoint(tmp_path / "m.safetensors", monitor="val_loss", save_best_only=True)])


@pytest.mark.parametrize("options, message", [
    (dict(every=0), "every must be a positive integer"),
    (dict(every=1.5), "every must be a positive integer"),
    (dict(save_best_only=True), "needs monitor="),
    (dict(monitor="loss", mode="down"), "mode must be"),
])
def test_bad_arguments(tmp_path, options, message):
    with pytest.raises(cr.InvalidValueError, match=message):
        ModelCheckpoint(tmp_path / "m.safetensors", **options)
