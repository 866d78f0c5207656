"""Typesetting a trace: plain text, Markdown, LaTeX and HTML from the same blocks.

Numbers are written like the notes: ``digits`` decimals (9 by default), trailing
zeros dropped (0.75136507, 0.3775); numbers too small for that many decimals to show
four significant digits switch to scientific notation (3.141593e-07).
"""
import html
import math
import re
import textwrap

import numpy as np

from ..errors import UnknownNameError
from .document import PLUS, Eq, Heading, Mat, Num, Para, build
from .names import Lit, latex_escape

FORMATS = ("text", "markdown", "latex", "html")


def format_number(x, digits=9):
    """``digits`` decimals without trailing zeros, or scientific notation when tiny or huge."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if abs(x) < 10.0 ** -(digits // 2) or abs(x) >= 1e9:
        mantissa, _, exponent = f"{x:.{max(digits - 3, 1)}e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent):+03d}"
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def render(records, fmt="text", digits=9, max_neurons=6):
    """One document tracing ``records`` (successive steps) in ``fmt``."""
    if fmt not in FORMATS:
        raise UnknownNameError("trace format", fmt, FORMATS)
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        from ..errors import InvalidValueError

        raise InvalidValueError(f"digits must be an integer from 1 to 17, got {digits!r}")
    blocks = build(list(records), max_neurons=max_neurons)
    return {"text": _Text, "markdown": _Markdown, "latex": _Latex,
            "html": _Html}[fmt](digits).document(blocks)


def _groups(blocks):
    """Consecutive equations together: [("eqs", [Eq...]) or (block, None)]."""
    out = []
    for block in blocks:
        if isinstance(block, Eq):
            if out and out[-1][0] == "eqs":
                out[-1][1].append(block)
            else:
                out.append(("eqs", [block]))
        else:
            out.append((block, None))
    return out


_BACKTICKS = re.compile(r"`([^`]*)`")

MATRIX_LIMIT = 8  # rows or columns beyond this are elided: the first 4, a gap, the last 2


def _shown(n):
    """Indices to write out of ``n``; None marks the gap of the elided ones."""
    if n <= MATRIX_LIMIT:
        return list(range(n))
    return [0, 1, 2, 3, None, n - 2, n - 1]


def matrix_cells(value, number, gap_col, gap_row, gap_both):
    """Rows of cells of a vector or matrix, large ones elided around the middle."""
    a = np.atleast_2d(np.asarray(value, dtype=np.float64))
    rows = []
    for i in _shown(a.shape[0]):
        row = []
        for j in _shown(a.shape[1]):
            if i is None:
                row.append(gap_both if j is None else gap_row)
            else:
                row.append(gap_col if j is None else number(a[i, j]))
        rows.append(row)
    return rows


class _Renderer:
    field = "text"

    def __init__(self, digits):
        self.digits = digits

    def number(self, value, paren=False):
        text = format_number(value, self.digits)
        return f"({text})" if paren and value < 0 else text

    def word(self, text):
        """A prose piece of this format (escaped)."""
        return text

    def token(self, t, math_mode=True):
        if isinstance(t, str):
            return t if math_mode else self.word(t)
        if isinstance(t, Lit):
            return getattr(t, self.field)
        if isinstance(t, Num):
            return self.num_token(t)
        if isinstance(t, Mat):
            return self.matrix(t.value)
        raise TypeError(f"cannot typeset {t!r}")

    def num_token(self, t):
        return self.number(t.value, t.paren)

    def tokens(self, tokens, math_mode=True):
        return "".join(self.token(t, math_mode) for t in tokens)


# ---- plain text ---------------------------------------------------------------------------------
class _Text(_Renderer):
    def matrix(self, value):
        return "\n".join(self.matrix_lines(value))

    def matrix_lines(self, value):
        cells = matrix_cells(value, lambda v: format_number(v, self.digits), "...", ":", "...")
        width = max(len(c) for row in cells for c in row)
        rows = ["[" + ", ".join(c.rjust(width) for c in row) + "]" for row in cells]
        if np.ndim(value) == 1:
            return rows
        return (["[" + rows[0]] + [" " + r for r in rows[1:-1]] + [" " + rows[-1] + "]"]
                if len(rows) > 1 else ["[" + rows[0] + "]"])

    def eq(self, eq):
        parts = [self.tokens(eq.lhs)]
        for part in (eq.formula, eq.numbers):
            if part is not None:
                parts.append(self.tokens(part))
        note = "   (" + _BACKTICKS.sub(r"\1", eq.note) + ")" if eq.note else ""
        value = eq.value[0]
        if isinstance(value, Mat):
            lines = self.matrix_lines(value.value)
            if len(lines) == 1 and len(parts) == 1:
                return [f"{parts[0]} = {lines[0]}{note}"]
            return [" = ".join(parts) + " =" + note] + ["    " + line for line in lines]
        return [" = ".join(parts + [self.tokens(eq.value)]) + note]

    def document(self, blocks):
        lines, previous = [], None
        for block, eqs in _groups(blocks):
            if eqs is not None:
                for eq in eqs:
                    lines += self.eq(eq)
            elif isinstance(block, Heading):
                if lines:
                    lines.append("")
                underline = {1: "=", 2: "-", 3: "~"}.get(block.level, "")
                lines.append(block.text if underline else f"{block.text}:")
                if underline:
                    lines.append(underline * len(block.text))
            elif isinstance(block, Para):
                text = _BACKTICKS.sub(r"\1", self.tokens(block.tokens))
                wrapped = textwrap.wrap(text, width=100, break_on_hyphens=False) or [""]
                if previous == "long" or (previous == "short" and len(wrapped) > 1):
                    lines.append("")  # a blank line around paragraphs of several lines
                lines += wrapped
                previous = "long" if len(wrapped) > 1 else "short"
                continue
            previous = None
        return "\n".join(lines) + "\n"


# ---- Markdown -----------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\*_\[\]<>|])")


class _Markdown(_Renderer):
    def word(self, text):
        return _MD_SPECIAL.sub(r"\\\1", text)

    def code(self, tokens):
        text = "".join(self.token(t) for t in tokens if not isinstance(t, Mat))
        return f"`{text}`" if text else ""

    def matrix(self, value):
        rows = _Text(self.digits).matrix_lines(value)
        return "<br>".join(f"`{r.strip()}`" for r in rows)

    def cell(self, tokens):
        if tokens is None:
            return ""
        if len(tokens) == 1 and isinstance(tokens[0], Mat):
            return self.matrix(tokens[0].value)
        return self.code(tokens)

    def note(self, note):
        parts = _BACKTICKS.split(note)
        return "".join(f"`{p}`" if k % 2 else self.word(p) for k, p in enumerate(parts))

    def table(self, eqs):
        with_note = any(eq.note for eq in eqs)
        header = ["quantity", "formula", "numbers", "value"] + (["note"] if with_note else [])
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for eq in eqs:
            cells = [self.cell(eq.lhs), self.cell(eq.formula), self.cell(eq.numbers),
                     self.cell(eq.value)] + ([self.note(eq.note)] if with_note else [])
            lines.append("| " + " | ".join(cells) + " |")
        return lines

    def para(self, tokens):
        out = []
        for t in tokens:
            if isinstance(t, str):
                out.append(self.note(t))
            elif isinstance(t, Lit):
                out.append(f"`{t.text}`")
            else:
                out.append(self.token(t))
        return "".join(out)

    def document(self, blocks):
        lines = []
        for block, eqs in _groups(blocks):
            if lines:
                lines.append("")
            if eqs is not None:
                lines += self.table(eqs)
            elif isinstance(block, Heading):
                lines.append("#" * block.level + " " + self.word(block.text))
            elif isinstance(block, Para):
                lines.append(self.para(block.tokens))
        return "\n".join(lines) + "\n"


# ---- LaTeX --------------------------------------------------------------------------------------
_LATEX_HEADINGS = {1: "section*", 2: "subsection*", 3: "subsubsection*", 4: "paragraph*"}
LATEX_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=1.8cm]{geometry}
\usepackage{amsmath}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5ex}
\setcounter{MaxMatrixCols}{32}
"""


SHORT_NOTE = 48  # notes up to this long sit beside their equation in LaTeX
LINE_WIDTH = 64  # longer sums (convolutions' kernel gradients) go on several lines


def _latex_prose(text):
    text = latex_escape(text)
    for plain, typeset in (("->", r"$\to$"), ("<", r"$<$"), (">", r"$>$")):
        text = text.replace(plain, typeset)
    return text


class _Latex(_Renderer):
    field = "latex"

    def word(self, text):
        return _latex_prose(text)

    def prose(self, text):
        parts = _BACKTICKS.split(text)
        return "".join(rf"\texttt{{{latex_escape(p)}}}" if k % 2 else _latex_prose(p)
                       for k, p in enumerate(parts))

    def num_token(self, t):
        text = self.number(t.value, t.paren)
        if "e" in text and "inf" not in text:
            sign = ""
            if text.startswith("("):
                text, sign = text[1:-1], "paren"
            mantissa, _, exponent = text.partition("e")
            text = rf"{mantissa}\times 10^{{{int(exponent)}}}"
            if sign:
                text = rf"\left({text}\right)"
        return text.replace("inf", r"\infty")

    def matrix(self, value):
        cells = matrix_cells(value, lambda v: self.num_token(Num(v)), r"\cdots", r"\vdots",
                             r"\ddots")
        rows = [" & ".join(row) for row in cells]
        return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"

    def width(self, tokens):
        """About how many characters ``tokens`` take on the page (their plain-text length;
        a typeset ``+`` with its spaces is about five)."""
        return sum(5 if t == PLUS else len(t) if isinstance(t, str)
                   else len(t.text) if isinstance(t, Lit)
                   else len(self.number(t.value, t.paren)) if isinstance(t, Num) else 40
                   for t in tokens)

    def pieces(self, tokens):
        """A long sum split before a ``+`` into lines of about ``LINE_WIDTH`` characters.

        Only at a ``+`` outside any braces, so that each line's LaTeX stays balanced.
        """
        lines, line, depth, width = [], [], 0, 0
        for t in tokens:
            if t == PLUS and depth == 0 and line and width + self.width([t]) > LINE_WIDTH:
                lines.append(line)
                line, width = [], 0
            line.append(t)
            width += self.width([t])
            code = self.token(t)
            depth += code.count("{") - code.count("}") - code.count(r"\{") + code.count(r"\}")
        self.last_width = width
        return [self.tokens(part) for part in lines + [line]]

    def eq_lines(self, eq):
        lhs = self.tokens(eq.lhs)
        rhs = [self.pieces(part) for part in (eq.formula, eq.numbers) if part is not None]
        value = self.tokens(eq.value)
        if not rhs:
            return [f"{lhs} &= {value}"]
        lines = []
        for k, part in enumerate(rhs):
            for q, piece in enumerate(part):
                lead = r"&\quad " if q else (f"{lhs} &= " if k == 0 else "&= ")
                lines.append(lead + piece)
        lines[-1] += f" = {value}"
        self.last_width += 3 + self.width(eq.value)
        return lines

    def document(self, blocks):
        widest = max((len(_shown(np.atleast_2d(t.value).shape[1])) for b in blocks
                      if isinstance(b, Eq) for t in b.value if isinstance(t, Mat)), default=0)
        preamble = LATEX_PREAMBLE
        if widest > 4:  # matrices of nine-decimal numbers need the page's width
            preamble = preamble.replace("[a4paper,", "[a4paper,landscape,")
        out = [preamble, r"\begin{document}", ""]
        pending = []

        def flush():
            if pending:
                out.append(r"\begin{align*}")
                out.append(" \\\\\n".join(pending))
                out.append(r"\end{align*}")
                pending.clear()

        for block, eqs in _groups(blocks):
            if eqs is not None:
                for eq in eqs:
                    self.last_width = 0
                    pending.extend(self.eq_lines(eq))
                    note = rf"\qquad\text{{\small ({self.prose(eq.note)})}}"
                    if eq.note and len(eq.note) <= SHORT_NOTE and \
                            self.last_width + len(eq.note) > LINE_WIDTH + SHORT_NOTE // 2:
                        pending.append("&" + note)  # on a line of its own, under a long one
                    elif eq.note and len(eq.note) <= SHORT_NOTE:
                        pending[-1] += note
                    elif eq.note:
                        flush()
                        out.append(rf"{{\small\quad ({self.prose(eq.note)})}}\par")
                flush()
            elif isinstance(block, Heading):
                command = _LATEX_HEADINGS.get(block.level, "paragraph*")
                out.append(rf"\{command}{{{latex_escape(block.text)}}}")
            elif isinstance(block, Para):
                text = []
                for t in block.tokens:
                    if isinstance(t, str):
                        text.append(self.prose(t))
                    else:
                        text.append(f"${self.token(t)}$")
                out.append("".join(text) + r"\par")
            out.append("")
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"


# ---- HTML ---------------------------------------------------------------------------------------
HTML_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.5;
       max-width: 80rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; } h3 { font-size: 1.05rem; }
.eq { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
      margin: .35rem 0; white-space: nowrap; overflow-x: auto; }
.value { font-weight: bold; }
.numbers { color: #0b5394; }
.note { font-family: system-ui, sans-serif; color: #666; font-size: .9em; margin-left: 1.5em;
        white-space: normal; }
.frac { display: inline-flex; flex-direction: column; vertical-align: middle;
        text-align: center; font-size: .85em; line-height: 1.2; margin: 0 .1em; }
.frac > span:first-child { border-bottom: 1px solid currentColor; }
table.mat { display: inline-table; border-collapse: collapse; vertical-align: middle;
            border-left: 2px solid #444; border-right: 2px solid #444; margin: .2rem 0; }
table.mat td { padding: 0 .5em; text-align: right; }
code { background: #f4f4f4; padding: 0 .2em; }
"""


class _Html(_Renderer):
    field = "html"

    def word(self, text):
        return html.escape(text)

    def token(self, t, math_mode=True):
        if isinstance(t, str):
            return html.escape(t)
        return super().token(t, math_mode)

    def prose(self, text):
        parts = _BACKTICKS.split(text)
        return "".join(f"<code>{html.escape(p)}</code>" if k % 2 else html.escape(p)
                       for k, p in enumerate(parts))

    def matrix(self, value):
        cells = matrix_cells(value, lambda v: format_number(v, self.digits), "&hellip;",
                             "&#8942;", "&#8945;")
        rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)
        return f'<table class="mat">{rows}</table>'

    def eq(self, eq):
        parts = [f'<span class="lhs">{self.tokens(eq.lhs)}</span>']
        if eq.formula is not None:
            parts.append(f'<span class="formula">{self.tokens(eq.formula)}</span>')
        if eq.numbers is not None:
            parts.append(f'<span class="numbers">{self.tokens(eq.numbers)}</span>')
        parts.append(f'<span class="value">{self.tokens(eq.value)}</span>')
        note = f'<span class="note">{self.prose(eq.note)}</span>' if eq.note else ""
        return f'<div class="eq">{" = ".join(parts)}{note}</div>'

    def document(self, blocks):
        title = next((b.text for b in blocks if isinstance(b, Heading)), "chainrule trace")
        out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
               f"<title>{html.escape(title)}</title>", f"<style>{HTML_STYLE}</style>",
               "</head>", "<body>", "<main>"]
        for block, eqs in _groups(blocks):
            if eqs is not None:
                out.append('<div class="eqs">')
                out += [self.eq(eq) for eq in eqs]
                out.append("</div>")
            elif isinstance(block, Heading):
                level = min(block.level, 6)
                out.append(f"<h{level}>{html.escape(block.text)}</h{level}>")
            elif isinstance(block, Para):
                text = "".join(self.prose(t) if isinstance(t, str) else self.token(t)
                               for t in block.tokens)
                out.append(f"<p>{text}</p>")
        out += ["</main>", "</body>", "</html>"]
        return "\n".join(out) + "\n"
