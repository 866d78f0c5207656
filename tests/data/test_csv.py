"""CSV loading: features, target mapping, split, and errors that name line and column."""
import numpy as np
import pytest

from chainrule.data import load, load_csv, read_csv_features
from chainrule.errors import DataError, InvalidValueError

IRIS_LIKE = """\
sepal,petal,species
5.1,1.4,setosa
4.9,1.3,setosa
6.3,4.7,versicolor
5.8,4.1,versicolor
7.1,5.9,virginica
6.5,5.5,virginica
5.0,1.5,setosa
6.0,4.5,versicolor
6.9,5.7,virginica
5.4,1.7,setosa
"""


@pytest.fixture
def iris(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text(IRIS_LIKE)
    return path


def rows_of(X, y, classes):
    """Set of (features..., label) so a shuffled split can be compared with the file."""
    return {(*map(float, x), classes[t]) for x, t in zip(X, y)}


def test_string_target_becomes_sorted_class_indices(iris):
    data = load_csv(iris, "species", test_fraction=0.3, seed=1)
    X_train, y_train, X_test, y_test = data
    assert data.classes == ["setosa", "versicolor", "virginica"]
    assert data.features == ("sepal", "petal")
    assert X_train.shape == (7, 2) and X_test.shape == (3, 2)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert sorted(y_test.tolist()) == [0, 1, 2]  # stratified: one of each in the test set
    expected = set()
    for line in IRIS_LIKE.splitlines()[1:]:
        a, b, label = line.split(",")
        expected.add((float(np.float32(a)), float(np.float32(b)), label))
    got = rows_of(X_train, y_train, data.classes) | rows_of(X_test, y_test, data.classes)
    assert got == expected


def test_target_by_index_and_seeded_split(iris):
    a = load_csv(iris, -1, seed=3)
    b = load_csv(iris, 2, seed=3)
    for x, z in zip(a, b):
        assert np.array_equal(x, z)
    c = load_csv(iris, 2, seed=4)
    assert not all(np.array_equal(x, z) for x, z in zip(a, c))


def test_numeric_targets(tmp_path):
    ints = tmp_path / "ints.csv"
    ints.write_text("x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    data = load_csv(ints, "label", test_fraction=0.2)
    assert data.classes is None
    assert data[1].dtype == np.int64
    assert np.all(data[0][:, 0] % 2 == data[1])

    reals = tmp_path / "reals.csv"
    reals.write_text("x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(10)))
    X_train, y_train, X_test, y_test = load_csv(reals, "y", dtype="float64")
    assert y_train.dtype == np.float64
    assert np.allclose(y_train, X_train[:, 0] * 0.5)


def test_no_test_set(iris):
    X_train, y_train, X_test, y_test = load_csv(iris, "species", test_fraction=0)
    assert X_train.shape == (10, 2) and X_test.shape == (0, 2) and y_test.shape == (0,)
    assert X_train[0].tolist() == [pytest.approx(5.1), pytest.approx(1.4)]  # file order


def test_registry_csv(iris):
    X_train, y_train, X_test, y_test = load("csv", path=str(iris), target="species",
                                            dtype="float64")
    assert X_train.dtype == np.float64 and len(y_train) + len(y_test) == 10


def test_blank_lines_quotes_and_bom(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('\ufeff"a","b","t"\n\n1," 2 ",yes\n\n3,4,no\n5,6,yes\n', encoding="utf-8")
    data = load_csv(path, "t", test_fraction=0)
    assert data.features == ("a", "b")
    assert data[0].tolist() == [[1, 2], [3, 4], [5, 6]]
    assert data.classes == ["no", "yes"] and data[1].tolist() == [1, 0, 1]


def test_non_numeric_feature_names_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,t\n1,2,x\n3,oops,y\n")
    with pytest.raises(DataError) as e:
        load_csv(path, "t")
    msg = str(e.value)
    assert str(path) in msg and "line 3" in msg and "'b'" in msg and "'oops'" in msg


def test_empty_and_nan_cells(tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("a,b,t\n1,,x\n")
    with pytest.raises(DataError, match="line 2, column 'b'.*empty cell"):
        load_csv(path, "t")
    path.write_text("a,b,t\n1,nan,x\n")
    with pytest.raises(DataError, match="line 2, column 'b'.*finite"):
        load_csv(path, "t")
    path.write_text("a,t\n1,x\n2,\n")
    with pytest.raises(DataError, match="line 3, column 't'.*target is empty"):
        load_csv(path, "t")


def test_missing_target_lists_columns(iris):
    with pytest.raises(DataError) as e:
        load_csv(iris, "label")
    msg = str(e.value)
    assert str(iris) in msg and "'label'" in msg and "sepal, petal, species" in msg
    with pytest.raises(DataError, match="index 3 is out of range.*3 columns"):
        load_csv(iris, 3)


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="empty") as e:
        load_csv(empty, "t")
    assert str(empty) in str(e.value)
    header = tmp_path / "header.csv"
    header.write_text("a,t\n\n")
    with pytest.raises(DataError, match="only a header"):
        load_csv(header, "t")


def test_ragged_row(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,t\n1,2,x\n1,2\n")
    with pytest.raises(DataError, match="line 3: expected 3 fields.*found 2"):
        load_csv(path, "t")


def test_missing_file_and_bad_fraction(tmp_path, iris):
    with pytest.raises(DataError, match="no such file"):
        load_csv(tmp_path / "none.csv", "t")
    with pytest.raises(InvalidValueError, match="test_fraction"):
        load_csv(iris, "species", test_fraction=1.0)


def test_read_csv_features(iris, tmp_path):
    X = read_csv_features(iris, columns=["petal", "sepal"], dtype="float64")
    assert X.shape == (10, 2) and X.dtype == np.float64
    assert X[0].tolist() == [1.4, 5.1]
    path = tmp_path / "x.csv"
    path.write_text("u,v\n1,2\n3,4\n")
    assert read_csv_features(path).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(DataError, match="line 2, column 'species'"):
        read_csv_features(iris)  # the label column is not a number
    with pytest.raises(DataError, match="no column 'w'.*u, v"):
        read_csv_features(path, columns=["w"])


def test_duplicate_column_names(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n")
    with pytest.raises(DataError, match="line 1: column names must be unique.*'a'"):
        load_csv(path, "b")
