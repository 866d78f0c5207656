"""Every number of worked-examples.md, recomputed by chainrule in float64, and the errata.

Expected values are the literal numbers of worked-examples.md (and of the notes where a
slide is tested), never values copied from a run. A number printed rounded is compared to
its printed precision (half a unit of its last decimal); an exact one to 1e-12.
"""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import examples as ex


# ---- helpers ----------------------------------------------------------------------------
def numbers(text):
    return [float(word) for word in text.replace(",", " ").split()]


def assert_rounded(actual, text, decimals=None):
    """``actual`` equals the numbers in ``text``, printed rounded to ``decimals`` (default:
    as many as the text shows; pass 8 where trailing zeros were dropped, as in 0.549834)."""
    expected = numbers(text)
    actual = np.ravel(np.asarray(actual, dtype=np.float64))
    assert len(actual) == len(expected), (actual, text)
    for a, word, e in zip(actual, text.replace(",", " ").split(), expected):
        d = decimals if decimals is not None else len(word.partition(".")[2])
        assert abs(a - e) <= 0.5 * 10 ** -d * (1 + 1e-9), f"{a!r} is not {word} to {d} decimals"


def assert_exact(actual, text, tol=1e-12):
    np.testing.assert_allclose(np.ravel(np.asarray(actual, dtype=np.float64)), numbers(text),
                               rtol=0, atol=tol)


@pytest.fixture(scope="module")
def results():
    return ex.all_examples()


def quantity(results, number, name):
    title, quantities = results[number - 1]
    assert title.startswith(f"{number}.")
    matches = [q for q in quantities if q.name == name]
    assert len(matches) == 1, f"example {number} has no quantity {name!r}"
    return matches[0]


def value(results, number, name):
    return quantity(results, number, name).recomputed


def net_222():
    """Built here from the notes' numbers, independently of chainrule.examples."""
    return cr.Sequential([
        cr.Dense(2, 2, weight=[[0.15, 0.20], [0.25, 0.30]], bias=0.35, train_bias=False,
                 dtype="float64"), cr.Sigmoid(),
        cr.Dense(2, 2, weight=[[0.40, 0.45], [0.50, 0.55]], bias=0.60, train_bias=False,
                 dtype="float64"), cr.Sigmoid()])


X_222, Y_222 = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
SLIDE_OUTPUTS = "0.015912196 0.984065734"


def rounds_to(actual, text):
    return all(round(float(a), len(w.partition(".")[2])) == float(w)
               for a, w in zip(np.ravel(actual), text.split()))


# ---- 1. the 2-2-2 network ---------------------------------------------------------------
def test_222_forward(results):
    assert_exact(value(results, 1, "net_h1"), "0.3775")
    assert_rounded(value(results, 1, "out_h1, out_h2"), "0.593269992 0.596884378")
    assert_rounded(value(results, 1, "net_o1"), "1.105905967")
    assert_rounded(value(results, 1, "out_o1, out_o2"), "0.75136507 0.772928465")
    assert_rounded(value(results, 1, "E_o1, E_o2, E_total"),
                   "0.274811083 0.023560026 0.298371109")


def test_222_chain_rule_factors(results):
    assert_rounded(value(results, 1, "dE/dout_o1"), "0.74136507")
    assert_rounded(value(results, 1, "dout_o1/dnet_o1"), "0.186815602")
    assert_rounded(value(results, 1, "dnet_o1/dw5 = out_h1"), "0.593269992")
    assert_rounded(value(results, 1, "dE/dw5"), "0.082167041")
    assert_rounded(value(results, 1, "dE_o1/dnet_o1"), "0.138498562")
    assert_exact(value(results, 1, "dnet_o1/dout_h1 = w5"), "0.40")
    assert_rounded(value(results, 1, "dE/dout_h1"), "0.036350306")
    assert_rounded(value(results, 1, "dout_h1/dnet_h1"), "0.241300709")
    assert_exact(value(results, 1, "dnet_h1/dw1 = i1"), "0.05")
    assert_rounded(value(results, 1, "dE/dw1"), "0.000438568")


def test_222_dE_dout_h1_is_the_sum_of_two_paths(results):
    first, second = value(results, 1, "dE_o1/dout_h1, dE_o2/dout_h1")
    assert_rounded(first, "0.055399425")
    assert_exact(second, "-0.019049119", tol=1e-9)
    assert first + second == pytest.approx(value(results, 1, "dE/dout_h1"), abs=1e-15)


def test_222_erratum_dE_o2_dout_h1_last_digit(results):
    """The notes print -0.019049119; the value rounds to -0.019049118 (off by one in the
    ninth decimal, within 1e-9). Checked against the closed form delta_o2 * w7."""
    def sigmoid(a):
        return 1 / (1 + math.exp(-a))

    h1, h2 = sigmoid(0.15 * 0.05 + 0.20 * 0.10 + 0.35), sigmoid(0.25 * 0.05 + 0.30 * 0.10 + 0.35)
    o2 = sigmoid(0.50 * h1 + 0.55 * h2 + 0.60)
    closed_form = (o2 - 0.99) * o2 * (1 - o2) * 0.50
    _, second = value(results, 1, "dE_o1/dout_h1, dE_o2/dout_h1")
    assert second == pytest.approx(closed_form, abs=1e-11)
    assert round(second, 9) == -0.019049118
    q = quantity(results, 1, "dE_o1/dout_h1, dE_o2/dout_h1")
    assert ex.agrees(q) is False and "-0.019049118" in q.note


def test_222_updated_weights(results):
    assert_rounded(value(results, 1, "w1+, w2+, w3+, w4+"),
                   "0.149780716 0.19956143 0.24975114 0.29950229")
    assert_rounded(value(results, 1, "w5+, w6+, w7+, w8+"),
                   "0.35891648 0.408666186 0.511301270 0.561370121")


def test_222_first_step_with_fit():
    """One full-batch epoch of fit is one update; biases frozen, eta = 0.5."""
    net = net_222()
    history = net.fit(X_222, Y_222, loss=cr.SquaredError(), optimizer=cr.SGD(0.5), epochs=1)
    W1, b1, W2, b2 = (p.value for p in net.parameters())
    assert_rounded(W1, "0.149780716 0.19956143 0.24975114 0.29950229")   # [[w1 w2] [w3 w4]]
    assert_rounded(W2, "0.35891648 0.408666186 0.511301270 0.561370121")  # [[w5 w6] [w7 w8]]
    assert_exact(b1, "0.35 0.35")
    assert_exact(b2, "0.60 0.60")
    assert_rounded(history["loss"][0], "0.298371109")


def test_222_ten_thousand_updates():
    """history["loss"][9999] is the forward pass of the 10,000th iteration: 0.0000351085.

    Then the outputs: no number of textbook updates gives the slide's 0.015912196 and
    0.984065734 (o1 falls past 0.015912196 between update 10,002 and 10,003).
    """
    net = net_222()
    history = net.fit(X_222, Y_222, loss=cr.SquaredError(), optimizer=cr.SGD(0.5),
                      epochs=10000)
    loss = history["loss"]
    assert len(loss) == 10000
    assert abs(loss[9999] - 0.0000351085) < 1e-10
    assert_rounded(loss[9999], "0.0000351085")
    assert_rounded(loss[0], "0.298371109")
    assert_rounded(loss[1], "0.2910277737")                 # textbook error after one update
    assert not rounds_to(loss[1], "0.291027924")            # the slide's number is not this

    outputs = [net.forward(X_222)[0].copy()]                # after 10,000 updates
    for _ in range(5):
        net.fit(X_222, Y_222, loss=cr.SquaredError(), optimizer=cr.SGD(0.5), epochs=1)
        outputs.append(net.forward(X_222)[0].copy())        # after 10,001 ... 10,005
    assert not any(rounds_to(o, SLIDE_OUTPUTS) for o in outputs)
    o1 = [o[0] for o in outputs]
    assert all(a > b for a, b in zip(o1, o1[1:]))           # o1 falls steadily, so
    assert o1[2] > 0.015912196 > o1[3]                      # it skips the slide's value


def test_222_slides_variant_reproduces_their_numbers():
    """Propagating the hidden deltas through the already-updated w5..w8 gives the slide's
    0.291027924 after one update and its outputs after exactly 10,000 updates."""
    net = ex.two_two_two_net()
    losses = ex.train_updating_as_you_go(net, X_222, Y_222, cr.SquaredError(), 0.5, 9999)
    assert_rounded(losses[1], "0.291027924")
    after = []
    for _ in range(3):                                      # 9,999, 10,000, 10,001 updates
        after.append(net.forward(X_222)[0].copy())
        ex.train_updating_as_you_go(net, X_222, Y_222, cr.SquaredError(), 0.5, 1)
    assert [rounds_to(o, SLIDE_OUTPUTS) for o in after] == [False, True, False]
    assert_rounded(after[1], SLIDE_OUTPUTS)


def test_222_report_rows_on_training(results):
    assert_rounded(value(results, 1, "E_total after the first update"), "0.2910277737")
    assert_rounded(value(results, 1, "E_total after the first update, hidden deltas through "
                                     "the updated w5..w8"), "0.291027924")
    assert abs(value(results, 1, "E_total in the 10,000th iteration (history['loss'][9999])")
               - 0.0000351085) < 1e-10
    assert_rounded(value(results, 1, "out_o1, out_o2 after 10,000 updates, hidden deltas "
                                     "through the updated w5..w8"), SLIDE_OUTPUTS)
    textbook = quantity(results, 1, "out_o1, out_o2 after 10,000 updates")
    assert ex.agrees(textbook) is False
    assert "10,000 updates" in textbook.note and "already-updated" in textbook.note


# ---- 2. seed 000, bias as input 1 --------------------------------------------------------
def test_seed000_forward(results):
    assert_exact(value(results, 2, "theta1 = W1 O0"), "2.51 -0.98")
    assert_rounded(value(results, 2, "O1 = [1, sigmoid(theta1)]"), "1 0.92483989 0.27289178",
                   decimals=8)
    assert_rounded(value(results, 2, "theta2 = W2 O1"), "-0.23560096 3.08758541")
    assert_rounded(value(results, 2, "O2 = sigmoid(theta2)"), "0.44137071 0.95637774")


def test_seed000_gradients(results):
    assert_rounded(value(results, 2, "delta2 = (O2 - t) O2 (1 - O2) = dE/db2"),
                   "-0.13773709 0.03989946")
    assert_rounded(value(results, 2, "dE/dW2 = delta2 O1^T"),
                   "-0.13773709 -0.12738476 -0.03758732  0.03989946 0.03690062 0.01088824")
    assert_rounded(value(results, 2, "dE/dW1"),
                   "0.02210048 0.01547034 0.02652058  -0.04531147 -0.03171803 -0.05437376")


def test_seed000_bias_as_input_is_the_same_network(results):
    """A bias-free Dense(3, 2) fed [1, O] equals Dense(2, 2) whose bias is column 0."""
    pairs = [("theta1 = W1 O0", "theta1, bias as input 1 (bias-free Dense(3, 2) on [1, 0.7, 1.2])"),
             ("O2 = sigmoid(theta2)", "O2, bias as input 1"),
             ("dE/dW2 = delta2 O1^T", "dE/dW2, bias as input 1"),
             ("dE/dW1", "dE/dW1, bias as input 1")]
    for with_bias, as_input in pairs:
        np.testing.assert_allclose(value(results, 2, as_input), value(results, 2, with_bias),
                                   rtol=0, atol=1e-15)


def test_seed000_errata(results):
    theta1 = quantity(results, 2, "theta1 = W1 O0")
    assert theta1.slide[1] == -9.8 and theta1.recomputed[1] == pytest.approx(-0.98, abs=1e-12)
    assert ex.agrees(theta1) is False and "-0.98" in theta1.note
    # The slide's theta2 from its rounded O1: the first entry follows, the second does not.
    slide_theta2 = np.array([[0.9, -1.7, 1.6], [1.2, 2.1, -0.2]]) @ [1, 0.92, 0.27]
    assert_exact(slide_theta2, "-0.232 3.078")
    assert ex.agrees(quantity(results, 2, "theta2 = W2 O1")) is False
    assert ex.agrees(quantity(results, 2, "O1 = [1, sigmoid(theta1)]")) is True


# ---- 3. binary cross-entropy -------------------------------------------------------------
def test_bce(results):
    assert_exact(value(results, 3, "a1 = W1 x + b1"), "0.01 0.71 0.42 0.63")
    assert_rounded(value(results, 3, "h1 = sigmoid(a1)"),
                   "0.50249998 0.67040116 0.60348325 0.65248946")
    assert_rounded(value(results, 3, "a2 = W2 h1 + b2"), "0.92122781")
    assert_rounded(value(results, 3, "y_hat = sigmoid(a2)"), "0.71529221")
    assert_rounded(value(results, 3, "loss -ln(1 - y_hat)"), "1.25629194")


def test_bce_slide_loss_comes_from_rounded_y_hat(results):
    assert round(-math.log(1 - 0.7152), 4) == 1.2560
    assert ex.agrees(quantity(results, 3, "loss -ln(1 - y_hat)")) is False
    assert ex.agrees(quantity(results, 3, "a2 = W2 h1 + b2")) is True


# ---- 4. categorical cross-entropy --------------------------------------------------------
def test_softmax_cross_entropy(results):
    assert_exact(value(results, 4, "a1 = W1 x + b1"), "0.62 0.09 0.2 -0.15")
    assert_rounded(value(results, 4, "h1 = sigmoid(a1)"),
                   "0.65021855 0.52248482 0.549834 0.46257015", decimals=8)
    assert_rounded(value(results, 4, "a2 = W2 h1 + b2"), "0.31805856 0.28694719 0.78973468")
    assert_rounded(value(results, 4, "y_hat = softmax(a2)"),
                   "0.27995162 0.27137603 0.44867236")
    assert_rounded(value(results, 4, "loss -ln(y_hat_3)"), "0.80146237")


def test_softmax_cross_entropy_errata(results):
    assert 0.2 * 0.65 + 0.1 * 0.52 + 0.6 * 0.55 + 0.6 * 0.46 == pytest.approx(0.788)
    assert round(-math.log(0.4648), 4) == 0.7661
    for name in ("a2 = W2 h1 + b2", "y_hat = softmax(a2)", "loss -ln(y_hat_3)"):
        assert ex.agrees(quantity(results, 4, name)) is False


# ---- 5. the linear network ---------------------------------------------------------------
def test_linear(results):
    assert_exact(value(results, 5, "hidden = W1 x"), "0.85 0.48")
    assert_exact(value(results, 5, "prediction = W2 hidden"), "0.191")


# ---- 6. softmax versus divide-by-sum -----------------------------------------------------
def test_divide_by_sum_and_softmax(results):
    assert_exact(value(results, 6, "divide-by-sum [3, 4, 10, 3]"), "0.15 0.20 0.50 0.15")
    negative = value(results, 6, "divide-by-sum [7, -2, 4, 1]")
    assert_exact(negative, "0.70 -0.20 0.40 0.10")
    assert min(negative) < 0
    assert_rounded(value(results, 6, "softmax [3, 4, 10, 3]"),
                   "0.00090798 0.00246813 0.99571592 0.00090798")
    p = value(results, 6, "softmax [7, -2, 4, 1]")
    assert min(p) > 0 and sum(p) == pytest.approx(1.0, abs=1e-15)


# ---- 7. the L2 gradient erratum ----------------------------------------------------------
def test_l2_gradient_is_lambda_over_m_w_by_finite_differences():
    """d/dw of lambda/(2m) sum w^2, by central differences on L2.value, is lambda/m w for
    every weight (biases are not penalised); the slide's lambda/(2m) w is half of it."""
    lam, m, eps = 0.7, 3, 1e-6
    net = ex.bce_net()
    params, penalty = net.parameters(), cr.L2(lam)
    for p in params:
        p.grad[...] = 0.0
    penalty.add_grad(params, m)
    for p in params:
        numeric = np.zeros_like(p.value)
        for i in np.ndindex(p.value.shape):
            keep = p.value[i]
            p.value[i] = keep + eps
            up = penalty.value(params, m)
            p.value[i] = keep - eps
            down = penalty.value(params, m)
            p.value[i] = keep
            numeric[i] = (up - down) / (2 * eps)
        expected = lam / m * p.value if p.decay else np.zeros_like(p.value)
        np.testing.assert_allclose(numeric, expected, rtol=0, atol=1e-9)
        np.testing.assert_allclose(p.grad, expected, rtol=0, atol=1e-15)
        if p.decay:
            assert not np.allclose(numeric, lam / (2 * m) * p.value)


def test_l2_example_rows(results):
    fd = quantity(results, 7, "d penalty/d w (w = 0.5), central differences")
    engine = quantity(results, 7, "d penalty/d w (w = 0.5), chainrule's L2 gradient")
    # lambda = 1, m = 2, w = 0.5: lambda/m w = 0.25, the slide's lambda/(2m) w = 0.125
    assert fd.recomputed == pytest.approx(0.25, abs=1e-9)
    assert engine.recomputed == pytest.approx(0.25, abs=1e-15)
    assert fd.slide == engine.slide == 0.125
    assert ex.agrees(fd) is False and "lambda/m w" in fd.note


# ---- every example's gradients against finite differences ---------------------------------
@pytest.mark.parametrize("case", ex.gradcheck_cases(), ids=lambda case: case.title)
def test_gradcheck(case):
    errors = cr.gradcheck(case.net, case.loss, case.X, case.y, l2=case.l2)
    assert errors
    assert all(err < 1e-7 for err in errors.values()), errors


# ---- agreement and the report ------------------------------------------------------------
EXPECTED_DISAGREEMENTS = {
    (1, "dE_o1/dout_h1, dE_o2/dout_h1"),
    (1, "E_total after the first update"),
    (1, "out_o1, out_o2 after 10,000 updates"),
    (2, "theta1 = W1 O0"),
    (2, "theta2 = W2 O1"),
    (2, "O2 = sigmoid(theta2)"),
    (3, "y_hat = sigmoid(a2)"),
    (3, "loss -ln(1 - y_hat)"),
    (4, "a2 = W2 h1 + b2"),
    (4, "y_hat = softmax(a2)"),
    (4, "loss -ln(y_hat_3)"),
    (7, "d penalty/d w (w = 0.5), central differences"),
    (7, "d penalty/d w (w = 0.5), chainrule's L2 gradient"),
}


def test_exactly_the_known_errata_disagree_and_each_is_explained(results):
    disagree = {(n, q.name) for n, (_, qs) in enumerate(results, 1) for q in qs
                if ex.agrees(q) is False}
    assert disagree == EXPECTED_DISAGREEMENTS
    for n, (_, qs) in enumerate(results, 1):
        for q in qs:
            if (n, q.name) in disagree:
                assert q.note, q.name


def test_every_example_reports_something(results):
    assert [title.split(".")[0] for title, _ in results] == list("1234567")
    for _, qs in results:
        assert qs and all(q.recomputed is not None for q in qs)


def test_agrees_uses_the_printed_precision():
    assert ex.printed("0.511301270").decimals == 9
    assert repr(ex.printed("0.20")) == "0.20"
    assert ex.agrees(ex.Quantity("w7+", ex.printed("0.511301270"), 0.5113012702))
    assert not ex.agrees(ex.Quantity("w7+", ex.printed("0.511301270"), 0.5113012749))
    assert ex.agrees(ex.Quantity("v", ex.printed("0.50 0.67"), (0.50249998, 0.67040116)))
    assert ex.agrees(ex.Quantity("none", None, 1.0)) is None
    assert ex.agrees(ex.Quantity("formula", 0.125, 0.1251))


def test_report_check_shows_slide_recomputed_and_errata(results):
    text = ex.report(check=True, examples=results)
    assert "quantity" in text and "the slide says | recomputed" in text and "agrees?" in text
    assert "erratum: typo: 0.8 + 0.2*0.7 - 1.6*1.2 = -0.98, not -9.8" in text
    assert "erratum: the derivative of lambda/(2m) w^2 is lambda/m w" in text
    assert "erratum: the textbook algorithm" in text and "0.2910277737" in text
    assert "[2.51, -9.8]" in text and "[2.51, -0.98]" in text
    for title, _ in results:
        assert title in text
    # a matrix renders one row per line: "[[a, b, c]" then " [d, e, f]]"
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if "dE/dW1 " in line and "[[" in line]
    assert starts and "]]" not in lines[starts[0]] and "]]" in lines[starts[0] + 1]


def test_report_plain_has_no_slide_column(results):
    text = ex.report(examples=results)
    assert "the slide says" not in text and "erratum" not in text
    assert "0.3775" in text
