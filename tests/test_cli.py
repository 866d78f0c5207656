import csv
import io

import numpy as np
import pytest

import chainrule as cr
from chainrule import cli


def run(argv):
    out = io.StringIO()
    args = cli.build_parser().parse_args(argv)
    code = cli.VERBS[args.verb](args, out=out)
    return code, out.getvalue()


def test_train_default_reaches_95_percent_on_digits(tmp_path):
    model = tmp_path / "digits.safetensors"
    code, text = run(["train", "--out", str(model)])
    assert code == 0
    assert "epoch 20/20" in text
    accuracy = float(text.split("test accuracy: ")[1].split()[0])
    assert accuracy >= 0.95
    net = cr.load(model)
    _, _, X_test, y_test = cr.datasets.load("digits")
    assert net.evaluate(X_test, y_test)["accuracy"] == pytest.approx(accuracy, abs=1e-4)

    code, text = run(["evaluate", str(model)])  # the data set is remembered in the file
    assert code == 0 and f"accuracy: {accuracy:.4f}" in text and "confusion matrix" in text


def write_csv(path, rows, header):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def test_csv_train_predict_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2)) * [10.0, 0.1] + [50.0, -3.0]  # unscaled columns
    labels = np.where(X[:, 0] - 50 > 0, "big", "small")
    write_csv(tmp_path / "train.csv", [[a, b, c] for (a, b), c in zip(X, labels)], ["x1", "x2", "size"])
    model = tmp_path / "m.safetensors"
    code, text = run(["train", "--csv", str(tmp_path / "train.csv"), "--target", "size",
                      "--hidden", "8", "--epochs", "60", "--out", str(model), "--quiet"])
    assert code == 0 and "epoch 1/" not in text
    assert float(text.split("test accuracy: ")[1].split()[0]) >= 0.9
    write_csv(tmp_path / "new.csv", [[62.0, -3.0], [38.0, -3.0]], ["x1", "x2"])
    out_csv = tmp_path / "pred.csv"
    code, text = run(["predict", str(model), "--csv", str(tmp_path / "new.csv"), "--out", str(out_csv)])
    assert code == 0 and "2 predictions" in text
    assert out_csv.read_text().split() == ["prediction", "big", "small"]


def test_regression_task(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(150, 2))
    y = np.round(10 * X[:, 0] - 5 * X[:, 1])  # whole numbers, but a quantity
    write_csv(tmp_path / "r.csv", [[a, b, t] for (a, b), t in zip(X, y)], ["a", "b", "t"])
    code, text = run(["train", "--csv", str(tmp_path / "r.csv"), "--target", "t", "--task",
                      "regression", "--hidden", "16", "--lr", "0.01", "--epochs", "100",
                      "--out", str(tmp_path / "r.safetensors"), "--quiet"])
    assert code == 0
    assert float(text.split("test mse: ")[1].split()[0]) < 1.0  # targets span about +-15


def test_examples_verb_prints_the_errata():
    code, text = run(["examples", "--check"])
    assert code == 0 and "0.0000351085" in text.replace("3.51085e-05", "0.0000351085")


@pytest.mark.parametrize("verb", ["train", "evaluate", "predict", "examples"])
def test_every_verb_has_help_with_an_example(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([verb, "--help"])
    assert exit_.value.code == 0
    assert "example" in capsys.readouterr().out


def test_errors_are_one_clear_line(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "missing.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chainrule evaluate: error:") and "missing.safetensors" in err
    with pytest.raises(SystemExit):
        cli.main(["train", "--dataset", "imagenet"])
    assert "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--lr", "-1"])
    assert "must be > 0" in capsys.readouterr().err
    assert cli.main(["train", "--csv", "x.csv"]) == 2
    assert "--target" in capsys.readouterr().err


def test_interrupted_training_keeps_the_weights(tmp_path, monkeypatch):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cr.Sequential, "fit", interrupted)
    model = tmp_path / "partial.safetensors"
    code, text = run(["train", "--out", str(model)])
    assert code == 130 and "saved" in text
    assert cr.load(model).metadata["interrupted"] is True
