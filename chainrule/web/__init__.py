"""The playground: train a network in the browser on the real engine.

``chainrule playground`` serves :func:`create_app` (Starlette + uvicorn, the optional
extra ``chainrule[web]``). Each browser tab opens a WebSocket and gets its own
training session in a worker thread (:mod:`.session`).
"""


def create_app(*args, **kwargs):
    from .app import create_app as create

    return create(*args, **kwargs)


def serve(*args, **kwargs):
    from .app import serve as run

    return run(*args, **kwargs)


__all__ = ["create_app", "serve"]
