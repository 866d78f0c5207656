"""Tables from CSV files: numeric features, one target column, a seeded split.

Only the standard library's ``csv`` module is used, so there is no pandas
dependency. The first line is the header. Every problem is reported with the
file, the line and the column, since the person reading the message has to go
and fix that cell.
"""
import csv
import math
import os

import numpy as np

from .. import backend
from ..errors import DataError, InvalidValueError


class CSVData(tuple):
    """``(X_train, y_train, X_test, y_test)`` that also remembers the columns.

    It unpacks like the 4-tuple every loader returns. ``classes`` holds the
    original labels of a non-numeric target, in class-index order
    (``classes[i]`` is the label mapped to ``i``), and is None for a numeric
    target; ``features`` holds the feature column names, in column order.
    """

    def __new__(cls, arrays, classes=None, features=()):
        self = super().__new__(cls, arrays)
        self.classes = classes
        self.features = tuple(features)
        return self


def load_csv(path, target, *, test_fraction=0.2, seed=0, dtype="float32", delimiter=","):
    """Read a CSV file with a header and split it into train and test sets.

    ``target`` is the label column's name, or its index (negative counts from
    the end). All other columns are features and must be numbers. The target:

    * non-numeric labels become class indices 0..k-1 in sorted order of the
      labels; the labels are kept in ``result.classes``;
    * whole numbers are used as int64 class indices as they are;
    * other numbers are regression targets in ``dtype``.

    The split is seeded and, for class targets, stratified when every class has
    enough rows. ``test_fraction=0`` puts every row in the training set.
    Returns a :class:`CSVData`.
    """
    dtype = backend.dtype(dtype)
    if isinstance(test_fraction, bool) or not isinstance(
            test_fraction, (int, float, np.integer, np.floating)) or not 0 <= test_fraction < 1:
        raise InvalidValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    header, rows = _read(path, delimiter)
    t = _column_index(path, header, target, "target column")
    feature_cols = [i for i in range(len(header)) if i != t]
    if not feature_cols:
        raise DataError(f"{path}: the target {header[t]!r} is the only column; expected at "
                        f"least one feature column beside it")

    X = _numbers(path, header, rows, feature_cols, dtype)
    y, classes = _target(path, header, rows, t, dtype)

    stratify = None
    if y.dtype.kind == "i":
        stratify = y if _can_stratify(y, test_fraction) else None
    if test_fraction == 0:
        X_train, y_train, X_test, y_test = X, y, X[:0], y[:0]
    else:
        try:
            from sklearn.model_selection import train_test_split  # slow import: when needed

            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=test_fraction, random_state=seed, stratify=stratify)
        except ValueError as e:  # e.g. one row and a test fraction
            raise DataError(f"{path}: cannot split {len(y)} rows with "
                            f"test_fraction={test_fraction} ({e})") from None
    return CSVData((X_train, y_train, X_test, y_test), classes,
                   [header[i] for i in feature_cols])


def read_csv_features(path, *, columns=None, dtype="float32", delimiter=","):
    """Read a CSV file with a header as a feature matrix ``(n_rows, n_columns)``.

    For prediction input: no target. ``columns`` picks columns by name or index,
    in the order given (e.g. the ``features`` a training file was read with);
    None takes every column.
    """
    dtype = backend.dtype(dtype)
    header, rows = _read(path, delimiter)
    if columns is None:
        cols = list(range(len(header)))
    else:
        cols = [_column_index(path, header, c, "column") for c in columns]
    return _numbers(path, header, rows, cols, dtype)


def _read(path, delimiter):
    """The header and the ``(line_number, fields)`` of every non-blank row."""
    path = os.fspath(path)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise InvalidValueError(f"delimiter must be one character such as ',' or ';', got "
                                f"{delimiter!r}")
    try:
        # utf-8-sig: a byte-order mark from spreadsheet exports is not part of a name
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header, rows = None, []
            for fields in reader:
                if not fields or all(not cell.strip() for cell in fields):
                    continue  # blank line
                if header is None:
                    header = [cell.strip() for cell in fields]
                    if "" in header:
                        raise DataError(f"{path}, line {reader.line_num}: column "
                                        f"{header.index('') + 1} of the header has no name; "
                                        f"every column needs one (a trailing "
                                        f"{delimiter!r} adds an empty column)")
                    twice = sorted({h for h in header if header.count(h) > 1})
                    if twice:
                        raise DataError(f"{path}, line {reader.line_num}: column names must "
                                        f"be unique, found {', '.join(map(repr, twice))} "
                                        f"more than once")
                    continue
                if len(fields) != len(header):
                    raise DataError(f"{path}, line {reader.line_num}: expected {len(header)} "
                                    f"fields (one per header column), found {len(fields)}")
                rows.append((reader.line_num, fields))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a CSV file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text file ({e})") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV ({e})") from None
    if header is None:
        raise DataError(f"{path}: the file is empty; expected a header line and data rows")
    if not rows:
        raise DataError(f"{path}: only a header line; expected data rows after it")
    return header, rows


def _column_index(path, header, column, what):
    """The index of a column given by name or (possibly negative) index."""
    if isinstance(column, (int, np.integer)) and not isinstance(column, bool):
        if -len(header) <= column < len(header):
            return int(column) % len(header)
        raise DataError(f"{path}: {what} index {column} is out of range; the file "
                        f"has {len(header)} columns: {', '.join(header)}")
    if column in header:
        return header.index(column)
    raise DataError(f"{path}: no {what} {column!r}; the columns are: "
                    f"{', '.join(header)}")


def _numbers(path, header, rows, cols, dtype):
    """The given columns of every row as a ``(n_rows, len(cols))`` float array."""
    out = np.empty((len(rows), len(cols)), dtype=dtype)
    with np.errstate(over="ignore"):  # a value too large for dtype: reported below
        for r, (line, fields) in enumerate(rows):
            for c, col in enumerate(cols):
                out[r, c] = _number(path, line, header[col], fields[col])
    if not np.all(np.isfinite(out)):
        r, c = np.argwhere(~np.isfinite(out))[0]
        line, fields = rows[r]
        raise DataError(_too_large(path, line, header[cols[c]], fields[cols[c]], out.dtype))
    return out


def _too_large(path, line, name, cell, dtype):
    return (f"{path}, line {line}, column {name!r}: {cell.strip()!r} is too large for "
            f"{dtype} (largest {np.finfo(dtype).max:.4g}); rescale the column or use "
            f"dtype='float64'")


def _number(path, line, name, cell):
    """One finite number, or an error naming the file, line and column."""
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        what = "an empty cell" if not text else repr(cell)
        raise DataError(f"{path}, line {line}, column {name!r}: expected a number, "
                        f"found {what}") from None
    if not math.isfinite(value):
        raise DataError(f"{path}, line {line}, column {name!r}: expected a finite number, "
                        f"found {cell!r}")
    return value


def _target(path, header, rows, col, dtype):
    """Target column -> (values, classes); see :func:`load_csv` for the rules."""
    name = header[col]
    cells = [(line, fields[col].strip()) for line, fields in rows]
    for line, text in cells:
        if not text:
            raise DataError(f"{path}, line {line}, column {name!r}: the target is empty")
    try:
        values = np.array([float(text) for _, text in cells])
    except ValueError:  # labels such as "setosa": map to class indices
        classes = sorted({text for _, text in cells})
        index = {label: i for i, label in enumerate(classes)}
        return np.array([index[text] for _, text in cells], dtype=np.int64), classes
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        line, text = cells[bad[0]]
        raise DataError(f"{path}, line {line}, column {name!r}: expected a finite target, "
                        f"found {text!r}")
    if np.all(values == np.round(values)):
        if np.all(np.abs(values) < 2.0 ** 63):
            return values.astype(np.int64), None
    with np.errstate(over="ignore"):
        cast = values.astype(dtype)
    bad = np.flatnonzero(~np.isfinite(cast))
    if bad.size:
        line, text = cells[bad[0]]
        raise DataError(_too_large(path, line, name, text, cast.dtype))
    return cast, None


def _can_stratify(y, test_fraction):
    """Whether a stratified split can put every class on both sides."""
    if test_fraction == 0:
        return False
    counts = np.bincount(y - y.min())
    k = np.count_nonzero(counts)
    n_test = math.ceil(test_fraction * len(y))
    return counts[counts > 0].min() >= 2 and k <= n_test <= len(y) - k
