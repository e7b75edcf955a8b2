"""Back end: the call spec, what the API needs to call a generated function.

The API's wrappers (``jvp``, ``vjp``, ...) check and shape their arguments from the names
of the parameters, the differentiated ones and the outputs, whether the function returns a
tuple, and which modules its source calls. :class:`CallSpec` holds exactly that, built from
the :class:`~s2s_invad.ir.Program` after the transform and stored as JSON next to the
generated text in the cache, so a later process calls the cached code without parsing or
analysing anything. Nothing is pickled: :meth:`CallSpec.from_json` accepts only the fields
and types below and raises ``ValueError`` on anything else.

The wrappers read a spec where they used to read the Program, under the same attribute
names (``spec.params[i].name``, ``spec.wrt``, ``spec.outputs``, ``spec.tuple_output``,
``spec.modules``, ``spec.name``). A wrapper that needs more of the Program adds a field here
(and bumps :data:`FORMAT`, which is part of every cache key).
"""

from __future__ import annotations

from dataclasses import dataclass

FORMAT = 1          # of the JSON below


@dataclass(frozen=True)
class Named:
    """A parameter or an output, by the name messages give it."""
    name: str

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class CallSpec:
    name: str                        # the source function
    entry: str                       # the generated function to call, e.g. "f_jvp"
    params: tuple[Named, ...]        # every parameter, in order
    wrt: tuple[Named, ...]           # the differentiated ones, in parameter order
    outputs: tuple[Named, ...]       # the returned values, in order (as messages name them)
    tuple_output: bool               # True when f returns a tuple
    modules: dict                    # module alias -> "math" | "numpy", those the source calls

    @classmethod
    def of(cls, program, mode: str) -> "CallSpec":
        """The spec of ``program``'s generated ``mode`` function."""
        return cls(program.name, f"{program.name}_{mode}", tuple(Named(p.name) for p in program.params),
                   tuple(Named(p.name) for p in program.wrt), tuple(Named(repr(o)) for o in program.outputs),
                   bool(program.tuple_output), dict(program.modules))

    def to_json(self) -> dict:
        return {"format": FORMAT, "name": self.name, "entry": self.entry,
                "params": [p.name for p in self.params], "wrt": [p.name for p in self.wrt],
                "outputs": [o.name for o in self.outputs], "tuple_output": self.tuple_output,
                "modules": dict(sorted(self.modules.items()))}

    @classmethod
    def from_json(cls, data) -> "CallSpec":
        """The spec stored by :meth:`to_json`; ``ValueError`` for anything else."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a call spec of this format")
        names = {key: data.get(key) for key in ("params", "wrt", "outputs")}
        if not all(isinstance(v, list) and all(isinstance(n, str) for n in v) for v in names.values()):
            raise ValueError("call spec: params, wrt and outputs must be lists of names")
        modules = data.get("modules")
        if not (isinstance(modules, dict) and all(isinstance(k, str) and v in ("math", "numpy")
                                                  for k, v in modules.items())):
            raise ValueError("call spec: modules must map aliases to 'math' or 'numpy'")
        name, entry, tuple_output = data.get("name"), data.get("entry"), data.get("tuple_output")
        if not (isinstance(name, str) and isinstance(entry, str) and entry.isidentifier()
                and isinstance(tuple_output, bool)):
            raise ValueError("call spec: name, entry and tuple_output are missing or mistyped")
        return cls(name, entry, *(tuple(Named(n) for n in names[k]) for k in ("params", "wrt", "outputs")),
                   tuple_output, dict(modules))
