"""report: one standalone HTML page with embedded PNG pictures and the trace of one example."""
import base64
from html.parser import HTMLParser

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import InvalidValueError
from png import png_size

pytest.importorskip("matplotlib")
from chainrule.plots import report  # noqa: E402

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Page(HTMLParser):
    """Collects images, links and ids, and checks that every tag is closed in order."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.images, self.ids, self.urls, self.errors = [], [], set(), [], []
        self.headings, self._in_heading, self.text = [], None, []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "img":
            self.images.append(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            if key in attrs and not attrs[key].startswith(("data:", "#")):
                self.urls.append(attrs[key])
        if tag in ("h1", "h2"):
            self._in_heading = []

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()
        if tag in ("h1", "h2") and self._in_heading is not None:
            self.headings.append("".join(self._in_heading))
            self._in_heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._in_heading is not None:
            self._in_heading.append(data)


def png_of(img):
    head, data = img["src"].split(",", 1)
    assert head == "data:image/png;base64"
    raw = base64.b64decode(data)
    width, height = png_size(raw)
    assert (str(width), str(height)) == (img["width"], img["height"])
    return raw


def check_page(text):
    page = Page(text)
    assert text.startswith("<!DOCTYPE html>")
    assert page.errors == [] and page.stack == []
    assert page.urls == []  # standalone: nothing to load
    assert "<script" not in text and "<link" not in text
    for img in page.images:
        assert len(png_of(img)) > 1000
    return page


@pytest.fixture(scope="module")
def digits_model():
    X, y, X_test, y_test = cr.datasets.load("digits")
    net = cr.mlp([64, 16, 10], seed=0)
    history = net.fit(X, y, optimizer=cr.Adam(0.01), epochs=4, batch_size=64, seed=0,
                      validation_data=(X_test, y_test))
    return net, history, X_test, y_test


def test_digits_report_with_history(tmp_path, digits_model):
    net, history, X, y = digits_model
    weights = [p.value.copy() for p in net.parameters()]
    path = tmp_path / "report.html"
    text = report(net, X, y, path, history=history, image_shape=(8, 8), samples=16,
                  metadata={"dataset": "digits", "epochs": 4}, title="digits <test>")
    assert path.read_text(encoding="utf-8") == text
    page = check_page(text)
    assert page.headings[:3] == ["digits <test>", "Summary", "Network"]
    assert {"summary", "network", "training", "results", "health", "samples", "trace"} <= page.ids
    alts = [img["alt"] for img in page.images]
    assert alts == ["diagram of the network", "loss per epoch", "confusion matrix",
                    "sample predictions"]
    words = " ".join(page.text)
    accuracy = net.evaluate(X, y)["accuracy"]
    assert f"{accuracy:.2%}" in words
    assert "Backpropagation, one step: a 64-16-10 network" in words  # the trace, inside
    assert "Trace of example 0" in words
    for p, before in zip(net.parameters(), weights):  # the trace used a copy
        np.testing.assert_array_equal(p.value, before)
        assert p.value.dtype == np.float32


def test_without_history_the_page_says_so(digits_model):
    net, _, X, y = digits_model
    text = report(net, X[:50], y[:50], example=3, samples=4)
    page = check_page(text)
    assert "loss per epoch" not in [img["alt"] for img in page.images]
    assert "no loss curves" in " ".join(page.text)
    assert "Trace of example 3" in " ".join(page.text)
    assert "sample predictions" not in [img["alt"] for img in page.images]  # a table instead
    assert "<table class=\"samples\">" in text


def test_two_dimensional_data_shows_the_decision_boundary():
    X, y, X_test, y_test = cr.datasets.load("moons", n=60)
    net = cr.mlp([2, 6, 2], activation="tanh", seed=0)
    net.fit(X, y, epochs=2)
    page = check_page(report(net, X_test, y_test, samples=6))
    assert "decision boundary" in [img["alt"] for img in page.images]


def test_regression_report():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    net = cr.mlp([3, 4, 1], activation="tanh", output="identity", seed=0)
    net.fit(X, y, epochs=3)
    page = check_page(report(net, X, y, feature_names=["a", "b", "c"]))
    assert "predictions against targets" in [img["alt"] for img in page.images]
    assert "mean squared error here" in " ".join(page.text)


def test_bad_arguments(digits_model):
    net, _, X, y = digits_model
    with pytest.raises(InvalidValueError, match="example"):
        report(net, X, y, example=len(X))
    with pytest.raises(InvalidValueError, match="samples"):
        report(net, X, y, samples=0)
    with pytest.raises(InvalidValueError, match="network"):
        report("model", X, y)
