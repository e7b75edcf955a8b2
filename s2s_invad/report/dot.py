"""Drawing: the layered data-flow graph of one function, as in Pearlmutter & Siskind's figures.

One row per program point (point 0, the entry, on top), one column per register: a result
that overwrites a dying operand takes its column, so a column follows one register's
lineage. Identity edges carry a value from one point to the next. For a step
``new = g(old, r)`` (a = dg/d old, the pivot, and b = dg/dr) the edges are those of the
layer's map in each mode:

* jvp, J: ``old -> new`` labelled a and ``r -> new`` labelled b, pointing down;
* vjp, J^T: the same edges reversed (the reverse sweep climbs the graph);
* ijvp, J^-1: ``old = (1/a) new + (-b/a) r``: edges from the later point to the earlier
  one, ``new -> old`` labelled 1/a and ``r -> old`` labelled -b/a;
* ivjp, J^-T: the ijvp edges reversed, pointing down.

In the inverse modes a lump with k >= 2 (or a one-register lump of several steps) is
solved as a block, not edge by edge: its edges are dashed and keep J's partials (the
entries of A and B), and its rows say so; for k > 3 they also say how its block A is
solved (``structured`` for a sparse LU generated for its pattern or SuperLU on it).

:func:`figure` computes the picture; :func:`to_dot` prints it as Graphviz DOT (no
dependency); :func:`render` writes SVG or PNG with Graphviz ``dot`` when it is on PATH,
else with matplotlib when importable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from .. import _astlib as A
from ..analysis.pattern import UNROLL_MAX_K
from ..analysis.pattern import label as structure_label
from ..back.emit_common import Emitter
from ..errors import DrawingError
from ..ir import Value
from ..pipeline import Analysis
from ..back.render import MODE_TITLES
from ..sym import ONE, Op

MAX_CELLS = 1500                  # points x columns above which drawing is refused
FORMATS = ("dot", "gv", "svg", "png")
IMAGE_FORMATS = ("svg", "png")
UPWARD_MODES = ("vjp", "ijvp")    # the sweeps that run last to first


@dataclass
class Arrow:
    tail: tuple[int, str]         # (point, value name) the sweep reads from
    head: tuple[int, str]         # (point, value name) the sweep writes to
    label: str                    # "" for identity edges
    identity: bool
    block: bool = False           # inside a lump inverted as a block (inverse modes)


@dataclass
class Figure:
    name: str                     # the function's name
    mode: str
    title: str
    rows: list[str]               # one label per program point
    columns: dict[tuple[int, str], int]   # cell (point, value name) -> column
    n_columns: int
    arrows: list[Arrow] = field(default_factory=list)


def registers(analysis: Analysis) -> dict[str, int]:
    """A column for every active value: a result takes the column of a dying operand.

    Preference: the dying operand that binds the same source variable, then the first
    dying operand; a result with none (an expansive step) takes the lowest free column,
    or a new one.
    """
    graph = analysis.graph
    column: dict[str, int] = {}
    for v in graph.born:
        if graph.born[v] == 0:
            column[v.name] = len(column)
    free: list[int] = []
    n_columns = len(column)
    for i, stmt in enumerate(graph.steps, start=1):
        dying = [a for a in graph.partials[stmt] if graph.end[a] == i - 1]
        same_var = [a for a in dying if a.var is not None and a.var == stmt.target.var]
        if same_var or dying:
            taken = column[(same_var or dying)[0].name]
        elif free:
            taken = min(free)
            free.remove(taken)
        else:
            taken, n_columns = n_columns, n_columns + 1
        column[stmt.target.name] = taken
        free += [column[a.name] for a in dying if column[a.name] != taken]
    return column


def _text(em: Emitter, e) -> str:
    return e if isinstance(e, str) else A.to_source(em.expr(e))


def figure(analysis: Analysis, mode: str) -> Figure:
    """The picture of ``analysis``'s layered graph for ``mode``.

    Raises NotInvertibleError for an inverse mode of a non-invertible function, and
    DrawingError above :data:`MAX_CELLS` cells.
    """
    prog, graph = analysis.program, analysis.graph
    if analysis.rolled:
        lines = ", ".join(str(n.line) for n in prog.loop_notes if n.rolled)
        raise DrawingError(f"{prog.name} keeps the loop at line {lines} as a loop, and the layered graph "
                           "is drawn for straight-line code: unroll it to draw it (--unroll, or "
                           "unroll=True), or see one iteration's regions and lumps with explain")
    inverse = mode in ("ijvp", "ivjp")
    lumps = analysis.require_lumps() if inverse else []
    column = registers(analysis)
    n_columns = max(column.values(), default=-1) + 1
    cells = graph.n_points * n_columns
    if cells > MAX_CELLS:
        raise DrawingError(
            f"the graph of {prog.name} has {graph.n_points} program points x {n_columns} registers "
            f"= {cells} cells, more than the {MAX_CELLS} a readable figure can hold; "
            f"use 's2s-invad explain' for the width profile of big functions")
    em = Emitter(prog, graph)
    rows = [f"0: entry ({', '.join(p.name for p in prog.wrt)})"]
    rows += [f"{i}: {stmt!r}  (line {stmt.line})" for i, stmt in enumerate(graph.steps, start=1)]
    equasive: dict[int, Value] = {}           # point -> the killed value of a one-step k = 1 lump
    for n, lump in enumerate(lumps, start=1):
        if lump.k == 1 and len(lump.steps) == 1:
            equasive[lump.stop] = lump.killed[0]
            continue
        how = f", {structure_label(em.structure(lump))}" if lump.k > UNROLL_MAX_K else ""
        for p in range(lump.start + 1, lump.stop + 1):
            rows[p] += f"  [block: lump {n}, k = {lump.k}{how}]"
    title = f"{prog.name}: layered data-flow graph, {mode} ({MODE_TITLES[mode]})"
    if len(equasive) < len(lumps):
        title += "\ndashed: a lump inverted as one block (its edges show the partials of J)"
    fig = Figure(prog.name, mode, title, rows,
                 {(p, v.name): column[v.name]
                  for v in graph.born for p in range(graph.born[v], graph.end[v] + 1)},
                 n_columns)
    upward = mode in UPWARD_MODES
    for u, v, data in graph.expand().edges(data=True):
        early, late, weight, block = u, v, data["weight"], False
        if data["identity"]:
            label = ""
        elif inverse and v[0] in equasive:
            # The inverted step: old = (1/a) new + (-b/a) r, read across the same layer.
            old = equasive[v[0]]
            a = graph.partials[graph.steps[v[0] - 1]][old]
            sign, a = (-1, a.args[0]) if isinstance(a, Op) and a.op == "neg" else (1, a)
            if u[1] == old.name:
                label = _text(em, sign * (ONE / a))
            else:
                early, late = (u[0], old.name), (v[0], u[1])
                label = _text(em, -sign * (weight / a))
        else:
            label, block = _text(em, weight), inverse
        tail, head = (late, early) if upward else (early, late)
        fig.arrows.append(Arrow(tail, head, label, data["identity"], block))
    fig.arrows.sort(key=lambda a: (min(a.tail[0], a.head[0]), fig.columns[a.tail], fig.columns[a.head]))
    return fig


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _cell_id(cell: tuple[int, str]) -> str:
    return _quote(f"p{cell[0]}_{cell[1]}")


def to_dot(fig: Figure) -> str:
    """Graphviz DOT text: rows are ``rank=same`` groups, columns are node ``group`` s.

    Invisible nodes fill the empty cells and invisible edges hold the grid in place, so
    ``dot`` draws registers as straight columns.
    """
    out = [f"digraph {_quote(fig.name + '_' + fig.mode)} {{",
           f"  graph [label={_quote(fig.title)}, labelloc=t, fontname=Helvetica, nodesep=0.5, ranksep=0.6];",
           "  node [shape=ellipse, fontname=Helvetica, fontsize=11];",
           "  edge [fontname=Helvetica, fontsize=9, arrowsize=0.7];"]
    grid = {(cell[0], c): cell for cell, c in fig.columns.items()}
    for p, row in enumerate(fig.rows):
        out.append(f"  // point {p}")
        out.append(f"  {_quote(f'row{p}')} [shape=plaintext, label={_quote(row)}];")
        chain = [_quote(f"row{p}")]
        for c in range(fig.n_columns):
            cell = grid.get((p, c))
            if cell is None:
                out.append(f"  {_quote(f'empty{p}_{c}')} [style=invis, shape=point, group={_quote(f'c{c}')}];")
                chain.append(_quote(f"empty{p}_{c}"))
            else:
                out.append(f"  {_cell_id(cell)} [label={_quote(cell[1])}, group={_quote(f'c{c}')}];")
                chain.append(_cell_id(cell))
        out.append(f"  {{ rank=same; {' -> '.join(chain)} [style=invis]; }}")
    joined = {(min(a.tail, a.head), max(a.tail, a.head)) for a in fig.arrows}
    out.append("  // the grid: rows stacked, columns kept straight")
    for p in range(1, len(fig.rows)):
        out.append(f"  {_quote(f'row{p - 1}')} -> {_quote(f'row{p}')} [style=invis];")
        for c in range(fig.n_columns):
            above, below = grid.get((p - 1, c)), grid.get((p, c))
            if above is not None and below is not None and (above, below) in joined:
                continue
            ids = [_cell_id(x) if x is not None else _quote(f"empty{q}_{c}")
                   for q, x in ((p - 1, above), (p, below))]
            out.append(f"  {ids[0]} -> {ids[1]} [style=invis, weight=10];")
    out.append("  // data flow")
    for a in fig.arrows:
        if a.identity:
            attrs = "color=gray50, weight=10"
        else:
            attrs = f"label={_quote(a.label)}" + (", style=dashed" if a.block else "")
        out.append(f"  {_cell_id(a.tail)} -> {_cell_id(a.head)} [{attrs}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _replace_from_temp(path: str, write) -> None:
    """Call ``write(tmp_path)``, then move the file over ``path`` (nothing left on failure)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".s2s_invad-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _render_graphviz(dot_text: str, fmt: str, tmp: str, exe: str) -> None:
    try:
        proc = subprocess.run([exe, f"-T{fmt}", "-o", tmp], input=dot_text.encode(),
                              capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DrawingError(f"could not run Graphviz dot ({exe}): {exc}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        raise DrawingError(f"Graphviz dot failed (exit {proc.returncode}): {message}")


def _render_matplotlib(fig: Figure, fmt: str, tmp: str) -> None:
    from matplotlib.figure import Figure as MplFigure

    n_rows = len(fig.rows)
    left = 0.45 * max(len(r) for r in fig.rows) / 7 + 0.5    # room for the row labels
    width, height = left + 1.6 * fig.n_columns + 0.5, 1.0 * n_rows + 0.8
    canvas = MplFigure(figsize=(width, height))
    ax = canvas.add_axes((0, 0, 1, 1))
    ax.set_xlim(-left, 1.6 * fig.n_columns)
    ax.set_ylim(-(n_rows - 0.2), 1.0)
    ax.axis("off")

    def xy(cell):
        return 1.6 * fig.columns[cell] + 0.8, -cell[0]
    ax.text(-left + 0.1, 0.6, fig.title, fontsize=11, va="center")
    for p, row in enumerate(fig.rows):
        ax.text(-0.1, -p, row, fontsize=8, ha="right", va="center")
    for a in fig.arrows:
        (x0, y0), (x1, y1) = xy(a.tail), xy(a.head)
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color="gray" if a.identity else "black",
                                    linestyle="--" if a.block else "-", shrinkA=11, shrinkB=11))
        if a.label:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, a.label, fontsize=7, ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none"))
    for cell in fig.columns:
        x, y = xy(cell)
        ax.text(x, y, cell[1], fontsize=9, ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="black"))
    canvas.savefig(tmp, format=fmt, dpi=150)


def render(fig: Figure, path: str, fmt: str) -> str:
    """Write ``fig`` to ``path`` as "svg" or "png" (atomically); return the tool used."""
    exe = shutil.which("dot")
    if exe is not None:
        text = to_dot(fig)
        _replace_from_temp(path, lambda tmp: _render_graphviz(text, fmt, tmp, exe))
        return "Graphviz dot"
    try:
        import matplotlib.figure  # noqa: F401  (the figure API draws without a GUI backend)
    except ImportError:
        raise DrawingError(
            f"cannot write {path}: drawing {fmt.upper()} needs Graphviz (install it so that the "
            "'dot' program is on PATH, e.g. 'apt install graphviz' or 'brew install graphviz') "
            "or matplotlib ('pip install matplotlib', or 'pip install s2s_invad[draw]'); "
            "or write DOT text with -o FILE.dot") from None
    _replace_from_temp(path, lambda tmp: _render_matplotlib(fig, fmt, tmp))
    return "matplotlib"
