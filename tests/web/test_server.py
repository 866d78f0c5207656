"""The playground server through Starlette's TestClient: sockets, uploads, exports, bad input."""
import json
import os
import threading
import time
import tomllib

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.web import create_app  # noqa: E402

SMALL = {"dataset": "xor", "points": 80, "noise": 0.1, "hidden": [4], "activations": ["tanh"],
         "optimizer": "adam", "lr": 0.05, "batch_size": 10, "seed": 1}


@pytest.fixture
def app():
    return create_app(max_upload=64 * 1024)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def receive(ws, kind, limit=500):
    """Messages until one of type ``kind``; returns (message, binary or None)."""
    for _ in range(limit):
        message = json.loads(ws.receive_text())
        binary = ws.receive_bytes() if message.get("binary") else None
        if message["type"] == kind:
            return message, binary
        if message["type"] == "error" and kind != "error":
            raise AssertionError(f"server error: {message['message']}")
    raise AssertionError(f"no {kind} message")


def hello(ws):
    return receive(ws, "hello")[0]


def configure(ws, settings=SMALL):
    ws.send_json({"type": "config", "settings": settings})
    ready, _ = receive(ws, "ready")
    ready["first_update"] = receive(ws, "update")[0]  # the untrained network's
    return ready


def test_socket_round_trip_trains_and_sends_float32_maps(client):
    with client.websocket_connect("/ws") as ws:
        assert hello(ws)["session"]
        ready = configure(ws)
        assert ready["sizes"] == [2, 4, 2] and ready["task"] == "classification"
        first = ready["first_update"]
        assert first["epoch"] == 0 and first["metrics"]["loss"] > 0
        ws.send_json({"type": "step"})
        update, binary = receive(ws, "update")
        assert update["epoch"] == 1
        values = np.frombuffer(binary, dtype=np.float32)
        grid, channels, n_maps, small, n_weights = values[:5].astype(int)
        assert (grid, channels) == (64, 1)
        assert n_maps == 4 and n_weights == 2 * 4 + 4 + 4 * 2 + 2
        assert len(values) == 5 + grid * grid + n_maps * small * small + n_weights
        probabilities = values[5:5 + grid * grid]
        assert np.all((probabilities >= 0) & (probabilities <= 1))
        ws.send_json({"type": "play"})
        seen = [receive(ws, "update")[0] for _ in range(8)]
        ws.send_json({"type": "pause"})
        assert seen[-1]["epoch"] > 1
        ws.send_json({"type": "ping", "t": 42})
        assert receive(ws, "pong")[0]["t"] == 42


def test_heat_map_row_zero_is_the_bottom(client):
    """Row 0 of the map is the smallest y: on reg-plane (y = (x1 + x2)/2) the first row
    is lower than the last once the network has learnt the plane."""
    settings = {**SMALL, "dataset": "reg-plane", "loss": "squared_error", "hidden": [],
                "activations": [], "lr": 0.1, "batch_size": "full"}
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        configure(ws, settings)
        for _ in range(60):
            ws.send_json({"type": "step"})
            update, binary = receive(ws, "update")
        values = np.frombuffer(binary, dtype=np.float32)
        grid = int(values[0])
        image = values[5:5 + grid * grid].reshape(grid, grid)
        assert image[0].mean() < image[-1].mean()      # y grows with the row
        assert image[:, 0].mean() < image[:, -1].mean()  # x grows with the column


def test_training_is_in_a_worker_thread_and_stops_when_the_socket_closes(app, client):
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        configure(ws)
        ws.send_json({"type": "play"})
        receive(ws, "update")
        (session,) = app.state.sessions.values()
        assert session.thread.is_alive() and session.thread is not threading.current_thread()
    deadline = time.monotonic() + 5
    while session.thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not session.thread.is_alive()
    assert not app.state.sessions


def test_two_sessions_are_independent(client):
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        assert hello(a)["session"] != hello(b)["session"]
        configure(a)
        configure(b, {**SMALL, "dataset": "spirals", "hidden": [6, 6],
                      "activations": ["relu", "tanh"]})
        a.send_json({"type": "step"})
        assert receive(a, "update")[0]["epoch"] == 1
        b.send_json({"type": "step"})
        b.send_json({"type": "step"})
        receive(b, "update")
        assert receive(b, "update")[0]["epoch"] == 2


def test_trace_of_a_point_matches_cr_trace(client):
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        configure(ws)
        for _ in range(3):
            ws.send_json({"type": "step"})
            receive(ws, "update")
        response = client.get(f"/api/export/{ws_session(client)}/safetensors")
        ws.send_json({"type": "trace", "split": "train", "index": 5})
        shown, _ = receive(ws, "trace")
    net = load_bytes(response.content)
    X = np.array([shown["x"]], dtype=np.float32)
    y = np.array([int(shown["target"])])
    record = cr.trace(net, cr.CrossEntropy(), X, y, cr.Adam(0.05))
    layer = record.layers[-1]
    assert shown["layers"][-1]["neurons"][0]["out"] == pytest.approx(float(layer.out[0, 0]),
                                                                    rel=1e-6)
    grads = {p["name"]: p["grad"] for p in shown["layers"][0]["parameters"]}
    for p in record.layers[0].parameters:
        assert grads[p.name] == pytest.approx(p.grad, rel=1e-5, abs=1e-9)
    assert "delta" in shown["layers"][0]["neurons"][0] and shown["text"]


def ws_session(client):
    (session,) = client.app.state.sessions.values()
    return session.id


def load_bytes(body, tmp=None):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.safetensors")
        with open(path, "wb") as f:
            f.write(body)
        return cr.load(path)


def test_exports_model_onnx_and_train_config(client):
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        configure(ws)
        ws.send_json({"type": "step"})
        receive(ws, "update")
        sid = ws_session(client)
        model = client.get(f"/api/export/{sid}/safetensors")
        assert model.status_code == 200
        net = load_bytes(model.content)
        assert net.sizes == [2, 4, 2]
        X = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
        onnx = client.get(f"/api/export/{sid}/onnx")
        if pytest.importorskip("onnx", reason="onnx not installed") is not None:
            assert onnx.status_code == 200 and len(onnx.content) > 100
        config = client.get(f"/api/export/{sid}/toml")
        assert config.status_code == 200
        settings = tomllib.loads(config.text)
        assert settings["hidden"] == [4] and settings["optimizer"] == "adam"
        assert settings["dataset"] == "xor" and settings["epochs"] == 1
        from chainrule.cli import build_parser
        from chainrule.cli.config import apply_settings, subparser

        args = apply_settings(subparser(build_parser(), "train"), [], settings, "exported")
        assert args.hidden == [4] and args.lr == 0.05 and args.momentum == 0.0
        assert net.predict(X).shape == (5, 2)
        assert client.get(f"/api/export/{sid}/exe").status_code == 404
    assert client.get("/api/export/nobody/toml").status_code == 404


CSV = "a,b,c,label\n" + "\n".join(
    f"{x:.3f},{y:.3f},{x * y:.3f},{'yes' if x * y > 0 else 'no'}"
    for x, y in np.random.default_rng(0).normal(size=(120, 2)))


def upload(client, text, name="data.csv"):
    return client.post(f"/api/upload?name={name}", content=text.encode())


def test_upload_and_train_on_a_csv(app, client):
    response = upload(client, CSV)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["a", "b", "c", "label"] and body["rows"] == 120
    assert os.listdir(app.state.uploads.dir) == [body["upload"] + ".csv"]
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        ready = configure(ws, {**SMALL, "dataset": "csv", "upload": body["upload"],
                               "target": "label", "fx": 0, "fy": 2})
        assert ready["classes"] == ["no", "yes"] and ready["features"] == ["a", "b", "c"]
        assert ready["sizes"] == [3, 4, 2] and ready["fy"] == 2
        ws.send_json({"type": "step"})
        assert receive(ws, "update")[0]["epoch"] == 1


def test_upload_directory_is_removed_at_shutdown():
    app = create_app()
    with TestClient(app) as client:
        assert upload(client, CSV).status_code == 200
        directory = app.state.uploads.dir
        assert os.path.isdir(directory)
    assert not os.path.exists(directory)


@pytest.mark.parametrize("text, message", [
    ("a,b,label\n1,2,x\n3,4\n", "ragged"),
    ("", "empty"),
    ("a,b,label\n", "only a header"),
    ("\xff\xfe", "UTF-8"),
])
def test_bad_uploads_are_refused_with_a_message(client, text, message):
    response = client.post("/api/upload?name=bad.csv", content=text.encode("latin-1"))
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_upload_over_the_size_limit(app, client):
    response = upload(client, "a,b,c\n" + "1,2,3\n" * 20000)
    assert response.status_code == 413
    assert "too large" in response.json()["error"] and "limit" in response.json()["error"]
    assert os.listdir(app.state.uploads.dir) == []
    assert client.get("/api/ping").status_code == 200  # still serving


@pytest.mark.parametrize("text, settings, message", [
    ("a,b,label\n1,2,x\n3,oops,y\n" * 3, {"target": "label"}, "expected a number"),
    ("a,b,label\n1,2,x\nnan,2,y\n" * 3, {"target": "label"}, "finite"),
    ("a,b,label\n1,2,0\n3,4,1\n" * 3, {"target": "species"}, "no column 'species'"),
    ("a,b,label\n1,2,0\n3,4,1\n" * 3, {"target": ""}, "choose the target"),
    ("a,b,label\n" + "".join(f"{i},{i % 7},{i}\n" for i in range(300)), {"target": "label"},
     "at most 100 classes"),
    ("a,label\n1,0\n2,1\n3,0\n4,1\n", {"target": "label"}, "at least two feature"),
])
def test_bad_csv_contents_are_reported_on_the_socket(client, text, settings, message):
    response = upload(client, text)
    assert response.status_code == 200, response.text
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        ws.send_json({"type": "config", "settings": {**SMALL, "dataset": "csv",
                                                     "upload": response.json()["upload"],
                                                     **settings}})
        error, _ = receive(ws, "error")
        assert message in error["message"]
        assert "chainrule-playground" not in error["message"]  # names the user's file
        configure(ws)  # the session lives on


@pytest.mark.parametrize("change, message", [
    ({"hidden": [1_000_000_000]}, "1 to 64 neurons"),
    ({"hidden": [4] * 9, "activations": ["relu"] * 9}, "at most 8"),
    ({"lr": -1}, "lr must be in (0"),
    ({"lr": "fast"}, "lr must be a number"),
    ({"batch_size": 0}, "batch_size"),
    ({"dropout": 1.5}, "dropout"),
    ({"optimizer": "magic"}, "optimizer must be one of"),
    ({"activations": ["swish"]}, "activation must be one of"),
    ({"points": 10**9}, "points"),
    ({"dataset": "../../etc/passwd"}, "dataset must be one of"),
    ({"colour": "red"}, "unknown setting"),
    ({"dataset": "reg-plane", "loss": "cross_entropy"}, "regression"),
    ({"dataset": "csv", "upload": "nope", "target": "y"}, "upload it again"),
])
def test_absurd_settings_get_a_clear_message(client, change, message):
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        ws.send_json({"type": "config", "settings": {**SMALL, **change}})
        error, _ = receive(ws, "error")
        assert message in error["message"]
        configure(ws)


def test_bad_messages_and_diverging_training(client):
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        ws.send_text("not json")
        assert "bad message" in receive(ws, "error")[0]["message"]
        ws.send_json({"type": "play"})
        assert "no network yet" in receive(ws, "error")[0]["message"]
        ws.send_json({"type": "launch"})
        assert "unknown message" in receive(ws, "error")[0]["message"]
        configure(ws, {**SMALL, "dataset": "reg-plane", "optimizer": "sgd", "lr": 10,
                       "loss": "squared_error", "activations": ["identity"] * 3,
                       "hidden": [16] * 3, "batch_size": "full"})
        ws.send_json({"type": "play"})
        error, _ = receive(ws, "error", limit=300)
        assert "NaN" in error["message"] or "infinite" in error["message"]
        ws.send_json({"type": "trace", "index": 10**6})
        assert "no train example" in receive(ws, "error")[0]["message"]


def test_updates_are_rate_limited(client):
    with client.websocket_connect("/ws") as ws:
        hello(ws)
        configure(ws, {**SMALL, "points": 40})
        ws.send_json({"type": "play"})
        receive(ws, "update")
        start = time.monotonic()
        epochs = []
        while time.monotonic() - start < 1.0:
            epochs.append(receive(ws, "update")[0]["epoch"])
        ws.send_json({"type": "pause"})
        assert len(epochs) <= 40  # about 30 a second
        assert epochs[-1] - epochs[0] > len(epochs)  # several epochs per update


def test_four_sessions_training_keep_the_server_responsive(live_server):
    """4 tabs train at once (the sessions' worker threads share the cores); a fifth
    connection's pings and an HTTP request are still answered within 100 ms."""
    import asyncio

    websockets = pytest.importorskip("websockets")
    httpx = pytest.importorskip("httpx")
    url = live_server.replace("http", "ws") + "/ws"
    busy = {**SMALL, "dataset": "spirals", "points": 2000, "hidden": [32, 32, 32],
            "activations": ["relu", "tanh", "relu"], "batch_size": 5}

    async def trainer(epochs):
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "config", "settings": busy}))
            started = False
            async for frame in ws:
                if isinstance(frame, bytes):
                    continue
                message = json.loads(frame)
                if message["type"] == "error":
                    raise AssertionError(message["message"])
                if message["type"] == "ready" and not started:
                    await ws.send(json.dumps({"type": "play"}))
                    started = True
                if message["type"] == "update":
                    epochs.append(message["epoch"])

    async def main():
        epochs = [[] for _ in range(4)]
        tasks = [asyncio.create_task(trainer(e)) for e in epochs]
        while not all(e and e[-1] >= 1 for e in epochs):  # all four are training
            await asyncio.sleep(0.05)
            for t in tasks:
                if t.done():
                    t.result()
        rtts, http = [], []
        async with websockets.connect(url) as ws, httpx.AsyncClient() as client:
            await ws.recv()  # hello
            for i in range(30):
                start = time.perf_counter()
                await ws.send(json.dumps({"type": "ping", "t": i}))
                while json.loads(await ws.recv()).get("type") != "pong":
                    pass
                rtts.append(time.perf_counter() - start)
                start = time.perf_counter()
                assert (await client.get(live_server + "/api/ping")).status_code == 200
                http.append(time.perf_counter() - start)
                await asyncio.sleep(0.05)
        progress = [e[-1] for e in epochs]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return rtts, http, progress

    rtts, http, progress = asyncio.run(main())
    print(f"\nping over the socket: median {1000 * np.median(rtts):.1f} ms, max "
          f"{1000 * max(rtts):.1f} ms; HTTP: median {1000 * np.median(http):.1f} ms, max "
          f"{1000 * max(http):.1f} ms; epochs reached {progress}")
    assert all(p >= 2 for p in progress)  # they really trained meanwhile
    assert np.percentile(rtts, 90) < 0.1 and np.median(rtts) < 0.05
    assert np.percentile(http, 90) < 0.1
