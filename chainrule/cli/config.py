"""``--config exp.toml``: the same settings as the flags, in a file that can be re-run.

A setting is the flag's name with underscores (``batch_size = 64``). Precedence:
command-line flag > config file > built-in default. After training, the effective
settings are written back next to the model (``model.toml``) so any run can be repeated.
"""
import argparse
import tomllib

import tomli_w

from ..errors import InvalidValueError, unknown

# Settings that describe one run (not where its files go, how it prints or how fast).
NOT_SAVED = {"config", "verb", "quiet", "resume", "threads"}  # threads: of this machine


def read(path):
    """The settings dict of a TOML file; syntax errors name the line."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise InvalidValueError(f"config file {path!r} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidValueError(f"config file {path!r} is not valid TOML: {e}") from None


def apply(parser, argv, path):
    """Parse ``argv`` with the settings of the file at ``path`` as defaults."""
    return apply_settings(parser, argv, read(path), path)


def apply_settings(parser, argv, settings, path):
    """Parse ``argv`` with ``settings`` (from the file at ``path``) as defaults.

    Each value goes through the flag's own type check, so a file gets the same errors
    as the command line.
    """
    settings = dict(settings)
    actions = {a.dest: a for a in parser._actions if a.dest not in ("help", "verb")}
    for key, value in settings.items():
        dest = key.replace("-", "_")
        if dest not in actions:
            raise unknown(f"setting in {path}", key, sorted(actions))
        settings[key] = _convert(actions[dest], value, path, key)
    parser.set_defaults(**{k.replace("-", "_"): v for k, v in settings.items()})
    return parser.parse_args(argv)


def _convert(action, value, path, key):
    if action.choices is not None and value not in action.choices:
        raise InvalidValueError(f"config file {path}: {key} = {value!r} is not one of "
                                f"{', '.join(map(str, action.choices))}")
    if action.type is None or isinstance(value, bool) or value is None:
        return value
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    try:
        return action.type(text)
    except (argparse.ArgumentTypeError, ValueError) as e:
        raise InvalidValueError(f"config file {path}: {key} = {value!r}: {e}") from None


def settings(args):
    """The run's effective settings as plain values (None means "not set")."""
    found = {k: v for k, v in sorted(vars(args).items()) if k not in NOT_SAVED and v is not None}
    if "batch_size" in vars(args) and args.batch_size is None:
        found["batch_size"] = "full"  # None means batch gradient descent, not "unset"
    return found


def write(path, args):
    """Write the run's effective settings as TOML."""
    found = settings(args)
    with open(path, "wb") as f:
        tomli_w.dump(found, f)


def subparser(parser, verb):
    """The parser of one verb of the ``chainrule`` command."""
    return next(a.choices[verb] for a in parser._actions
                if isinstance(a, argparse._SubParsersAction))


def reparse(parser, argv, args):
    """Parse again with the settings of ``--config`` (or of the ``--resume`` checkpoint,
    which stores them) as the verb's defaults."""
    verb = args.verb
    sub = subparser(parser, verb)
    argv = list(argv)
    rest = argv[argv.index(verb) + 1:]
    if getattr(args, "resume", None):
        from ..io import read_metadata

        saved = read_metadata(args.resume).get("settings")
        if saved is None:
            raise InvalidValueError(f"{args.resume} holds no chainrule train settings; it was "
                                    f"not written by chainrule train --checkpoint")
        new = apply_settings(sub, rest, saved, args.resume)
    else:
        new = apply(sub, rest, args.config)
    new.verb = verb
    return new
