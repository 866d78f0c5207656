import io

import numpy as np
import pytest

import chainrule as cr
from chainrule.callbacks import Callback, ProgressBar, ProgressLogger, TrainingState
from chainrule.training.callbacks import progress
from small_problem import classifier, points

tqdm = pytest.importorskip("tqdm")


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def bars(monkeypatch):
    """Every tqdm bar ProgressBar opens, to check that each was closed."""
    made = []

    class Recorded(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(progress, "_tqdm", lambda: Recorded)
    return made


def closed(bar):
    return bar.disable     # tqdm.close() sets it; an open bar has it False


def test_terminal_gets_one_closed_bar_per_epoch(bars):
    X, y = points()
    out = Terminal()
    classifier().fit(X, y, epochs=2, batch_size=4, callbacks=[ProgressBar(out)])
    assert len(bars) == 2 and all(closed(bar) for bar in bars)
    assert [bar.n for bar in bars] == [3, 3] and all(bar.total == 3 for bar in bars)
    text = out.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "100%" in text
    assert "loss" in text and "accuracy" in text and "\r" in text


def test_not_a_terminal_gets_plain_lines():
    X, y = points()
    out = io.StringIO()
    classifier().fit(X, y, epochs=3, batch_size=4, callbacks=[ProgressBar(out)])
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert lines[0].startswith("epoch 1/3  loss ")
    assert "accuracy" in lines[0] and "eta" in lines[0]
    assert lines[-1].endswith("eta 0.0s)")


@pytest.mark.parametrize("stream", [io.StringIO, Terminal])
def test_quiet_writes_nothing(stream, bars):
    X, y = points()
    out = stream()
    classifier().fit(X, y, epochs=2, callbacks=[ProgressBar(out, quiet=True)])
    assert out.getvalue() == "" and bars == []


def test_default_stream_is_stderr_at_train_time(capsys):
    X, y = points()
    classifier().fit(X, y, epochs=1, callbacks=[ProgressBar()])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("epoch 1/1")


def test_bar_closed_when_divergence_ends_the_epoch_early(bars):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) * 1e6
    net = cr.mlp([3, 4, 1], activation="tanh", output="identity", dtype="float64", seed=0)
    with pytest.warns(cr.DivergenceWarning), np.errstate(all="ignore"):
        net.fit(X, y, loss="squared_error", optimizer=cr.SGD(1e6), epochs=5, batch_size=2,
                callbacks=[ProgressBar(Terminal())])
    assert bars and all(closed(bar) for bar in bars)


def test_bar_closed_on_exception_hook(bars):
    bar = ProgressBar(Terminal())
    state = TrainingState(classifier(), cr.SGD(0.1), cr.History(), 2)
    state.batches = 5
    bar.on_train_begin(state)
    bar.on_epoch_begin(state)
    state.batch_loss = 0.5
    bar.on_batch_end(state)
    bar.on_exception(state, KeyboardInterrupt())
    assert len(bars) == 1 and closed(bars[0]) and bars[0].n == 1


def test_bar_left_by_a_failed_fit_is_closed_by_the_next(bars):
    class Boom(Callback):
        def on_batch_end(self, state):
            if state.iteration == 2:
                raise RuntimeError("boom")

    X, y = points()
    progress_bar = ProgressBar(Terminal())
    with pytest.raises(RuntimeError):
        classifier().fit(X, y, epochs=2, batch_size=4, callbacks=[progress_bar, Boom()])
    classifier().fit(X, y, epochs=1, batch_size=4, callbacks=[progress_bar])
    assert len(bars) == 2 and all(closed(bar) for bar in bars)


def test_fit_closes_the_bar_when_it_raises(bars):
    class Boom(Callback):
        def on_batch_end(self, state):
            raise RuntimeError("boom")

    X, y = points()
    with pytest.raises(RuntimeError):
        classifier().fit(X, y, epochs=2, batch_size=4,
                         callbacks=[ProgressBar(Terminal()), Boom()])
    assert bars and all(closed(bar) for bar in bars)


def test_progress_logger_line():
    X, y = points()
    out = io.StringIO()
    history = classifier().fit(X, y, epochs=3, callbacks=[ProgressLogger(out, every=2)])
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 2/3", "epoch 3/3"]
    assert f"loss {history['loss'][-1]:.4f}" in lines[-1]
