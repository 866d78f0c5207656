"""``chainrule examples``: the worked examples of the lecture notes, recomputed."""
HELP = "the worked examples of the lecture notes"
EPILOG = """example:
  chainrule examples --check      # every worked example: the slide, recomputed, agrees?
"""


def add_arguments(p):
    p.add_argument("--check", action="store_true",
                   help="compare each number with the slide and show the errata")


def run(args, out):
    from ..examples import report

    out.write(report(check=args.check))
    out.write("\n")
    return 0
