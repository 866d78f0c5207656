"""The playground's web server: the page, a WebSocket per tab, uploads and exports.

Nothing here runs NumPy: every session trains in its own worker thread
(:mod:`chainrule.web.session`), and the handlers only move messages and bytes.
"""
import asyncio
import contextlib
import json
import os
import re
import time

from starlette.applications import Starlette
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect

from ..errors import ChainruleError
from . import settings as settings_
from .data import MAX_UPLOAD, UploadTooLarge, Uploads
from .session import RATE, Session

STATIC = os.path.join(os.path.dirname(__file__), "static")
MAX_MESSAGE = 64 * 1024  # a settings message is a few hundred bytes
MAX_SESSIONS = 32
EXPORT_TYPES = {"safetensors": "application/octet-stream", "onnx": "application/octet-stream",
                "toml": "application/toml"}


def create_app(max_upload=MAX_UPLOAD):
    """The Starlette application; ``app.state.sessions`` maps ids to live sessions."""
    uploads = Uploads(max_bytes=max_upload)
    sessions = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            for session in list(sessions.values()):
                session.close()
            uploads.close()

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"),
                            headers={"Cache-Control": "no-cache"})

    async def ping(request):
        return JSONResponse({"pong": time.time()})

    async def upload(request):
        name = os.path.basename(request.query_params.get("name", "upload.csv"))[:100] or \
            "upload.csv"
        name = re.sub(r"[^\w.\- ]", "_", name)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > uploads.max_bytes:
            return _error(str(uploads.too_large(int(length))), 413)
        try:
            token, header, rows = await uploads.receive(request.stream(), name)
        except UploadTooLarge as e:
            return _error(str(e), 413)
        except ChainruleError as e:
            return _error(str(e))
        return JSONResponse({"upload": token, "name": name, "columns": header, "rows": rows})

    async def export(request):
        session = sessions.get(request.path_params["session"])
        fmt = request.path_params["format"]
        if session is None:
            return _error("no such session: reload the page", 404)
        if fmt not in EXPORT_TYPES:
            return _error(f"unknown export format {fmt!r}: safetensors, onnx or toml", 404)
        future = session.request("export", format=fmt)
        try:
            body = await asyncio.wait_for(asyncio.wrap_future(future), 60)
        except ChainruleError as e:
            return _error(str(e), 501 if type(e).__name__ == "NotAvailableError" else 400)
        except Exception as e:
            return _error(f"export failed: {type(e).__name__}: {e}", 500)
        base = "playground-config" if fmt == "toml" else "playground-model"
        return Response(body, media_type=EXPORT_TYPES[fmt], headers={
            "Content-Disposition": f'attachment; filename="{base}.{fmt}"'})

    async def socket(ws):
        await ws.accept()
        if len(sessions) >= MAX_SESSIONS:
            await ws.send_json({"type": "error", "where": "server",
                                "message": f"the server already runs {MAX_SESSIONS} sessions; "
                                           f"close other tabs and reload"})
            await ws.close()
            return
        session = Session(asyncio.get_running_loop(), uploads)
        sessions[session.id] = session
        lock = asyncio.Lock()

        async def send(message, binary=None):
            async with lock:
                if binary is not None:
                    message = {**message, "binary": True}
                await ws.send_text(json.dumps(message))
                if binary is not None:
                    await ws.send_bytes(binary)

        async def sender():
            while True:
                message, binary = await session.out.get()
                await send(message, binary)

        session.start()
        task = asyncio.create_task(sender())
        try:
            await send({"type": "hello", "session": session.id, "rate": RATE,
                        "defaults": settings_.DEFAULTS,
                        "limits": {"layers": settings_.MAX_LAYERS,
                                   "neurons": settings_.MAX_NEURONS,
                                   "points": settings_.MAX_POINTS,
                                   "classes": settings_.MAX_CLASSES,
                                   "upload_mb": uploads.max_bytes / (1024 * 1024)},
                        "datasets": list(settings_.BUILTIN)})
            while True:
                text = await ws.receive_text()
                try:
                    if len(text) > MAX_MESSAGE:
                        raise ValueError(f"message too long ({len(text)} bytes)")
                    message = json.loads(text)
                    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                        raise ValueError("expected a JSON object with a 'type'")
                except ValueError as e:
                    await send({"type": "error", "where": "message",
                                "message": f"bad message: {e}"})
                    continue
                if message["type"] == "ping":  # answered here, never queued behind training
                    await send({"type": "pong", "t": message.get("t")})
                    continue
                message.pop("future", None)
                session.command(message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            session.close()  # the worker leaves fit at its next batch
            sessions.pop(session.id, None)
            task.cancel()

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/ping", ping),
        Route("/api/upload", upload, methods=["POST"]),
        Route("/api/export/{session}/{format}", export),
        WebSocketRoute("/ws", socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.sessions = sessions
    app.state.uploads = uploads
    return app


def _error(message, status=400):
    return JSONResponse({"error": message}, status_code=status)


def serve(host="127.0.0.1", port=8000, open_browser=False, out=None):
    """Run the playground until interrupted."""
    import threading
    import warnings
    import webbrowser

    import uvicorn

    from ..training.loop import DivergenceWarning

    warnings.simplefilter("ignore", DivergenceWarning)  # the page shows it instead
    url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"
    if out is not None:
        out.write(f"chainrule playground: {url}  (Ctrl-C stops it)\n")
        out.flush()
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
