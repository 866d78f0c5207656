"""The ``chainrule`` command. Each verb is a module with ``add_arguments`` and ``run``."""
import argparse
import sys

from .. import __version__
from ..errors import ChainruleError
from . import (config, evaluate, examples, export, gradcheck, playground, plot, predict, report,
               trace, train, tune)

MODULES = {"train": train, "evaluate": evaluate, "predict": predict, "examples": examples,
           "export": export, "tune": tune, "trace": trace, "gradcheck": gradcheck,
           "playground": playground, "report": report, "plot": plot}


def _runner(module):
    def run(args, out=None):
        return module.run(args, sys.stdout if out is None else out)

    return run


VERBS = {name: _runner(module) for name, module in MODULES.items()}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Feed-forward networks trained by backpropagation, every step visible.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")
    for name, module in MODULES.items():
        p = verbs.add_parser(name, help=module.HELP, description=module.__doc__,
                             epilog=module.EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
    return parser


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    try:
        if getattr(args, "config", None) or getattr(args, "resume", None):
            args = config.reparse(parser, argv, args)
        return VERBS[args.verb](args)
    except ChainruleError as e:
        print(f"chainrule {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a path that is a directory, unwritable, missing, a full disk...
        print(f"chainrule {args.verb}: error: {_os_error(e)}", file=sys.stderr)
        return 2


def _os_error(e):
    """``'out/': is a directory`` from an OSError, naming the path the user typed."""
    reason = {IsADirectoryError: "is a directory, expected a file",
              NotADirectoryError: "a part of the path is not a directory",
              FileNotFoundError: "no such file or directory",
              PermissionError: "permission denied"}.get(type(e), e.strerror or str(e))
    if e.filename is None:
        return reason
    names = repr(e.filename) + (f" -> {e.filename2!r}" if e.filename2 is not None else "")
    return f"{names}: {reason}"
