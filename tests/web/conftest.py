"""A real playground server on a free port, and Debian's Chromium driven by Playwright."""
import os
import shutil
import socket
import tempfile
import threading
import time
import warnings

import pytest

CHROMIUM = os.environ.get("CHAINRULE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server():
    """The playground served by uvicorn in a thread; yields its base URL."""
    pytest.importorskip("starlette")
    uvicorn = pytest.importorskip("uvicorn")
    pytest.importorskip("websockets")
    from chainrule.training.loop import DivergenceWarning
    from chainrule.web import create_app

    warnings.simplefilter("ignore", DivergenceWarning)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the playground server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    """A Chromium browser context with a new empty profile; skipped without Chromium."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    with sync_api.sync_playwright() as p:
        # Playwright refuses --user-data-dir in args: a persistent context with a new
        # empty directory is the same thing
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            accept_downloads=True)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
