import csv
import io

import pytest

from chainrule import cli


def tune(path, *extra):
    out = io.StringIO()
    args = cli.build_parser().parse_args(["tune", str(path), *extra])
    return cli.VERBS["tune"](args, out=out), out.getvalue()


def write(tmp_path, text):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    return path


def test_grid_search_ranks_every_combination(tmp_path):
    path = write(tmp_path, 'dataset = "moons"\nepochs = 20\nhidden = [4]\nbatch_size = "full"\n'
                           '[search]\nlr = [0.001, 0.5]\nactivation = ["tanh", "sigmoid"]\n')
    code, text = tune(path)
    assert code == 0 and "4 trials" in text
    with open(tmp_path / "exp.tune.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4]
    losses = [float(r["val_loss"]) for r in rows]
    assert losses == sorted(losses)
    assert {(r["lr"], r["activation"]) for r in rows} == {
        (lr, a) for lr in ("0.001", "0.5") for a in ("tanh", "sigmoid")}


def test_random_search_draws_the_asked_number(tmp_path):
    path = write(tmp_path, 'dataset = "moons"\nepochs = 2\n[search]\nmethod = "random"\n'
                           'trials = 3\nlr = [0.01, 0.02, 0.05, 0.1]\nhidden = [[4], [8], [16]]\n')
    code, text = tune(path, "--out", str(tmp_path / "r.csv"))
    assert code == 0 and "3 trials" in text
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 4


@pytest.mark.parametrize("text, message", [
    ("seed = 2\n", "no [search] table"),
    ("[search]\nmethod = \"grid\"\n", "lists no settings"),
    ("[search]\nlr = 0.1\n", "non-empty list"),
    ("[search]\nmethod = \"bayes\"\nlr = [0.1]\n", "'grid' or 'random'"),
    ("[search]\nlr = [-1.0]\n", "must be > 0"),
    ("[search]\nlearning_rate = [0.1]\n", "unknown setting"),
])
def test_bad_search_files(tmp_path, capsys, text, message):
    path = write(tmp_path, 'dataset = "moons"\nepochs = 1\n' + text)
    assert cli.main(["tune", str(path)]) == 2
    assert message in capsys.readouterr().err
