"""One browser tab's training session: a worker thread driving the real ``fit``.

The event loop never touches NumPy work: the socket handler only forwards commands to
the session's worker thread (a plain ``queue.Queue``) and sends what the worker puts in
a bounded ``asyncio.Queue``. When that queue is full the worker waits, so a slow page
slows its own training and nothing piles up in memory.

While playing, the worker is inside one ``net.fit`` call; a callback reads the commands
between epochs (pause, trace, export...) and sends an update at most ``RATE`` times a
second, whatever the epoch rate: the loss and accuracy, and a binary float32 frame with
the decision-boundary heat map, the per-neuron heat maps and the weights.
"""
import asyncio
import concurrent.futures
import copy
import json
import math
import os
import queue
import secrets
import threading
import time

import numpy as np

from .. import backend, losses as losses_, optim
from ..errors import ChainruleError, InvalidValueError
from ..layers import Dense, Dropout, activation as make_activation
from ..layers.activations import NAMES
from ..network import Sequential
from ..training.callbacks import Callback
from . import data as data_, settings as settings_

RATE = 30           # updates per second, at most
GRID = 64           # decision-boundary heat map: GRID x GRID cells
NEURON_GRID = 16    # the small heat map drawn in each neuron of the diagram
NEURON_MAPS_MAX = 64  # hidden neurons in all; a bigger network gets no per-neuron maps
ACCURACY_ROWS = 5000  # accuracy is measured on at most this many rows per split
TRACE_ROWS_MAX = 400  # parameter rows of a trace table
QUEUE_SIZE = 8


class _Closed(Exception):
    """The socket closed: leave the training loop."""


class _Control(Callback):
    """The session's hooks into ``fit``: stop on close, commands and updates between epochs."""

    def __init__(self, session, single):
        self.session, self.single = session, single

    def on_batch_end(self, state):
        if self.session.closed.is_set():
            raise _Closed()

    def on_epoch_end(self, state):
        s = self.session
        s.epoch += 1
        s.logs = dict(state.logs)
        s.curve.append([s.epoch, _finite(s.logs.get("loss")), _finite(s.logs.get("val_loss"))])
        if self.single:
            state.stop = True
            return
        if time.monotonic() - s.last_update >= 1.0 / RATE:
            s.send_update()
        if s.serve_commands(in_fit=True):
            state.stop = True


class Session:
    """Training state of one tab; see the module docstring."""

    def __init__(self, loop, uploads):
        self.id = secrets.token_urlsafe(12)
        self.loop, self.uploads = loop, uploads
        self.out = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.commands = queue.Queue()
        self.closed = threading.Event()
        self.playing = False
        self.pending = []           # commands that need training to stop first
        self.settings = None
        self.data = None
        self._data_key = None
        self.net = self.optimizer = self.loss = None
        self.epoch = 0
        self.logs = {}
        self.curve = []             # [epoch, loss, val_loss] of every epoch since the last update
        self.last_update = 0.0
        self.thread = threading.Thread(target=self._run, name=f"playground-{self.id}",
                                       daemon=True)

    # ---- called from the event loop -----------------------------------------------------
    def start(self):
        self.thread.start()

    def command(self, message):
        self.commands.put(message)

    def request(self, kind, **options):
        """A concurrent Future answered by the worker (used for exports)."""
        future = concurrent.futures.Future()
        self.commands.put({"type": kind, "future": future, **options})
        return future

    def close(self):
        self.closed.set()
        self.commands.put({"type": "close"})

    # ---- the worker -----------------------------------------------------------------------
    def put(self, message, binary=None):
        """Hand a message to the socket sender, waiting while its queue is full."""
        while not self.closed.is_set():
            future = asyncio.run_coroutine_threadsafe(self.out.put((message, binary)), self.loop)
            try:
                future.result(timeout=0.25)
                return
            except concurrent.futures.TimeoutError:
                if not future.cancel():
                    return  # it went in after all
            except RuntimeError:  # the event loop is gone
                break
        raise _Closed()

    def error(self, text, where="training"):
        self.put({"type": "error", "message": text, "where": where})

    def _run(self):
        try:
            while not self.closed.is_set():
                if self.playing and self.net is not None and not self.pending:
                    self._train(single=False)
                    continue
                message = self.pending.pop(0) if self.pending else self.commands.get()
                self._handle(message)
        except _Closed:
            pass
        finally:
            self.playing = False
            self.net = self.optimizer = self.data = None

    def serve_commands(self, in_fit=False):
        """Handle the queued commands; True when training must stop for them."""
        stop = False
        while True:
            try:
                message = self.commands.get_nowait()
            except queue.Empty:
                return stop
            kind = message.get("type")
            if in_fit and kind in ("config", "reset", "step", "close"):
                self.pending.append(message)
                stop = True
                if kind in ("config", "reset", "close"):
                    self.playing = False
                continue
            if self._handle(message) == "stop":
                stop = True

    def _handle(self, message):
        kind = message.get("type")
        future = message.get("future")
        try:
            if kind == "close":
                raise _Closed()
            if kind == "config":
                self._configure(message.get("settings"))
            elif kind == "reset":
                if self.settings is not None:
                    self._build()
            elif kind == "play":
                if self.net is None:
                    raise InvalidValueError("no network yet: send settings first")
                self.playing = True
                self.put({"type": "state", "playing": True})
            elif kind == "pause":
                self.playing = False
                self.put({"type": "state", "playing": False})
                return "stop"
            elif kind == "step":
                if self.net is None:
                    raise InvalidValueError("no network yet: send settings first")
                self.playing = False
                self._train(single=True)
            elif kind == "trace":
                self._trace(message)
            elif kind == "export":
                future.set_result(self._export(message["format"]))
            else:
                raise InvalidValueError(f"unknown message type {kind!r}")
        except (_Closed, KeyboardInterrupt):
            raise
        except Exception as e:  # every problem goes to the page; the worker lives on
            if future is not None and not future.done():
                future.set_exception(e)
                return None
            text = str(e) if isinstance(e, (ChainruleError, ValueError)) else \
                f"{type(e).__name__}: {e}"
            self.playing = False
            self.error(text, where=kind or "message")
        return None

    # ---- building ---------------------------------------------------------------------------
    def _configure(self, raw):
        settings = settings_.validate(raw)
        key = {k: settings[k] for k in ("dataset", "points", "noise", "test_fraction", "upload",
                                        "target", "seed", "fx", "fy")}
        self.playing = False
        if key != self._data_key or self.data is None:
            self.data = None
            self._data_key = None
            if settings["dataset"] == "csv":
                self.data = self.uploads.load(settings["upload"], settings["target"],
                                              settings["test_fraction"], settings["seed"],
                                              settings["fx"], settings["fy"])
            else:
                self.data = data_.builtin(settings["dataset"], settings["points"],
                                          settings["noise"], settings["test_fraction"],
                                          settings["seed"])
            self._data_key = key
        if self.data.task == "regression" and settings["loss"] == "cross_entropy":
            raise InvalidValueError("cross-entropy needs classes, but this data set is a "
                                    "regression task: choose squared error or MSE")
        self.settings = settings
        self._build()

    def _build(self):
        s, d = self.settings, self.data
        n_in = d.X_train.shape[1]
        sizes = [n_in, *s["hidden"], d.k]
        rng = backend.rng(s["seed"])
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            act = "identity" if last and d.task == "regression" else (
                "softmax" if last else s["activations"][i])
            init = "he" if act in ("relu", "leaky_relu") else "xavier"
            layers.append(Dense(a, b, init=init, seed=rng))
            layers.append(make_activation(act))
            if s["dropout"] and not last:
                layers.append(Dropout(s["dropout"], seed=rng))
        self.net = Sequential(layers)
        self.loss = losses_.get(s["loss"])
        self.optimizer = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
                          "adagrad": optim.AdaGrad, "rmsprop": optim.RMSProp}[s["optimizer"]](
                              s["lr"])
        self.y_train = self._targets(d.y_train)
        self.y_test = self._targets(d.y_test)
        self.epoch, self.logs, self.playing, self.curve = 0, {}, False, []
        self.put(self._ready())
        self.send_update()

    def _targets(self, y):
        """Targets as the loss takes them: one-hot rows for squared error on classes."""
        if self.data.task == "classification" and not isinstance(self.loss, losses_.CrossEntropy):
            return np.eye(self.data.k, dtype=np.float32)[y]
        return y

    def _ready(self):
        d = self.data
        shown = {}
        for split, X, y in (("train", d.X_train, d.y_train), ("test", d.X_test, d.y_test)):
            index = np.arange(len(X))
            if len(X) > data_.SHOWN_POINTS:
                index = np.sort(np.random.default_rng(0).choice(len(X), data_.SHOWN_POINTS,
                                                                replace=False))
            pts = X[index][:, [d.fx, d.fy]]
            shown[split] = {"x": np.round(pts[:, 0], 5).tolist(),
                            "y": np.round(pts[:, 1], 5).tolist(),
                            "label": (y[index].tolist() if d.task == "classification"
                                      else np.round(y[index].astype(float), 5).tolist()),
                            "index": index.tolist()}
        both = np.concatenate([d.y_train, d.y_test]).astype(float)
        return {"type": "ready", "settings": self.settings, "task": d.task,
                "classes": d.classes, "features": d.features, "fx": d.fx, "fy": d.fy,
                "bounds": d.bounds(), "sizes": self.net.sizes,
                "activations": self.settings["activations"],
                "points": shown, "target_range": [float(both.min()), float(both.max())],
                "n_train": len(d.X_train), "n_test": len(d.X_test),
                "grid": GRID, "neuron_grid": NEURON_GRID,
                "onnx": _onnx_available()}

    # ---- training ---------------------------------------------------------------------------
    def _train(self, single):
        s, d = self.settings, self.data
        batch = None if s["batch_size"] == "full" else min(s["batch_size"], len(d.X_train))
        validation = (d.X_test, self.y_test) if len(d.X_test) else None
        try:
            history = self.net.fit(d.X_train, self.y_train, loss=self.loss,
                                   optimizer=self.optimizer, epochs=1 if single else 10**9,
                                   batch_size=batch, seed=[s["seed"], self.epoch],
                                   validation_data=validation,
                                   callbacks=[_Control(self, single)], l1=s["l1"], l2=s["l2"])
        except (_Closed, KeyboardInterrupt):
            raise
        except Exception as e:
            self.playing = False
            self.send_update()
            self.error(str(e))
            return
        if history.stop_reason == "diverged":
            self.playing = False
            self.send_update()
            self.error(f"training stopped at epoch {self.epoch + 1}: the loss became NaN or "
                       f"infinite. The learning rate {s['lr']:g} is probably too high for "
                       f"{s['optimizer']}; try {s['lr'] / 10:g}. The network keeps its last "
                       f"finite weights.")
            return
        self.send_update()

    def send_update(self):
        """Metrics as JSON, maps and weights as one float32 frame; at most RATE a second."""
        self.last_update = time.monotonic()
        message, binary = self.snapshot()
        self.put(message, binary)

    def snapshot(self):
        d, net = self.data, self.net
        metrics = {"loss": self.logs.get("loss"), "val_loss": self.logs.get("val_loss")}
        if d.task == "classification":
            for key, X, y in (("acc", d.X_train, d.y_train), ("val_acc", d.X_test, d.y_test)):
                if len(X):
                    rows = slice(None) if len(X) <= ACCURACY_ROWS else slice(0, ACCURACY_ROWS)
                    pred = net.predict(X[rows]).argmax(axis=1)
                    metrics[key] = float((pred == y[rows]).mean())
        if self.epoch == 0:  # before training: the losses of the initial weights
            from ..training.loop import evaluate_loss

            metrics["loss"] = float(evaluate_loss(net, self.loss, d.X_train, self.y_train)[0])
            if len(d.X_test):
                metrics["val_loss"] = float(evaluate_loss(net, self.loss, d.X_test,
                                                          self.y_test)[0])
        metrics = {k: (v if v is None or math.isfinite(v) else None) for k, v in metrics.items()}
        grid_out = self._grid_outputs(GRID)
        if d.task == "classification" and d.k == 2:
            main = grid_out[-1][:, 1:2]
        elif d.task == "classification":
            main = np.stack([grid_out[-1].argmax(axis=1), grid_out[-1].max(axis=1)], axis=1)
        else:
            main = grid_out[-1][:, :1]
        hidden = sum(self.settings["hidden"])
        neuron_maps = []
        if hidden <= NEURON_MAPS_MAX and hidden:
            small = self._grid_outputs(NEURON_GRID)[:-1]
            neuron_maps = [out[:, j] for out in small for j in range(out.shape[1])]
        dense = [layer for layer in net.layers if isinstance(layer, Dense)]
        weights = [np.concatenate([layer.weight.value.ravel(), layer.bias.value])
                   for layer in dense]
        channels = main.shape[1]
        header = np.array([GRID, channels, len(neuron_maps), NEURON_GRID,
                           sum(w.size for w in weights)], dtype=np.float32)
        # main is (cells, channels) with cells row-major, row 0 at the smallest y
        parts = [header, main.T.ravel()] + neuron_maps + weights
        binary = np.concatenate([np.asarray(p, dtype=np.float32).ravel() for p in parts])
        message = {"type": "update", "epoch": self.epoch, "playing": self.playing,
                   "metrics": metrics, "losses": self.curve[-2000:]}
        self.curve = []
        return message, binary.tobytes()

    def _grid_outputs(self, n):
        """The output of every activation of the Dense layers on an n x n grid.

        Row 0 of the grid is the smallest y (the page draws it at the bottom); the
        features not shown are held at 0, the mean of standardised columns.
        """
        d = self.data
        xmin, xmax, ymin, ymax = d.bounds()
        xs = np.linspace(xmin, xmax, n, dtype=np.float32)
        ys = np.linspace(ymin, ymax, n, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)  # gy[r] is the r-th y value
        X = np.zeros((n * n, d.X_train.shape[1]), dtype=self.net.dtype)
        X[:, d.fx], X[:, d.fy] = gx.ravel(), gy.ravel()
        outs, x = [], X
        for layer in self.net.layers:
            x = layer.forward(x, False)
            if type(layer) in NAMES:  # an activation: the outputs of a layer of neurons
                outs.append(np.asarray(x))
        return outs

    # ---- trace and export -------------------------------------------------------------------
    def _trace(self, message):
        from ..trace import trace

        d = self.data
        split = message.get("split", "train")
        X, y = (d.X_train, self.y_train) if split == "train" else (d.X_test, self.y_test)
        index = message.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(X):
            raise InvalidValueError(f"no {split} example number {index!r}")
        net, optimizer = copy.deepcopy(self.net), copy.deepcopy(self.optimizer)
        record = trace(net, self.loss, X[index:index + 1], y[index:index + 1], optimizer)
        layers, count = [], 0
        for step in record.layers:
            neurons = [{"name": n.name, "net": float(n.net[0]), "out": float(n.out[0]),
                        "delta": float(n.delta[0])} for n in step.neurons]
            params = []
            for p in step.parameters:
                if count >= TRACE_ROWS_MAX:
                    break
                params.append({"name": p.name, "kind": p.kind, "old": float(p.old),
                               "grad": float(p.grad), "new": float(p.new),
                               "change": float(p.change)})
                count += 1
            layers.append({"number": step.number, "activation": step.activation,
                           "neurons": neurons, "parameters": params})
        total = sum(len(step.parameters) for step in record.layers)
        notes = []
        if self.settings["l1"] or self.settings["l2"]:
            notes.append("cr.trace shows the loss without the L1/L2 penalty terms that "
                         "training adds")
        if self.settings["dropout"]:
            notes.append("with dropout, this step drew its own random mask")
        self.put({"type": "trace", "split": split, "index": index,
                  "x": X[index].astype(float).tolist(),
                  "target": np.asarray(y[index]).astype(float).tolist(),
                  "loss": record.E_total, "loss_after": record.error_after,
                  "optimizer": record.optimizer, "lr": record.lr, "layers": layers,
                  "parameters_shown": count, "parameters_total": total, "notes": notes,
                  "text": record.to_text(digits=6, max_neurons=4)})

    def _export(self, fmt):
        """The bytes of the model file, the ONNX file or the train config."""
        if self.net is None:
            raise InvalidValueError("nothing to export yet: send settings first")
        if fmt == "toml":
            from .export import train_config

            return train_config(self.settings, self.data, self.epoch).encode()
        path = os.path.join(self.uploads.dir, f"export-{secrets.token_hex(8)}.{fmt}")
        try:
            if fmt == "safetensors":
                d = self.data
                self.net.save(path, metadata={
                    "dataset": d.name, "task": d.task, "features": d.features,
                    "classes": d.classes, "scaling": d.scaling, "seed": self.settings["seed"],
                    "epochs": self.epoch, "optimizer": repr(self.optimizer),
                    "playground": json.dumps(self.settings)})
            elif fmt == "onnx":
                from ..io.onnx_export import export_onnx

                export_onnx(self.net, path)
            else:
                raise InvalidValueError(f"unknown export format {fmt!r}: safetensors, onnx "
                                        f"or toml")
            with open(path, "rb") as f:
                return f.read()
        finally:
            data_._remove(path)


def _finite(value):
    return value if value is not None and math.isfinite(value) else None


def _onnx_available():
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True
