"""chainrule train: the training-toolkit flags and --config files."""
import io
import struct

import pytest

import chainrule as cr
from chainrule import cli
from png import PNG


def run(argv):
    out = io.StringIO()
    parser = cli.build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "config", None):
        args = cli.config.reparse(parser, argv, args)
    code = cli.VERBS[args.verb](args, out=out)
    return code, out.getvalue()


def accuracy(text):
    return float(text.split("test accuracy: ")[1].split()[0])


def test_toolkit_flags_train_and_write_everything(tmp_path):
    model = tmp_path / "m.safetensors"
    code, text = run(["train", "--optimizer", "adam", "--lr", "0.01", "--hidden", "32",
                      "--dropout", "0.1", "--batchnorm", "--schedule", "step", "--step-size", "2",
                      "--early-stopping", "3", "--checkpoint", str(tmp_path / "ck.safetensors"),
                      "--log-csv", str(tmp_path / "log.csv"), "--plot", str(tmp_path / "loss.png"),
                      "--epochs", "6", "--quiet", "--out", str(model)])
    assert code == 0 and accuracy(text) > 0.9
    net = cr.load(model)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Dense", "BatchNorm", "ReLU", "Dropout", "Dense", "Softmax"]
    assert cr.load(tmp_path / "ck.safetensors").metadata["epoch"] >= 1
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss") and "lr" in rows[0] and len(rows) == 7
    png = (tmp_path / "loss.png").read_bytes()
    assert png[:8] == PNG
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (800, 450)
    assert (tmp_path / "m.toml").exists()


def test_settings_file_repeats_the_run(tmp_path):
    first = tmp_path / "a.safetensors"
    code, text1 = run(["train", "--hidden", "16", "--epochs", "3", "--batch-size", "full",
                       "--lr", "0.5", "--quiet", "--out", str(first)])
    settings = (tmp_path / "a.toml").read_text()
    assert 'batch_size = "full"' in settings
    again = tmp_path / "again.toml"
    again.write_text(settings.replace("a.safetensors", "b.safetensors"))
    code, text2 = run(["train", "--config", str(again)])
    assert code == 0
    a, b = cr.load(first), cr.load(tmp_path / "b.safetensors")
    for p, q in zip(a.parameters(), b.parameters()):
        assert (p.value == q.value).all()
    assert accuracy(text1) == accuracy(text2)


def test_command_line_wins_over_the_file(tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text('hidden = [8]\nepochs = 50\nquiet = true\n')
    code, text = run(["train", "--config", str(config), "--epochs", "1",
                      "--out", str(tmp_path / "m.safetensors")])
    assert "(1 epochs" in text and "64-8-10" in text


def test_malformed_toml_names_the_line(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('epochs = 3\nhidden = [8,\nlr = 0.1\n')
    assert cli.main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "line" in err


@pytest.mark.parametrize("setting, message", [
    ("epochz = 3", "unknown setting"),
    ("dropout = 1.2", "dropout"),
    ("momentum = -0.5", "momentum"),
    ('schedule = "sawtooth"', "schedule"),
    ("early_stopping = -1", "early_stopping"),
])
def test_bad_settings_in_a_file(tmp_path, capsys, setting, message):
    config = tmp_path / "exp.toml"
    config.write_text(setting + "\n")
    assert cli.main(["train", "--config", str(config)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--dropout", "1.5"], "must be in [0, 1)"),
    (["--momentum", "-0.1"], "must be in [0, 1)"),
    (["--early-stopping", "-2"], "must be >= 0"),
    (["--schedule", "sawtooth"], "invalid choice"),
    (["--optimizer", "lbfgs"], "invalid choice"),
])
def test_bad_flags(flags, message, capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", *flags])
    assert message in capsys.readouterr().err


def test_resume_continues_the_run_bit_for_bit(tmp_path):
    ckpt = tmp_path / "ck.safetensors"
    assert cli.main(["train", "--hidden", "16", "--epochs", "2", "--checkpoint", str(ckpt),
                     "--quiet", "--out", str(tmp_path / "first.safetensors")]) == 0
    assert cli.main(["train", "--resume", str(ckpt), "--epochs", "4",
                     "--out", str(tmp_path / "resumed.safetensors")]) == 0
    assert cli.main(["train", "--hidden", "16", "--epochs", "4", "--quiet",
                     "--out", str(tmp_path / "straight.safetensors")]) == 0
    a, b = cr.load(tmp_path / "resumed.safetensors"), cr.load(tmp_path / "straight.safetensors")
    for p, q in zip(a.parameters(), b.parameters()):
        assert (p.value == q.value).all()


def test_resume_needs_a_train_checkpoint(tmp_path, capsys):
    model = tmp_path / "plain.safetensors"
    cr.mlp([2, 2]).save(model)
    assert cli.main(["train", "--resume", str(model)]) == 2
    assert "not written by chainrule train --checkpoint" in capsys.readouterr().err


def test_threads_trains_the_same_weights_and_is_not_saved(tmp_path):
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    for path, flags in ((one, ["--threads", "1"]), (two, [])):
        code, _ = run(["train", "--epochs", "2", "--quiet", "--dtype", "float64",
                       "--out", str(path), *flags])
        assert code == 0
    for p, q in zip(cr.load(one).parameters(), cr.load(two).parameters()):
        assert abs(p.value - q.value).max() < 1e-12     # BLAS threads change no result here
    assert "threads =" not in (tmp_path / "one.toml").read_text()
