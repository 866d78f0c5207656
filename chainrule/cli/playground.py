"""``chainrule playground``: train and watch a network in the browser, on the real engine."""
HELP = "train and watch a network in the browser"
EPILOG = """examples:
  chainrule playground                 # serve http://localhost:8000/ on 127.0.0.1 only
  chainrule playground --port 8080 --open
"""


def add_arguments(p):
    p.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")


def run(args, out):
    from ..errors import NotAvailableError

    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
        import websockets  # noqa: F401
    except ImportError as e:
        raise NotAvailableError(f"the playground needs the web extra ({e.name} is missing): "
                                f"pip install 'chainrule[web]'") from None
    if not 0 < args.port < 65536:
        from ..errors import InvalidValueError

        raise InvalidValueError(f"--port must be 1 to 65535, got {args.port}")
    from ..web import serve

    serve(host=args.host, port=args.port, open_browser=args.open, out=out)
    return 0
