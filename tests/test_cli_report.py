"""chainrule report, chainrule plot, and chainrule train --animate / --gradient-norms."""
import base64
import io
from html.parser import HTMLParser

import pytest

from chainrule import cli
from png import png_size

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402



def run(argv):
    out = io.StringIO()
    args = cli.build_parser().parse_args(argv)
    code = cli.VERBS[args.verb](args, out=out)
    return code, out.getvalue()


class Images(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.images, self.text = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    model = tmp_path_factory.mktemp("models") / "digits.safetensors"
    code, _ = run(["train", "--epochs", "3", "--hidden", "16", "--quiet", "--out", str(model)])
    assert code == 0
    return model


def test_report_writes_one_standalone_page(tmp_path, digits_model):
    page = tmp_path / "report.html"
    code, text = run(["report", str(digits_model), "--out", str(page), "--samples", "8",
                      "--example", "2"])
    assert code == 0 and f"wrote {page}" in text and "digits (360 examples)" in text
    html = page.read_text(encoding="utf-8")
    parsed = Images(html)
    alts = [img["alt"] for img in parsed.images]
    assert {"diagram of the network", "confusion matrix", "sample predictions"} <= set(alts)
    for img in parsed.images:
        head, data = img["src"].split(",", 1)
        assert head == "data:image/png;base64"
        assert png_size(base64.b64decode(data)) == (int(img["width"]), int(img["height"]))
    words = " ".join(parsed.text)
    assert "Trace of example 2" in words and "Backpropagation, one step" in words
    if "loss per epoch" not in alts:  # the model file keeps no History: the page says so
        assert "no loss curves" in words and "no training history" in text


def test_report_errors(tmp_path, digits_model, capsys):
    code = cli.main(["report", str(digits_model), "--example", "360",
                     "--out", str(tmp_path / "r.html")])
    assert code == 2 and "0..359" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_plot_verb_draws_each_picture(tmp_path, digits_model):
    paths = {flag: tmp_path / f"{flag}.png" for flag in ("diagram", "weights", "confusion")}
    argv = ["plot", str(digits_model)]
    for flag, path in paths.items():
        argv += [f"--{flag}", str(path)]
    code, text = run(argv + ["--dataset", "digits"])
    assert code == 0
    for flag, path in paths.items():
        width, height = png_size(path.read_bytes())
        assert width > 200 and height > 200
        assert f"wrote {path}" in text


def test_plot_verb_errors(tmp_path, digits_model, capsys):
    assert cli.main(["plot", str(digits_model)]) == 2
    assert "nothing to draw" in capsys.readouterr().err
    assert cli.main(["plot", str(digits_model), "--diagram", str(tmp_path / "d.jpg")]) == 2
    assert ".png" in capsys.readouterr().err
    assert cli.main(["plot", str(digits_model), "--boundary", str(tmp_path / "b.png")]) == 2
    assert "2 inputs" in capsys.readouterr().err


def test_train_animates_the_boundary_and_plots_gradient_norms(tmp_path):
    gif, norms = tmp_path / "boundary.gif", tmp_path / "norms.png"
    model = tmp_path / "spirals.safetensors"
    code, text = run(["train", "--dataset", "spirals", "--hidden", "8,8", "--epochs", "4",
                      "--quiet", "--animate", str(gif), "--gradient-norms", str(norms),
                      "--out", str(model)])
    assert code == 0
    assert f"animated {gif} (5 frames)" in text and f"plotted {norms}" in text
    assert gif.read_bytes()[:6] == b"GIF89a"
    with Image.open(gif) as image:
        assert image.n_frames > 1
    png_size(norms.read_bytes())
    code, text = run(["plot", str(model), "--boundary", str(tmp_path / "b.png")])
    assert code == 0 and png_size((tmp_path / "b.png").read_bytes())[0] > 200


def test_animate_needs_two_dimensional_points(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    code = cli.main(["train", "--epochs", "1", "--quiet", "--animate", str(tmp_path / "a.gif"),
                     "--out", str(model)])
    assert code == 2 and "2-D points" in capsys.readouterr().err
    assert not model.exists()  # refused before training
    code = cli.main(["train", "--dataset", "moons", "--epochs", "1", "--quiet",
                     "--animate", str(tmp_path / "a.png"), "--out", str(model)])
    assert code == 2 and ".gif" in capsys.readouterr().err
