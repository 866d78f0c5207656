import numpy as np
import pytest

import chainrule as cr
from chainrule.callbacks import Callback, CSVLogger, LearningRateScheduler
from small_problem import classifier, points


class Halve:
    """A stand-in for chainrule.optim.schedules: built on an optimiser, step() sets its lr."""

    def __init__(self, optimizer):
        self.optimizer, self.metrics = optimizer, []

    def step(self, metric=None):
        self.metrics.append(metric)
        self.optimizer.lr *= 0.5


class Logs(Callback):
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, state):
        self.seen.append(dict(state.logs))


def test_per_epoch_trains_each_epoch_with_its_rate():
    X, y = points()
    net, optimizer = classifier(), cr.SGD(0.8)
    schedule, logs = Halve(optimizer), Logs()
    net.fit(X, y, optimizer=optimizer, epochs=3, shuffle=False,
            callbacks=[LearningRateScheduler(schedule), logs])
    assert [entry["lr"] for entry in logs.seen] == [0.8, 0.4, 0.2]
    assert optimizer.lr == 0.1 and schedule.metrics == [None] * 3
    # The same run written out: one epoch at each rate.
    reference = classifier()
    for lr in (0.8, 0.4, 0.2):
        reference.fit(X, y, optimizer=cr.SGD(lr), epochs=1, shuffle=False)
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_per_iteration_steps_after_every_update():
    X, y = points()
    optimizer = cr.SGD(0.8)
    schedule, logs = Halve(optimizer), Logs()
    classifier().fit(X, y, optimizer=optimizer, epochs=2, batch_size=3,
                     callbacks=[LearningRateScheduler(schedule, per="iteration"), logs])
    assert len(schedule.metrics) == 8                      # 4 batches x 2 epochs
    # logged: the rate of each epoch's last update (the 4th and the 8th)
    assert [entry["lr"] for entry in logs.seen] == [0.8 * 0.5 ** 3, 0.8 * 0.5 ** 7]


def test_monitor_passes_the_metric_to_step():
    X, y = points(40)
    optimizer = cr.SGD(0.5)
    schedule = Halve(optimizer)
    history = classifier().fit(X[:30], y[:30], optimizer=optimizer, epochs=3,
                               validation_data=(X[30:], y[30:]),
                               callbacks=[LearningRateScheduler(schedule, monitor="val_loss")])
    assert schedule.metrics == history["val_loss"]


def test_direct_hooks_with_planted_logs():
    optimizer = cr.SGD(1.0)
    schedule = Halve(optimizer)
    callback = LearningRateScheduler(schedule, monitor="val_loss")
    state = cr.callbacks.TrainingState(classifier(), optimizer, cr.History(), 3)
    callback.on_train_begin(state)
    for value in (0.3, 0.2, 0.4):
        state.epoch += 1
        state.logs = {"loss": 1.0, "val_loss": value}
        callback.on_epoch_end(state)
    assert schedule.metrics == [0.3, 0.2, 0.4]
    assert state.logs["lr"] == 0.25


def test_csv_logger_after_it_gets_the_lr_column(tmp_path):
    X, y = points()
    optimizer = cr.SGD(0.8)
    path = tmp_path / "log.csv"
    classifier().fit(X, y, optimizer=optimizer, epochs=2,
                     callbacks=[LearningRateScheduler(Halve(optimizer)), CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,accuracy,lr"
    assert [line.split(",")[-1] for line in lines[1:]] == ["0.8", "0.4"]


def test_schedule_on_another_optimizer_is_refused():
    X, y = points()
    with pytest.raises(cr.InvalidValueError, match="different optimiser"):
        classifier().fit(X, y, optimizer=cr.SGD(0.1), epochs=1,
                         callbacks=[LearningRateScheduler(Halve(cr.SGD(0.1)))])


def test_missing_monitor_is_explained():
    X, y = points()
    optimizer = cr.SGD(0.1)
    with pytest.raises(cr.InvalidValueError, match="val_loss needs validation_data"):
        classifier().fit(X, y, optimizer=optimizer, epochs=1,
                         callbacks=[LearningRateScheduler(Halve(optimizer), monitor="val_loss")])


@pytest.mark.parametrize("args, message", [
    ((object(),), "needs a schedule with a step"),
    ((Halve(cr.SGD(0.1)), "batch"), "per must be 'epoch' or 'iteration'"),
    ((Halve(cr.SGD(0.1)), "iteration", "val_loss"), "needs per='epoch'"),
])
def test_bad_arguments(args, message):
    with pytest.raises(cr.InvalidValueError, match=message):
        LearningRateScheduler(*args)
