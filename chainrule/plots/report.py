"""One standalone HTML page about a trained network: what it is, how it trained, how well
it does, what it gets wrong, and every number of one training step on one example.

Every picture is embedded as a base64 PNG and the page loads nothing else, so it can be
mailed, archived or opened offline. Sections: the network (its layers in the notes'
notation and a diagram), training (the loss curves, when the History is given), results
(accuracy and the confusion matrix, or the error of a regression), health checks
(:func:`chainrule.training.diagnostics.diagnose` on the data), sample predictions (a
grid of images with their predicted and true labels for image data, the decision
boundary for 2-D points, a table otherwise) and the trace of one example
(:func:`chainrule.trace` on a float64 copy of the network: the network itself is not
changed).
"""
import base64
import html
import logging
import os
import re

import numpy as np

from .. import backend, metrics
from ..errors import ChainruleError, InvalidValueError, ShapeError
from .loss import new_figure, png_bytes

__all__ = ["report"]

log = logging.getLogger(__name__)

_STYLE = """
header p { margin: .2rem 0; color: #555; }
nav { font-size: .95em; margin: 1rem 0 1.5rem; }
nav a { margin-right: 1rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { color: #555; font-size: .9em; margin-top: .3rem; max-width: 60rem; }
table.summary, table.samples { border-collapse: collapse; margin: .5rem 0 1rem; }
table.summary th, table.summary td, table.samples th, table.samples td {
  border-bottom: 1px solid #e3e3e3; padding: .25rem .8rem .25rem 0; text-align: left;
  vertical-align: top; }
table.samples td.num { text-align: right; font-family: ui-monospace, Menlo, monospace; }
table.samples tr.wrong td { color: #b3261e; }
pre.arch { background: #f7f7f7; padding: .8rem 1rem; overflow-x: auto; font-size: .85em; }
.notice { background: #fff8e1; border-left: 4px solid #f0b429; padding: .6rem 1rem;
          margin: 1rem 0; }
.ok { background: #edf7ed; border-left: 4px solid #2e7d32; padding: .6rem 1rem; }
.finding { background: #fdecea; border-left: 4px solid #c0392b; padding: .6rem 1rem;
           margin: .6rem 0; }
section.trace { border-top: 1px solid #ddd; margin-top: 1rem; }
"""


def _image(fig, alt, caption=None, width=None):
    """A figure as an <img> with its PNG inline (base64), inside <figure>."""
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    w, h = (int(round(v)) for v in fig.get_size_inches() * fig.dpi)
    shown = f' style="width:{width}px"' if width else ""
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            f'width="{w}" height="{h}"{shown}>{cap}</figure>')


def _is_classifier(net, y, task):
    if task in ("classification", "regression"):
        return task == "classification"
    from ..layers import Sigmoid, Softmax

    return isinstance(net.layers[-1], (Softmax, Sigmoid)) or np.asarray(y).dtype.kind in "iub"


def _image_shape(net, X, image_shape):
    """(height, width) or (channels, height, width) of the inputs as images, or None."""
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if int(np.prod(shape)) != int(np.prod(X.shape[1:])):
            raise ShapeError(f"image_shape {shape} holds {int(np.prod(shape))} numbers but "
                             f"each example has {int(np.prod(X.shape[1:]))}")
        return shape
    if X.ndim == 4:
        return tuple(X.shape[1:])
    if isinstance(net.n_in, tuple) and None not in net.n_in:
        return net.n_in
    return None


def _pick(wrong, count):
    """Up to ``count`` example indices: up to half of them misclassified, in data order."""
    wrong_idx = np.flatnonzero(wrong)
    right_idx = np.flatnonzero(~wrong)
    take_wrong = wrong_idx[:min(len(wrong_idx), count // 2)]
    take_right = right_idx[:count - len(take_wrong)]
    if len(take_wrong) + len(take_right) < count:
        take_wrong = wrong_idx[:count - len(take_right)]
    return np.sort(np.concatenate([take_wrong, take_right]))


def _image_grid(X, truth, predicted, confidence, picked, shape, class_names):
    k = len(picked)
    columns = min(8, k)
    rows = int(np.ceil(k / columns))
    fig = new_figure((1.5 * columns + 0.2, 1.9 * rows + 0.2), 100)
    for n, i in enumerate(picked):
        ax = fig.add_subplot(rows, columns, n + 1)
        image = np.asarray(X[i], dtype=np.float64).reshape(shape)
        if image.ndim == 3:
            image = image[0] if image.shape[0] != 3 else np.moveaxis(image, 0, -1)
            if image.ndim == 3:
                image = (image - image.min()) / (np.ptp(image) or 1.0)
        ax.imshow(image, cmap="gray_r", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        right = truth[i] == predicted[i]
        ax.set_title(f"pred {_name(predicted[i], class_names)} ({confidence[i]:.0%})\n"
                     f"true {_name(truth[i], class_names)}", fontsize=9,
                     color="#1b5e20" if right else "#b3261e")
        for spine in ax.spines.values():
            spine.set_edgecolor("#1b5e20" if right else "#b3261e")
            spine.set_linewidth(1.0 if right else 2.2)
    fig.tight_layout(pad=0.4)
    return fig


def _name(c, class_names):
    c = int(c)
    if class_names is not None and 0 <= c < len(class_names):
        return str(class_names[c])[:12]
    return str(c)


def _sample_table(X, truth, predicted, confidence, picked, class_names, feature_names):
    d = X.shape[1] if X.ndim == 2 else 0
    shown = min(d, 6)
    names = list(feature_names or [f"x{j + 1}" for j in range(d)])[:shown]
    head = "".join(f"<th>{html.escape(str(n))}</th>" for n in names)
    more = "<th>&hellip;</th>" if d > shown else ""
    rows = []
    for i in picked:
        cells = "".join(f'<td class="num">{X[i, j]:.4g}</td>' for j in range(shown))
        cells += "<td>&hellip;</td>" if d > shown else ""
        wrong = truth[i] != predicted[i]
        rows.append(f'<tr class="{"wrong" if wrong else ""}"><td class="num">{i}</td>{cells}'
                    f"<td>{html.escape(_name(truth[i], class_names))}</td>"
                    f"<td>{html.escape(_name(predicted[i], class_names))}</td>"
                    f'<td class="num">{confidence[i]:.1%}</td></tr>')
    return (f'<table class="samples"><tr><th>example</th>{head}{more}<th>true</th>'
            f"<th>predicted</th><th>probability</th></tr>{''.join(rows)}</table>")


def _regression_table(X, y, out, count, feature_names):
    d = X.shape[1] if X.ndim == 2 else 0
    shown = min(d, 6)
    names = list(feature_names or [f"x{j + 1}" for j in range(d)])[:shown]
    t = np.asarray(y, np.float64).reshape(len(y), -1)
    head = "".join(f"<th>{html.escape(str(n))}</th>" for n in names)
    head += "<th>&hellip;</th>" if d > shown else ""
    rows = []
    for i in range(count):
        cells = "".join(f'<td class="num">{X[i, j]:.4g}</td>' for j in range(shown))
        cells += "<td>&hellip;</td>" if d > shown else ""
        target = ", ".join(f"{v:.4g}" for v in t[i])
        predicted = ", ".join(f"{v:.4g}" for v in out[i])
        rows.append(f'<tr><td class="num">{i}</td>{cells}<td class="num">{target}</td>'
                    f'<td class="num">{predicted}</td></tr>')
    return (f'<table class="samples"><tr><th>example</th>{head}<th>target</th>'
            f"<th>prediction</th></tr>{''.join(rows)}</table>")


def _regression_figure(y, pred):
    fig = new_figure((5.2, 4.6), 100)
    ax = fig.add_subplot()
    t, p = np.asarray(y, np.float64).reshape(len(y), -1), np.asarray(pred, np.float64)
    p = p.reshape(len(p), -1)
    ax.scatter(t.ravel(), p.ravel(), s=12, alpha=0.6, color="#2166ac", edgecolors="none")
    low, high = min(t.min(), p.min()), max(t.max(), p.max())
    ax.plot([low, high], [low, high], color="#444", linewidth=1, linestyle="--",
            label="prediction = target")
    ax.set_xlabel("target")
    ax.set_ylabel("prediction")
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("Predictions against targets")
    fig.tight_layout()
    return fig


def _trace_section(net, loss, X, y, index, lr):
    """The trace of one SGD step on example ``index`` (a float64 copy of the network)."""
    from ..optim import SGD
    from ..trace import trace

    copy = net.astype("float64")
    x = np.asarray(backend.to_numpy(X[index:index + 1]), dtype=np.float64)
    try:
        record = trace(copy, loss, x, np.asarray(backend.to_numpy(y))[index:index + 1], SGD(lr))
        page = record.to_html()
    except Exception as error:  # the rest of the page is worth having without the trace
        log.warning("report: no trace of example %d", index, exc_info=True)
        reason = str(error) if isinstance(error, ChainruleError) else \
            f"{type(error).__name__}: {error}"
        return (f'<p class="notice">The trace of this network could not be written '
                f"({html.escape(reason)}).</p>")
    body = page[page.index("<main>") + len("<main>"):page.rindex("</main>")]
    # The trace's headings go under this page's "Trace" heading: h1 -> h3, h2 -> h4...
    body = re.sub(r"<(/?)h([1-6])>", lambda m: f"<{m[1]}h{min(int(m[2]) + 2, 6)}>", body)
    return f'<section class="trace">{body}</section>'


def report(net, X, y, path=None, *, history=None, title=None, class_names=None,
           feature_names=None, image_shape=None, metadata=None, task=None, samples=24,
           example=0, lr=0.1, loss=None):
    """Write one standalone HTML page about ``net`` on the data ``(X, y)``; return the HTML.

    Args:
        net: a trained network.
        X, y: the examples to report on, usually the test set, scaled as in training.
        path: where to write the page (optional).
        history: the History of the run (or a dict of per-epoch lists) for the loss
            curves; without it the page says there is none.
        class_names, feature_names: names for the classes and the input columns.
        image_shape: ``(height, width)`` to show inputs as images (default: images for
            4-D inputs or a convolutional network, a table otherwise).
        metadata: the model file's metadata (data set, epochs...), shown in the summary.
        task: ``"classification"`` or ``"regression"``; default from the output layer.
        samples: how many example predictions to show (up to half of them wrong ones).
        example: index in ``X`` of the example whose training step is traced.
        lr: learning rate of the traced SGD step. loss: default as in ``fit``.
    """
    from ..training.diagnostics import diagnose
    from ..training.loop import default_loss
    from ..losses import get as get_loss
    from ..network import Sequential
    from ..trace.render import HTML_STYLE
    from .diagram import network_diagram
    from .loss import loss_curve
    from .matrices import confusion_matrix_plot

    if not isinstance(net, Sequential):
        raise InvalidValueError(f"report: expected a chainrule network, got {type(net).__name__}")
    metadata = dict(metadata or {})
    task = task or metadata.get("task")
    X_net = net.prepare_inputs(X)
    X_np = np.asarray(backend.to_numpy(X_net))
    y = np.asarray(backend.to_numpy(y))
    if len(y) != len(X_np):
        raise ShapeError(f"report: X has {len(X_np)} examples but y has {len(y)}")
    if isinstance(example, bool) or not isinstance(example, (int, np.integer)) \
            or not 0 <= example < len(X_np):
        raise InvalidValueError(f"example must be an index into X (0..{len(X_np) - 1}), "
                                f"got {example!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise InvalidValueError(f"samples must be a positive integer, got {samples!r}")
    loss = default_loss(net) if loss is None else get_loss(loss)
    classify = _is_classifier(net, y, task)
    out = np.asarray(backend.to_numpy(net.predict(X_net)), dtype=np.float64)
    title = title or "chainrule report"
    parts, nav = [], []

    def section(anchor, heading, body):
        nav.append(f'<a href="#{anchor}">{html.escape(heading)}</a>')
        parts.append(f'<section id="{anchor}"><h2>{html.escape(heading)}</h2>{body}</section>')

    # ---- summary (label, HTML)
    esc = html.escape
    rows = [("network", esc("-".join(map(_format_size, net.sizes)) + f" ({net.dtype})")),
            ("parameters", f"{sum(p.value.size for p in net.parameters()):,}"),
            ("examples in this report", f"{len(X_np):,}")]
    for key, label in (("dataset", "data set"), ("epochs", "epochs trained"),
                       ("optimizer", "optimiser"), ("stop_reason", "training stopped by"),
                       ("seed", "seed")):
        if metadata.get(key) is not None:
            rows.append((label, esc(str(metadata[key]))))
    if classify:
        truth = metrics.labels(y, "y")
        predicted = metrics.labels(out, "predictions")
        confidence = out.max(axis=1) if out.shape[1] > 1 else np.where(
            predicted == 1, out[:, 0], 1.0 - out[:, 0])
        right = int(np.sum(truth == predicted))
        rows.append(("accuracy here", f"<b>{right / len(truth):.2%}</b> ({right} of "
                                      f"{len(truth)})"))
    else:
        rows.append(("mean squared error here", f"<b>{metrics.mse(y, out):.6g}</b>"))
    summary = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    section("summary", "Summary", f'<table class="summary">{summary}</table>')

    # ---- the network
    body = f'<pre class="arch">{html.escape(repr(net))}</pre>'
    try:
        names = feature_names if feature_names is not None and \
            len(feature_names) == net.sizes[0] else None
        body += _image(network_diagram(net, input_names=names), "diagram of the network",
                       "Neurons labelled with their activation; blue edges are positive "
                       "weights, red negative, wider and darker the larger |w|.")
    except InvalidValueError as error:  # not an MLP: the layer list says it all
        body += f"<p>(No diagram: {html.escape(str(error))}.)</p>"
    section("network", "Network", body)

    # ---- training
    if history is not None and len(history.get("loss") or ()) > 0:
        caption = "Loss" + (" and accuracy" if "accuracy" in history else "") + " per epoch"
        if "val_loss" in history:
            caption += (": training solid, validation dashed; the green mark is the epoch "
                        "with the lowest validation loss")
        body = _image(loss_curve(history, size=(11, 4.2)), "loss per epoch", caption + ".")
    else:
        body = ('<p class="notice">No training history was given (the model file has no '
                "<code>history</code> in its metadata), so there are no loss curves. To keep "
                "it, save the History that <code>fit</code> returned with the model: "
                "<code>net.save(path, metadata={\"history\": dict(history)})</code>.</p>")
    section("training", "Training", body)

    # ---- results
    if classify:
        k = max(int(net.n_out) if isinstance(net.n_out, int) and net.n_out > 1 else 2,
                int(truth.max()) + 1, int(predicted.max()) + 1)
        names = class_names if class_names is not None and len(class_names) == k else None
        body = _image(confusion_matrix_plot(truth, predicted, n_classes=k, class_names=names),
                      "confusion matrix", "Row = true class, column = predicted class: the "
                      "diagonal holds the right answers; each cell is shaded by the fraction "
                      "of its row.")
    else:
        body = _image(_regression_figure(y, out), "predictions against targets",
                      "Each example's prediction against its target; on the dashed line they "
                      "are equal.")
    section("results", "Results", body)

    # ---- health checks
    try:
        findings = diagnose(net, X_net, y, loss=loss)
    except ChainruleError:
        findings = None
    if findings is None:
        body = "<p>(The checks could not run on this data.)</p>"
    elif findings:
        body = "".join(f'<p class="finding">{html.escape(f.message)}</p>' for f in findings)
    else:
        body = ('<p class="ok">No sign of unscaled inputs, saturated or dead units, or '
                "vanishing or exploding gradients on this data.</p>")
    section("health", "Health checks", body)

    # ---- sample predictions
    if classify:
        picked = _pick(truth != predicted, min(samples, len(X_np)))
        shape = _image_shape(net, X_np, image_shape)
        if shape is not None and len(shape) in (2, 3):
            fig = _image_grid(X_np, truth, predicted, confidence, picked, shape, class_names)
            body = _image(fig, "sample predictions", "Predicted class (with its probability) "
                          "over the true one; wrong answers in red. Up to half of the examples "
                          "shown are wrong ones.")
        elif net.n_in == 2:
            from .boundary import decision_boundary

            body = _image(decision_boundary(net, X_np, truth, class_names=class_names),
                          "decision boundary", "Each point of the plane in the colour of the "
                          "class the network predicts there, paler where it is unsure; the "
                          "examples on top in their true class's colour, crosses where the "
                          "network is wrong.")
            body += _sample_table(X_np, truth, predicted, confidence, picked[:10], class_names,
                                  feature_names)
        else:
            body = _sample_table(X_np, truth, predicted, confidence, picked, class_names,
                                 feature_names)
    else:
        body = _regression_table(X_np, y, out, min(samples, len(X_np), 12), feature_names)
    section("samples", "Sample predictions", body)

    # ---- trace
    intro = (f"<p>One step of SGD (learning rate {lr:g}) on example {example} alone, on a "
             f"float64 copy of the network: every net input and output, the error, every "
             f"delta, every gradient as its chain-rule product and every updated weight. "
             f"The network itself is not changed.</p>")
    section("trace", f"Trace of example {example}", intro + _trace_section(
        net, loss, X_np, y, example, lr))

    page = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>", f"<style>{HTML_STYLE}{_STYLE}</style>",
            "</head>", "<body>", "<main>", f"<header><h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(_subtitle(net, metadata))}</p></header>",
            f"<nav>{''.join(nav)}</nav>", *parts, "</main>", "</body>", "</html>"]
    text = "\n".join(page) + "\n"
    if path is not None:
        with open(os.fspath(path), "w", encoding="utf-8") as f:
            f.write(text)
    return text


def _format_size(size):
    return "x".join(map(str, size)) if isinstance(size, tuple) else str(size)


def _subtitle(net, metadata):
    what = f"a {'-'.join(map(_format_size, net.sizes))} network"
    if metadata.get("dataset"):
        what += f" trained on {metadata['dataset']}"
    return f"Written by chainrule for {what}."
