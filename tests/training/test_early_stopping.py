import numpy as np
import pytest

import chainrule as cr
from chainrule.callbacks import Callback, EarlyStopping, TrainingState
from small_problem import classifier, points


class Plant(Callback):
    """Overwrites one log with a planted sequence, before the callbacks after it read it."""

    def __init__(self, key, values):
        self.key, self.values = key, list(values)

    def on_epoch_end(self, state):
        state.logs[self.key] = self.values[state.epoch - 1]


class Snapshots(Callback):
    """Our own copy of every parameter at the end of each epoch."""

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, state):
        self.by_epoch[state.epoch] = [p.value.copy() for p in state.net.parameters()]


def run(values, **options):
    X, y = points()
    net, snaps = classifier(), Snapshots()
    stopper = EarlyStopping(**options)
    history = net.fit(X, y, optimizer=cr.SGD(0.5), epochs=len(values),
                      callbacks=[Plant("val_loss", values), snaps, stopper])
    return net, history, stopper, snaps


def drive(stopper, values, key="val_loss", net=None):
    """Call the hooks by hand with planted logs; returns the state."""
    state = TrainingState(net or classifier(), cr.SGD(0.1), cr.History(), len(values))
    stopper.on_train_begin(state)
    for value in values:
        state.epoch += 1
        state.logs = {"loss": 1.0, key: value}
        stopper.on_epoch_end(state)
        if state.stop:
            break
    stopper.on_train_end(state)
    return state


def test_restores_the_best_epoch_weights_in_place():
    worse_after_3 = [1.0, 0.8, 0.5, 0.6, 0.7, 0.9, 1.0, 1.1, 1.2, 1.3]
    X, y = points()
    net, snaps = classifier(), Snapshots()
    arrays = [p.value for p in net.parameters()]
    stopper = EarlyStopping(patience=2)
    history = net.fit(X, y, optimizer=cr.SGD(0.5), epochs=10,
                      callbacks=[Plant("val_loss", worse_after_3), snaps, stopper])
    assert history.stop_reason == "early_stopping"
    assert history.epochs == 5 and len(history["loss"]) == 5    # 2 epochs without improvement
    assert (stopper.best, stopper.best_epoch, stopper.stopped_epoch) == (0.5, 3, 5)
    assert stopper.restored
    for p, kept, array in zip(net.parameters(), snaps.by_epoch[3], arrays):
        np.testing.assert_array_equal(p.value, kept)
        assert p.value is array          # the optimiser's references stay valid
    assert not np.array_equal(snaps.by_epoch[5][0], snaps.by_epoch[3][0])


def test_without_restore_best_the_last_weights_stay():
    net, history, stopper, snaps = run([1.0, 0.8, 0.5, 0.6, 0.7, 0.9], patience=2,
                                       restore_best=False)
    assert history.epochs == 5 and not stopper.restored
    for p, kept in zip(net.parameters(), snaps.by_epoch[5]):
        np.testing.assert_array_equal(p.value, kept)


def test_restores_best_also_when_epochs_run_out():
    net, history, stopper, snaps = run([1.0, 0.5, 0.7, 0.8], patience=5)
    assert history.stop_reason == "epochs" and stopper.stopped_epoch == 0
    for p, kept in zip(net.parameters(), snaps.by_epoch[2]):
        np.testing.assert_array_equal(p.value, kept)


def test_real_validation_loss_and_reuse_across_fits():
    X, y = points(40)
    net = classifier()
    stopper = EarlyStopping(patience=1)
    first = net.fit(X[:30], y[:30], optimizer=cr.SGD(0.5), epochs=3,
                    validation_data=(X[30:], y[30:]), callbacks=[stopper])
    assert stopper.best == min(first["val_loss"])
    second = net.fit(X[:30], y[:30], optimizer=cr.SGD(0.5), epochs=2,
                     validation_data=(X[30:], y[30:]), callbacks=[stopper])
    assert stopper.best == min(second["val_loss"])      # state reset by on_train_begin


@pytest.mark.parametrize("patience, stop_at", [(0, 3), (1, 3), (2, 4), (3, 5)])
def test_patience_counts_epochs_without_improvement(patience, stop_at):
    stopper = EarlyStopping(patience=patience, restore_best=False)
    state = drive(stopper, [3.0, 2.0, 2.5, 2.4, 2.2, 2.1, 1.0])
    assert state.stop and state.stop_reason == "early_stopping"
    assert state.epoch == stopper.stopped_epoch == stop_at
    assert stopper.best_epoch == 2


def test_improvement_must_beat_min_delta():
    stopper = EarlyStopping(patience=2, min_delta=0.1, restore_best=False)
    state = drive(stopper, [1.0, 0.95, 0.91, 0.5])
    assert state.epoch == 3 and stopper.best == 1.0 and stopper.best_epoch == 1
    stopper = EarlyStopping(patience=2, min_delta=0.1, restore_best=False)
    state = drive(stopper, [1.0, 0.85, 0.80, 0.7])
    assert not state.stop and stopper.best_epoch == 4


def test_nan_never_improves():
    stopper = EarlyStopping(patience=1, restore_best=False)
    state = drive(stopper, [1.0, float("nan"), 0.5])
    assert state.stop and state.epoch == 2 and stopper.best == 1.0


@pytest.mark.parametrize("monitor, mode, values, best_epoch", [
    ("val_accuracy", "auto", [0.5, 0.9, 0.7, 0.6], 2),   # accuracy: higher is better
    ("accuracy", "auto", [0.5, 0.9, 0.7, 0.6], 2),
    ("val_loss", "auto", [0.5, 0.9, 0.4, 0.6], 3),
    ("score", "max", [0.5, 0.9, 0.7, 0.6], 2),
    ("val_accuracy", "min", [0.5, 0.9, 0.7, 0.6], 1),
])
def test_mode(monitor, mode, values, best_epoch):
    stopper = EarlyStopping(monitor=monitor, mode=mode, patience=10, restore_best=False)
    drive(stopper, values, key=monitor)
    assert stopper.best_epoch == best_epoch


def test_restores_layer_buffers():
    class Counting(cr.Identity):
        """An identity layer with a buffer counting the training batches it saw."""

        def __init__(self):
            super().__init__()
            self.seen = np.zeros(1)

        def buffers(self):
            return {"seen": self.seen}

        def forward(self, x, training=False):
            if training:
                self.seen += 1
            return super().forward(x, training)

    X, y = points()
    layer = Counting()
    net = cr.Sequential([cr.Dense(2, 2, dtype="float64"), layer, cr.Softmax()])
    net.fit(X, y, optimizer=cr.SGD(0.1), epochs=6,
            callbacks=[Plant("val_loss", [1.0, 0.5, 0.9, 0.9, 0.9, 0.9]),
                       EarlyStopping(patience=2)])
    assert layer.seen[0] == 2        # the count at the best epoch, not at epoch 4


def test_missing_monitor_names_available_keys():
    X, y = points()
    with pytest.raises(cr.InvalidValueError,
                       match=r"'val_loss'.*available keys: 'loss', 'accuracy'.*validation_data"):
        classifier().fit(X, y, epochs=2, callbacks=[EarlyStopping()])


@pytest.mark.parametrize("options, message", [
    (dict(patience=-1), "patience must be an integer >= 0"),
    (dict(patience=1.5), "patience must be an integer >= 0"),
    (dict(min_delta=-0.1), "min_delta must be a finite number >= 0"),
    (dict(min_delta=float("nan")), "min_delta must be a finite number >= 0"),
    (dict(mode="lowest"), "mode must be 'auto', 'min' or 'max'"),
])
def test_bad_arguments(options, message):
    with pytest.raises(cr.InvalidValueError, match=message):
        EarlyStopping(**options)
