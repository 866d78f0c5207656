"""Model files: one ``.safetensors`` file holding a network's arrays and its description.

A file is data, never code (DESIGN principle 7). The arrays are safetensors tensors named
``layers.<index>.<parameter>`` (``layers.0.weight``), and likewise ``layers.<index>.<buffer>``
for the non-trainable state evaluation needs (``layers.1.running_mean``); everything else
lives as JSON strings in the safetensors metadata header:

====================  ===============================================================
``format``            ``"chainrule"``: tells our files apart from other safetensors files
``format_version``    ``"1"``: bumped when the layout changes, so old code refuses new files
``architecture``      ``[{"type": "Dense", "config": {...}}, ...]``, one entry per layer
``dtype``             ``"float32"`` or ``"float64"``, the dtype of every tensor
``trainable``         ``{"layers.0.bias": false, ...}``: which parameters are frozen
``versions``          ``{"chainrule": ..., "numpy": ..., "python": ...}`` that wrote the file
``user``              the ``metadata`` dict given to :func:`save`
====================  ===============================================================

Loading rebuilds each layer from :data:`LAYERS`, an explicit table of our own classes:
a type name read from a file is only ever a key into that table, never imported or looked
up as an attribute, so a file cannot make chainrule run code. Nothing is unpickled.
"""
import hashlib
import inspect
import json
import os
import platform
import secrets
import struct

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from .. import backend
from ..errors import (ChainruleError, InvalidValueError, MetadataError, ModelFileError,
                      ModelFileNotFoundError)
from ..layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Identity, LeakyReLU,
                      MaxPool2D, ReLU, Sigmoid, Softmax, Tanh)
from ..network import Sequential

FORMAT = "chainrule"
FORMAT_VERSION = 1

# The only classes a model file can name. Add a layer here when it gains a config().
LAYERS = {cls.__name__: cls for cls in (Dense, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Identity,
                                         Dropout, BatchNorm, Conv2D, MaxPool2D, AvgPool2D,
                                         Flatten)}

# Header keys every chainrule file carries (``format`` is checked on its own, first).
REQUIRED_KEYS = ("format_version", "architecture", "dtype", "trainable", "user")

# Tensors of a checkpoint's training state (optimiser buffers...) carry this prefix.
CHECKPOINT_PREFIX = "checkpoint."

# safetensors itself refuses headers above 100 MB; a larger length means garbage bytes.
MAX_HEADER_BYTES = 100_000_000


# ---- saving -----------------------------------------------------------------------------

def save(net, path, metadata=None, checkpoint=None):
    """Write ``net`` to ``path`` as one ``.safetensors`` file, atomically.

    The bytes go to a temporary file in the same directory, are flushed to disk, and only
    then replace ``path``: a crash or error mid-save leaves any earlier file untouched,
    which is what makes periodic checkpoints safe. The parent directory must exist.

    Args:
        net: a :class:`chainrule.Sequential`.
        path: where to write, usually ending in ``.safetensors``.
        metadata: a dict of JSON values (str keys; numbers, strings, lists, dicts, bools,
            None) stored with the model and returned by :func:`read_metadata`.
        checkpoint: training state to resume from, ``{"arrays": {name: array}, "state":
            JSON dict}``; stored as tensors ``checkpoint.<name>`` and a ``checkpoint``
            header entry. The file stays a model that :func:`load` reads.
    """
    path = os.fspath(path)
    tensors = _tensors_to_save(net)
    header = _header(net, metadata)
    if checkpoint is not None:
        for name, array in checkpoint["arrays"].items():
            tensors[CHECKPOINT_PREFIX + name] = np.array(backend.to_numpy(array), order="C")  # 0-d stays 0-d
        header["checkpoint"] = _user_json(checkpoint["state"])
    header["checksum"] = _checksum(tensors)
    data = safetensors.numpy.save(tensors, metadata=header)
    _write_atomic(path, data)


def _tensors_to_save(net):
    """The parameters and buffers as contiguous NumPy arrays, named ``layers.<i>.<name>``.

    Refuses NaN/inf: :func:`load` rejects such a file, so writing one would replace a
    good checkpoint with one that cannot be read back.
    """
    for i, layer in enumerate(net.layers):
        if LAYERS.get(type(layer).__name__) is not type(layer):
            raise ModelFileError(
                f"cannot save layer {i} ({type(layer).__name__}): model files hold only "
                f"chainrule's own layers: {', '.join(sorted(LAYERS))}")
    dtype = net.dtype
    tensors = {}
    for key, array in _named_arrays(net.layers).items():
        value = backend.to_numpy(array)
        if value.dtype != dtype:
            raise ModelFileError(f"cannot save: {key} is {value.dtype} but the network is "
                                 f"{dtype}; convert it with net.astype(...)")
        if not np.all(np.isfinite(value)):
            raise InvalidValueError(f"cannot save: {key} contains NaN or inf; the network "
                                    f"has diverged (save the last good weights instead)")
        tensors[key] = np.ascontiguousarray(value)
    return tensors


def _named_arrays(layers):
    """Every array a file holds, by tensor name: each layer's parameters, then its buffers."""
    arrays = {}
    for i, layer in enumerate(layers):
        for p in layer.parameters():
            arrays[f"layers.{i}.{p.name}"] = p.value
        for name, value in layer.buffers().items():
            arrays[f"layers.{i}.{name}"] = value
    return arrays


def _header(net, metadata):
    """The safetensors metadata: a dict of str -> str, JSON where the value is structured."""
    from .. import __version__  # late: chainrule/__init__ may import io one day

    architecture = [{"type": type(layer).__name__, "config": layer.config()}
                    for layer in net.layers]
    trainable = {f"layers.{name}": bool(p.trainable) for name, p in net.named_parameters()}
    versions = {"chainrule": __version__, "numpy": np.__version__,
                "python": platform.python_version(), "blas": _blas()}
    return {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "architecture": json.dumps(architecture),
        "dtype": str(net.dtype),
        "trainable": json.dumps(trainable),
        "versions": json.dumps(versions),
        "user": _user_json(metadata),
    }


def _blas():
    """The BLAS NumPy was built with ("scipy-openblas 0.3.31"): float results depend on it."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:  # older NumPy: no dict form of the build configuration
        return "unknown"


def _user_json(metadata):
    """``metadata`` as strict JSON (no NaN), or a :class:`MetadataError` saying why not."""
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise MetadataError(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        return json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MetadataError(
            f"metadata must hold only JSON values (str keys; str, int, float, bool, None, "
            f"lists and dicts of them; no NaN or inf): {exc}") from exc


def _checksum(tensors):
    """A hash of every tensor's name, dtype, shape and bytes: safetensors checks offsets and
    sizes, not values, so without it a flipped byte would load as a changed weight."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return "blake2b-128:" + digest.hexdigest()


def _write_atomic(path, data):
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``.

    ``os.replace`` is atomic within one directory, so readers see either the old file or
    the new one, never half of one. The temporary file is created with mode 0o666 and so
    gets the usual umask permissions (``mkstemp`` would make it owner-only).
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ModelFileNotFoundError(f"cannot save to {path!r}: the directory {directory!r} "
                                     f"does not exist; create it first")
    if os.path.isdir(path):
        raise ModelFileError(f"cannot save to {path!r}: it is a directory")
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    _fsync_directory(directory)


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); not possible, nor needed, on Windows."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- loading ----------------------------------------------------------------------------

def load(path):
    """Rebuild the network saved at ``path`` (a model or a checkpoint); see :func:`_load`."""
    return _load(os.fspath(path))[0]


def load_checkpoint(path):
    """The network and the training state ``{"arrays": ..., "state": ...}`` of a checkpoint."""
    path = os.fspath(path)
    net, header, arrays = _load(path)
    if "checkpoint" not in header:
        raise _error(path, "is a model without training state, not a checkpoint; checkpoints "
                           "are written by callbacks.ModelCheckpoint during fit")
    return net, {"arrays": arrays, "state": _json_value(path, header, "checkpoint", dict)}


def _load(path):
    """Rebuild the network saved at ``path``; its ``metadata`` attribute holds the user dict.

    Every problem with the file (missing, truncated, not safetensors, not chainrule's,
    newer format, malformed header, missing/extra/misshapen/NaN tensors) raises a
    :class:`~chainrule.errors.ModelFileError` naming the file and the problem.
    """
    data = _read_bytes(path)
    header = _chainrule_header(path, _safetensors_header(path, data))
    dtype = _header_dtype(path, header)
    tensors = _load_tensors(path, data)
    checksum = _checksum(tensors)  # checked last, after the checks that say more
    extra = {key[len(CHECKPOINT_PREFIX):]: tensors.pop(key) for key in list(tensors)
             if key.startswith(CHECKPOINT_PREFIX)}
    layers = [_build_layer(path, i, entry, dtype)
              for i, entry in enumerate(_architecture(path, header))]
    _fill_parameters(path, layers, tensors, dtype)
    _apply_trainable(path, layers, _json_value(path, header, "trainable", dict))
    try:
        net = Sequential(layers)
    except ChainruleError as exc:
        raise _error(path, f"the architecture does not fit together: {exc}") from exc
    net.metadata = _json_value(path, header, "user", dict)
    if "checksum" in header and header["checksum"] != checksum:
        raise _error(path, "is corrupt: its tensor data does not match the checksum in its "
                           "header (a changed or damaged byte); use a good copy of the file")
    return net, header, extra


def read_metadata(path):
    """The ``metadata`` dict stored by :func:`save`, without building the network."""
    path = os.fspath(path)
    data = _read_bytes(path)
    header = _chainrule_header(path, _safetensors_header(path, data))
    return _json_value(path, header, "user", dict)


def _error(path, problem):
    return ModelFileError(f"model file {path!r}: {problem}")


def _read_bytes(path):
    """The whole file, read once: every later check looks at these same bytes."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError as exc:
        raise ModelFileNotFoundError(f"model file {path!r} does not exist") from exc
    except IsADirectoryError as exc:
        raise _error(path, "is a directory, not a model file") from exc
    except OSError as exc:
        raise _error(path, f"cannot be read: {exc}") from exc


def _safetensors_header(path, data):
    """The JSON header of safetensors bytes: 8-byte little-endian length, then the JSON.

    Parsed here because ``safetensors.numpy.load`` returns the tensors but not the
    metadata; checking the lengths first also tells a truncated file from garbage.
    """
    if not data:
        raise _error(path, "is empty (0 bytes): not a model, or cut off while being copied")
    if len(data) < 8:
        raise _error(path, f"is truncated or not a safetensors file: only {len(data)} bytes")
    (size,) = struct.unpack("<Q", data[:8])
    if size == 0 or size > MAX_HEADER_BYTES:
        raise _error(path, "is not a safetensors model file (its first 8 bytes are not a "
                           "header length)")
    raw = data[8:8 + size]
    if not raw.lstrip().startswith(b"{"):
        raise _error(path, "is not a safetensors model file (no JSON header)")
    if len(raw) < size:
        raise _error(path, f"is truncated: the header needs {size} bytes but only "
                           f"{len(raw)} remain")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(path, f"is not a valid safetensors file: its header is not JSON ({exc})"
                     ) from exc
    if not isinstance(header, dict):
        raise _error(path, "is not a valid safetensors file: its header is not a JSON object")
    _check_complete(path, header, len(data) - 8 - size)
    return header


def _check_complete(path, header, data_bytes):
    """Tell a cut-off file apart from other damage: do the tensors fit in the bytes left?"""
    ends = [entry["data_offsets"][1] for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict)
            and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2
            and isinstance(entry["data_offsets"][1], int)]
    needed = max(ends, default=0)
    if needed > data_bytes:
        raise _error(path, f"is truncated: its tensors need {needed} bytes of data but only "
                           f"{data_bytes} are there")


def _chainrule_header(path, header):
    """The metadata of a chainrule file, after checking it is one and not from the future."""
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _error(path, "is a safetensors file but not a chainrule model (its header has "
                           "no format='chainrule'); it was written by another program")
    version = meta.get("format_version")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise _error(path, f"has a malformed header: format_version {version!r} is not "
                           f"an integer") from None
    if version > FORMAT_VERSION:
        raise _error(path, f"was written by a newer chainrule (format {version}); this one "
                           f"reads format {FORMAT_VERSION} at most: upgrade chainrule")
    if version < 1:
        raise _error(path, f"has a malformed header: format_version {version} is not valid")
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise _error(path, f"has a malformed header: missing {', '.join(missing)}")
    return meta


def _json_value(path, meta, key, kind):
    """Decode one JSON-valued header entry and check its top-level type."""
    try:
        value = json.loads(meta[key])
    except (TypeError, json.JSONDecodeError) as exc:
        raise _error(path, f"has a malformed header: {key!r} is not valid JSON ({exc})") from exc
    if not isinstance(value, kind):
        raise _error(path, f"has a malformed header: {key!r} should be a JSON "
                           f"{'object' if kind is dict else 'list'}, got {type(value).__name__}")
    return value


def _header_dtype(path, meta):
    try:
        return backend.dtype(meta["dtype"])
    except ChainruleError as exc:
        raise _error(path, f"has a malformed header: dtype {meta['dtype']!r} is not one of "
                           f"{', '.join(backend.DTYPES)}") from exc


def _load_tensors(path, data):
    """All tensors, through safetensors itself (which validates offsets and dtypes)."""
    try:
        return safetensors.numpy.load(data)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise _error(path, f"is not a valid safetensors file: {exc}") from exc


def _architecture(path, meta):
    """The layer list, each entry checked to be {"type": str, "config": dict}."""
    architecture = _json_value(path, meta, "architecture", list)
    for i, entry in enumerate(architecture):
        if not (isinstance(entry, dict) and isinstance(entry.get("type"), str)
                and isinstance(entry.get("config", {}), dict)):
            raise _error(path, f"has a malformed header: architecture entry {i} should be "
                               f'{{"type": <name>, "config": {{...}}}}, got {entry!r:.200}')
    return architecture


def _build_layer(path, index, entry, dtype):
    """A layer with blank parameters, from its table entry and stored config.

    Constructors that take ``dtype`` get the file's dtype, and ones that take ``init``
    get zeros, so rebuilding draws nothing from the global random generator (that would
    shift every later seeded draw in the user's program). The real values come next.
    """
    name = entry["type"]
    cls = LAYERS.get(name)
    if cls is None:
        raise _error(path, f"layer {index} has unknown type {name!r}; model files may use "
                           f"only: {', '.join(sorted(LAYERS))}")
    kwargs = dict(entry.get("config", {}))
    accepted = inspect.signature(cls).parameters
    if "dtype" in accepted:
        kwargs["dtype"] = str(dtype)
    if "init" in accepted:
        kwargs["init"] = "zeros"
    try:
        return cls(**kwargs)
    except MemoryError:
        raise _error(path, f"layer {index} ({name}) declares a size too large to build: "
                           f"{entry.get('config', {})!r:.200}") from None
    except (ChainruleError, TypeError, ValueError) as exc:
        raise _error(path, f"layer {index} ({name}) cannot be built from config "
                           f"{entry.get('config', {})!r:.200}: {exc}") from exc


def _fill_parameters(path, layers, tensors, dtype):
    """Copy each stored tensor into its parameter or buffer, checking names, shapes, values."""
    expected = _named_arrays(layers)
    missing = [key for key in expected if key not in tensors]
    if missing:
        raise _error(path, f"is missing tensor(s) {', '.join(missing)} that the "
                           f"architecture needs")
    extra = sorted(key for key in tensors if key not in expected)
    if extra:
        raise _error(path, f"has unexpected tensor(s) {', '.join(extra)} that no layer "
                           f"of the architecture uses")
    for i, layer in enumerate(layers):
        for param in layer.parameters():
            key = f"layers.{i}.{param.name}"
            param.value = _checked_tensor(path, key, tensors[key], param.shape, dtype)
            param.grad = backend.xp.zeros_like(param.value)
        for name, value in layer.buffers().items():
            key = f"layers.{i}.{name}"
            layer.set_buffer(name, _checked_tensor(path, key, tensors[key], value.shape, dtype))


def _checked_tensor(path, key, value, shape, dtype):
    """One tensor, as a fresh writable array on the backend, or the reason it is unusable."""
    if tuple(value.shape) != tuple(shape):
        raise _error(path, f"shape mismatch for {key!r}: the architecture expects "
                           f"{tuple(shape)} but the file holds {tuple(value.shape)}")
    if value.dtype != dtype:
        raise _error(path, f"dtype mismatch for {key!r}: the header says {dtype} but the "
                           f"tensor is {value.dtype}")
    if not np.all(np.isfinite(value)):
        raise _error(path, f"tensor {key!r} contains NaN or inf; the saved network had "
                           f"diverged or the file is corrupt")
    return backend.asarray(np.array(value, copy=True), dtype)


def _apply_trainable(path, layers, trainable):
    """Mark frozen parameters (e.g. the notes' fixed biases) as the file says."""
    params = {f"layers.{i}.{p.name}": p for i, layer in enumerate(layers)
              for p in layer.parameters()}
    for key, flag in trainable.items():
        if key not in params or not isinstance(flag, bool):
            raise _error(path, f"has a malformed header: 'trainable' entry {key!r}: {flag!r} "
                               f"should name a tensor of the file and be true or false")
        params[key].trainable = flag

