"""Checkpoints: everything a run needs to continue bit for bit.

A checkpoint is a model file (``cr.load`` reads it) plus the training state: optimiser
buffers, every random generator's state (shuffling, dropout masks, augmentation, the
global one), the epoch and iteration counters, the History, the callbacks' state, and a
fingerprint of the data so that a run is not resumed on other data by mistake.
"""
import hashlib
import math

import numpy as np

from .. import backend
from ..errors import InvalidValueError, ModelFileError


def _generators(setup):
    """(name, Generator) of every random source a run draws from."""
    found = [("shuffle", setup.rng), ("global", backend.rng())]
    for i, layer in enumerate(setup.net.layers):
        rng = getattr(layer, "_rng", None)
        if isinstance(rng, np.random.Generator):
            found.append((f"layer.{i}", rng))
    return found


def data_hash(*arrays):
    """A short hash of the bytes of ``arrays`` (training inputs and targets)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(np.ascontiguousarray(backend.to_numpy(array)).view(np.uint8))
    return digest.hexdigest()


def fingerprint(setup):
    """Shape, dtype and a hash of the training data (computed once per fit)."""
    if setup.data_fingerprint is None:
        setup.data_fingerprint = {"samples": int(len(setup.X)), "dtype": str(setup.X.dtype),
                                  "features": list(setup.X.shape[1:]),
                                  "hash": data_hash(setup.X, setup.target)}
    return setup.data_fingerprint


def capture(state):
    """The training state of a running fit: ``{"arrays": {...}, "state": {...}}``."""
    setup, history = state.setup, state.history
    params = setup.net.parameters()
    optimizer = setup.optimizer.state_dict(params)
    arrays = {f"optimizer.{k}": v for k, v in optimizer["arrays"].items()}
    callbacks = {}
    for i, cb in enumerate(setup.callbacks):
        if hasattr(cb, "state_dict"):
            plain = {}
            for key, value in cb.state_dict().items():
                if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
                    arrays[f"callback.{i}.{key}"] = value
                else:
                    plain[key] = _finite(value)
            callbacks[str(i)] = {"type": type(cb).__name__, "state": plain}
    generators = {name: rng.bit_generator.state for name, rng in _generators(setup)}
    if setup.augment is not None and hasattr(setup.augment, "state"):
        generators["augment"] = setup.augment.state()
    epochs = {k: list(v) for k, v in history.items()}
    if len(epochs["loss"]) < state.epoch:  # saved from on_epoch_end: this epoch's logs are
        for key, value in state.logs.items():  # recorded in History after the callbacks
            epochs.setdefault(key, []).append(value)
    return {"arrays": arrays, "state": {
        "epoch": state.epoch, "iteration": state.iteration,
        "history": {k: [_finite(v) for v in values] for k, values in epochs.items()},
        "optimizer": {"type": type(setup.optimizer).__name__, "hyper": optimizer["hyper"]},
        "generators": _json_ints(generators), "callbacks": callbacks,
        "data": fingerprint(setup), "epochs": setup.epochs, "batch_size": setup.batch_size}}


def restore(state, path):
    """Load the checkpoint at ``path`` into the running fit's network, optimiser and state."""
    from ..io import load_checkpoint

    setup = state.setup
    saved_net, checkpoint = load_checkpoint(path)
    arrays, saved = checkpoint["arrays"], checkpoint["state"]
    _check_same_run(path, setup, saved_net, saved)
    for target, source in zip(_arrays(setup.net), _arrays(saved_net)):
        target[...] = source
    opt_arrays = {k[len("optimizer."):]: v for k, v in arrays.items() if k.startswith("optimizer.")}
    setup.optimizer.load_state_dict(setup.net.parameters(),
                                    {"hyper": saved["optimizer"]["hyper"], "arrays": opt_arrays})
    generators = saved["generators"]
    for name, rng in _generators(setup):
        if name in generators:
            rng.bit_generator.state = generators[name]
    if "augment" in generators and setup.augment is not None:
        setup.augment.set_state(generators["augment"])
    for key, entry in saved["callbacks"].items():
        cb = setup.callbacks[int(key)] if int(key) < len(setup.callbacks) else None
        if cb is None or type(cb).__name__ != entry["type"]:
            raise InvalidValueError(f"checkpoint {path}: callback {key} was a {entry['type']}; "
                                    f"pass the same callbacks to resume")
        prefix = f"callback.{key}."
        cb.load_state_dict({**entry["state"], **{k[len(prefix):]: v for k, v in arrays.items()
                                                 if k.startswith(prefix)}})
    state.epoch, state.iteration = saved["epoch"], saved["iteration"]
    for key, values in saved["history"].items():
        state.history[key] = [math.nan if v is None else v for v in values]


def _arrays(net):
    """Every parameter value and buffer of a network, in a fixed order."""
    return [p.value for p in net.parameters()] + [
        b for layer in net.layers for _, b in sorted(layer.buffers().items())]


def _check_same_run(path, setup, saved_net, saved):
    mine = [(type(l).__name__, l.config()) for l in setup.net.layers]
    theirs = [(type(l).__name__, l.config()) for l in saved_net.layers]
    if mine != theirs or saved_net.dtype != setup.net.dtype:
        raise ModelFileError(f"checkpoint {path} holds a different network:\n{saved_net!r}\n"
                             f"but fit was given:\n{setup.net!r}")
    if saved["optimizer"]["type"] != type(setup.optimizer).__name__:
        raise InvalidValueError(f"checkpoint {path} was trained with "
                                f"{saved['optimizer']['type']}, not {type(setup.optimizer).__name__}")
    if saved["data"] != fingerprint(setup):
        raise InvalidValueError(f"checkpoint {path} was trained on other data "
                                f"({saved['data']['samples']} samples, hash "
                                f"{saved['data']['hash']}); resume with the same X and y")
    if saved["batch_size"] != setup.batch_size:
        raise InvalidValueError(f"checkpoint {path} used batch_size={saved['batch_size']}, "
                                f"not {setup.batch_size}")


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_ints(value):
    """Generator states hold NumPy integers in places; JSON needs plain ones."""
    if isinstance(value, dict):
        return {k: _json_ints(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ints(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    return value
