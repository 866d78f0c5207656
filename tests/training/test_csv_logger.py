import csv

import pytest

import chainrule as cr
from chainrule.callbacks import Callback, CSVLogger, TrainingState
from small_problem import classifier, points


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_one_row_per_epoch_with_every_log_in_full_precision(tmp_path):
    X, y = points(40)
    path = tmp_path / "log.csv"
    history = classifier().fit(X[:30], y[:30], optimizer=cr.SGD(0.5), epochs=3,
                               validation_data=(X[30:], y[30:]), callbacks=[CSVLogger(path)])
    assert path.read_text().splitlines()[0] == "epoch,loss,accuracy,val_loss,val_accuracy"
    table = rows(path)
    assert [int(row["epoch"]) for row in table] == [1, 2, 3]
    for key, values in history.items():
        assert [float(row[key]) for row in table] == values     # exact: nothing rounded


def test_each_row_is_on_disk_when_its_epoch_ends(tmp_path):
    path = tmp_path / "log.csv"

    class Reader(Callback):
        def __init__(self):
            self.counts = []

        def on_epoch_end(self, state):
            self.counts.append(len(rows(path)))
            if state.epoch == 3:
                raise KeyboardInterrupt

    X, y = points()
    reader = Reader()
    with pytest.raises(KeyboardInterrupt):
        classifier().fit(X, y, epochs=10, callbacks=[CSVLogger(path), reader])
    assert reader.counts == [1, 2, 3]
    assert len(rows(path)) == 3      # the interrupted run keeps its rows


def test_append_adds_rows_under_the_existing_header(tmp_path):
    X, y = points()
    path = tmp_path / "log.csv"
    classifier().fit(X, y, epochs=2, callbacks=[CSVLogger(path)])
    classifier().fit(X, y, epochs=3, callbacks=[CSVLogger(path, append=True)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,accuracy" and lines.count(lines[0]) == 1
    assert [row["epoch"] for row in rows(path)] == ["1", "2", "1", "2", "3"]


def test_without_append_the_file_starts_afresh(tmp_path):
    X, y = points()
    path = tmp_path / "log.csv"
    path.write_text("old,stuff\n1,2\n")
    classifier().fit(X, y, epochs=2, callbacks=[CSVLogger(path)])
    assert [row["epoch"] for row in rows(path)] == ["1", "2"]


def test_append_to_a_missing_file_writes_the_header(tmp_path):
    X, y = points()
    path = tmp_path / "log.csv"
    classifier().fit(X, y, epochs=1, callbacks=[CSVLogger(path, append=True)])
    assert path.read_text().splitlines()[0] == "epoch,loss,accuracy"


def drive(logger, logs_per_epoch):
    state = TrainingState(None, None, cr.History(), len(logs_per_epoch))
    logger.on_train_begin(state)
    for logs in logs_per_epoch:
        state.epoch += 1
        state.logs = logs
        logger.on_epoch_end(state)
    logger.on_train_end(state)


def test_a_key_missing_later_leaves_an_empty_cell(tmp_path):
    path = tmp_path / "log.csv"
    drive(CSVLogger(path), [{"loss": 0.5, "lr": 0.1}, {"loss": 0.25}])
    assert path.read_text().splitlines() == ["epoch,loss,lr", "1,0.5,0.1", "2,0.25,"]


def test_a_new_key_later_is_an_error_and_earlier_rows_stay(tmp_path):
    path = tmp_path / "log.csv"
    with pytest.raises(cr.InvalidValueError, match=r"epoch 2 logs 'lr', not among the columns"):
        drive(CSVLogger(path), [{"loss": 0.5}, {"loss": 0.25, "lr": 0.1}])
    assert path.read_text().splitlines() == ["epoch,loss", "1,0.5"]


def test_append_to_a_file_with_other_columns_is_an_error(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(cr.InvalidValueError, match="'val_loss', not among the columns"):
        drive(CSVLogger(path, append=True), [{"loss": 0.4, "val_loss": 0.6}])
    path.write_text("time,value\n")
    with pytest.raises(cr.InvalidValueError, match="no 'epoch' column"):
        drive(CSVLogger(path, append=True), [{"loss": 0.4}])
