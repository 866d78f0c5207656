"""The playground in a real browser: train spirals, upload, trace a point, export, screenshots.

Needs Debian's ``chromium`` and the ``playwright`` package (skipped without them).
Screenshots go to pytest's tmp directory, or to ``docs/`` with
``CHAINRULE_SCREENSHOTS=docs``.
"""
import os

import numpy as np
import pytest

import chainrule as cr

URL_SETTINGS = ("?dataset=spirals&points=300&noise=0.2&test_fraction=0.3&hidden=8,8"
                "&activations=tanh,tanh&optimizer=adam&lr=0.03&batch_size=10&seed=0"
                "&loss=cross_entropy")


def open_page(browser, server, width, height, query=URL_SETTINGS):
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/" + query)
    page.wait_for_function("window.playground && window.playground.ready", timeout=15000)
    return page, errors


def shot_path(tmp_path, name):
    if os.environ.get("CHAINRULE_SCREENSHOTS") == "docs":
        root = os.path.join(os.path.dirname(__file__), "..", "..", "docs")
        os.makedirs(root, exist_ok=True)
        return os.path.join(root, f"playground-{name}.png")
    return str(tmp_path / f"playground-{name}.png")


def train_until(page, accuracy=0.9, timeout=90000):
    page.click("#play")
    page.wait_for_function(
        f"""() => {{ const t = document.getElementById('val-acc').textContent;
                     return t.endsWith('%') && parseFloat(t) >= {100 * accuracy}; }}""",
        timeout=timeout)
    page.click("#play")  # pause
    page.wait_for_function("!window.playground.playing")
    page.wait_for_timeout(300)  # the last update after the pause


def test_spirals_trace_export_upload_and_screenshots(live_server, browser, tmp_path):
    page, errors = open_page(browser, live_server, 1280, 800)
    assert "spirals" in page.url and "hidden=8%2C8" in page.url  # settings live in the URL
    train_until(page)  # waits until the page shows a test accuracy >= 90%
    assert page.inner_text("#val-acc").endswith("%")  # (the pause may land an epoch later)
    page.screenshot(path=shot_path(tmp_path, "desktop"))

    # click the first training point: its trace appears as a table
    box = page.locator("#boundary").bounding_box()
    point = page.evaluate("window.playground.placed.find(p => p.split === 'train')")
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector("#trace:not([hidden]) table.neurons")
    trace = page.evaluate("window.playground.trace")
    out_name = trace["layers"][-1]["neurons"][0]["name"]
    cell = page.locator(f'#trace table.neurons td[data-name="{out_name}"][data-field="out"]')
    shown_out = float(cell.get_attribute("data-value"))
    param = trace["layers"][0]["parameters"][0]["name"]
    shown_grad = float(page.locator(f'#trace td[data-name="{param}"][data-field="grad"]')
                       .get_attribute("data-value"))
    assert cell.inner_text().strip()  # a formatted number is shown

    # export the same (paused) network and recompute the step with cr.trace
    with page.expect_download() as download:
        page.click("#export-model")
    path = tmp_path / "model.safetensors"
    download.value.save_as(path)
    net = cr.load(path)
    assert net.sizes == [2, 8, 8, 3]
    record = cr.trace(net, cr.CrossEntropy(), np.array([trace["x"]], dtype=np.float32),
                      np.array([int(trace["target"])]), cr.Adam(0.03))
    assert shown_out == pytest.approx(float(record.layers[-1].neurons[0].out[0]), rel=1e-6)
    assert record.layers[-1].neurons[0].name == out_name
    assert shown_grad == pytest.approx(record.parameter(param).grad, rel=1e-5, abs=1e-9)

    # the train config
    with page.expect_download() as download:
        page.click("#export-toml")
    assert "hidden = [" in open(download.value.path()).read()

    # upload a CSV with three features and a text target
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(150, 3))
    csv = tmp_path / "blobs.csv"
    csv.write_text("alpha,beta,gamma,kind\n" + "".join(
        f"{a:.4f},{b:.4f},{c:.4f},{'up' if a + b > 0 else 'down'}\n" for a, b, c in rows))
    page.set_input_files("#csv", str(csv))
    page.wait_for_function("window.playground.meta && window.playground.meta.features.length"
                           " === 3", timeout=15000)
    assert page.evaluate("window.playground.meta.classes") == ["down", "up"]
    assert page.is_visible("#target-row") and page.input_value("#target") == "kind"
    page.click("#step")
    page.wait_for_function("window.playground.update && window.playground.update.epoch === 1")

    # a bad upload: the message is on the page and the session goes on
    bad = tmp_path / "ragged.csv"
    bad.write_text("a,b,label\n1,2,x\n3,4\n")
    page.set_input_files("#csv", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert "ragged" in page.inner_text("#error-text")
    page.click("#step")
    page.wait_for_function("window.playground.update.epoch === 2")
    assert not errors, errors

    phone, errors = open_page(browser, live_server, 390, 844)
    train_until(phone, accuracy=0.8)
    phone.screenshot(path=shot_path(tmp_path, "phone"))
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], "the page scrolls sideways on a phone"
    assert not errors, errors
