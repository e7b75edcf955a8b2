"""Back end: the module-level names of one generated module, chosen before any code is emitted.

Generated functions read names bound at module level: the import aliases of
``functools.partial`` (``_partial``), of the runtime (``_rt``) and of math/numpy; the
builtin ``abs``; the sweep functions a vjp or ivjp returns (``f_vjp_bwd``,
``f_ivjp_sweep``); the module constants copied from the source. A user name equal to one of
them (a parameter ``_rt``, a local ``abs``, a parameter ``math`` in a source that calls no
module, a constant ``_partial``) would shadow it or be shadowed by it.

So every such name is chosen here, once per module, against every name of every function
generated into it (the identifiers each source mentions, ``Program.reserved``, and its SSA
values) and against the other module-level names: the plain name when it is free, else
the plain name with a numeric suffix (``_rt_1``, ``f_vjp_bwd_1``, ``math_1``). Each emitter
then reserves all of them, so no derived local takes one either.

* ``abs`` and the ``math`` that derivative rules call in a source that calls no module stay
  plain unless a function of the module binds that name (a parameter, a local, a module
  constant); merely calling ``abs`` does not count.
* The source's own module aliases and constants keep their names, except where a public
  name takes them: the entry points ``<f>_<mode>`` (``f_jvp``...) are never renamed, so a
  module constant ``f_jvp`` is copied into the module as ``f_jvp_1`` (with a comment naming
  the original) and read under that name. (Two functions' public names cannot coincide:
  no mode name contains ``_``.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..naming import Namer
from ..ir import Const, Program, iter_operands, iter_stmts, loop_values
from ..sym import Ref

if TYPE_CHECKING:
    from ..analysis.graph import LayeredGraph

SWEEPS = {"vjp": "vjp_bwd", "ivjp": "ivjp_sweep"}     # mode -> role of the function it returns


def used_constants(program: Program, graph: "LayeredGraph") -> dict[str, float]:
    """The module constants the emitted code of ``program`` reads, by source name."""
    constants = {}
    operands = list(iter_operands(program.body)) + list(program.outputs)
    for arg in operands:
        if isinstance(arg, Const) and isinstance(arg.ref, Ref):
            constants[arg.ref.name] = arg.value
    return constants


class ModuleNames:
    """The module-level names of a module generated from ``items``: (program, graph, modes)."""

    def __init__(self, items: list[tuple[Program, "LayeredGraph", tuple[str, ...]]]):
        mentioned: set[str] = set()
        self.locals: set[str] = set()             # SSA values (parameters included), any function
        for prog, _, _ in items:
            mentioned |= prog.reserved
            self.locals |= {p.name for p in prog.params} | {s.target.name for s in iter_stmts(prog.body)}
            self.locals |= {v.name for v in loop_values(prog.body)}
        self._user = mentioned | self.locals
        self.bindings: dict[str, tuple] = {}      # module-level name -> what it binds
        for prog, _, modes in items:
            for mode in modes:
                self.bindings[f"{prog.name}_{mode}"] = ("def", prog.name, mode)
        self._namer = Namer(self._user | set(self.bindings))
        self._aliases: dict[int, dict[str, str]] = {}
        self._constants: dict[int, dict[str, str]] = {}
        self.constants: dict[str, tuple[float, str]] = {}   # emitted name -> (value, source name)
        for prog, graph, _ in items:
            aliases = {a: self._bind(a, ("module", kind)) for a, kind in sorted(prog.modules.items())}
            if not prog.modules:               # derivative rules call math.<fn>: one free name for it
                aliases[prog.default_ns] = self._bind("math", ("module", "math"), self.locals)
            constants = {}
            for name, value in sorted(used_constants(prog, graph).items()):
                constants[name] = self._bind(name, ("constant", repr(value)))
                self.constants[constants[name]] = (value, name)
            self._aliases[id(prog)] = aliases
            self._constants[id(prog)] = constants
        for prog, _, modes in items:
            for mode in modes:
                if mode in SWEEPS:
                    self.helper(prog, SWEEPS[mode])
        self.partial = self._bind("_partial", ("import", "functools.partial"), self._user)
        self.runtime = self._bind("_rt", ("import", "s2s_invad.runtime"), self._user)
        self.abs = self._bind("abs", ("builtin", "abs"), self.locals)

    def _bind(self, want: str, meaning: tuple, avoid: set[str] = frozenset()) -> str:
        """``want`` for ``meaning``, unless it is bound to something else or in ``avoid``."""
        if self.bindings.get(want) == meaning and want not in avoid:
            return want
        name = want if want not in self.bindings and want not in avoid else self._namer.fresh(want)
        self._namer.take(name)
        self.bindings[name] = meaning
        return name

    def helper(self, prog: Program, role: str) -> str:
        """The name of ``prog``'s module-level function ``role`` (e.g. ``f_vjp_bwd``)."""
        return self._bind(f"{prog.name}_{role}", ("def", prog.name, role), self._user)

    def aliases(self, prog: Program) -> dict[str, str]:
        """Module alias of the source (or its default namespace) -> the alias to emit."""
        return self._aliases[id(prog)]

    def constant_names(self, prog: Program) -> dict[str, str]:
        """Module constant of the source -> the name it has in the generated module."""
        return self._constants[id(prog)]

    @property
    def taken(self) -> set[str]:
        """Every module-level name (no local of a generated function may take one)."""
        return set(self.bindings)
