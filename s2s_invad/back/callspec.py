"""Back end: the call spec, what the API needs to call a generated function.

The API's wrappers (``jvp``, ``vjp``, ...) check and shape their arguments from the
signature (each parameter's name, its length when it is a vector, whether it is
differentiated, which are runtime trip counts), the shape of the result (:attr:`~s2s_invad.ir.Program.out_spec`) and the
modules the source calls. :class:`CallSpec` holds exactly that, built from the
:class:`~s2s_invad.ir.Program` after the transform and stored as JSON next to the
generated text in the cache, so a later process calls the cached code without parsing or
analysing anything. Nothing is pickled: :meth:`CallSpec.from_json` accepts only the fields
and types below and raises ``ValueError`` on anything else.

The wrappers read a spec under the Program's attribute names (``spec.signature``,
``spec.wrt_params``, ``spec.out_spec``, ``spec.tuple_output``, ``spec.modules``,
``spec.name``, ``spec.calls_math``, ``spec.counts``). A wrapper that needs more of the Program adds a
field here (and bumps :data:`FORMAT`, which is part of every cache key).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FORMAT = 6          # of the JSON below


@dataclass(frozen=True)
class ParamSpec:
    """A source parameter: a scalar, or a vector of ``length`` scalars."""
    name: str
    length: int | None
    differentiated: bool

    @property
    def is_vector(self) -> bool:
        return self.length is not None

    def __repr__(self) -> str:
        return self.name


def _spec_ok(spec, depth=0) -> bool:
    if spec is None:
        return True
    if isinstance(spec, int) and not isinstance(spec, bool):
        return spec >= 0
    return isinstance(spec, tuple) and depth < 32 and all(_spec_ok(s, depth + 1) for s in spec)


def _spec_of_json(data):
    if isinstance(data, list):
        return tuple(_spec_of_json(d) for d in data)
    return data


def _spec_to_json(spec):
    if isinstance(spec, tuple):
        return [_spec_to_json(s) for s in spec]
    return spec


@dataclass(frozen=True)
class CallSpec:
    name: str                        # the source function
    entry: str                       # the generated function to call, e.g. "f_jvp"
    signature: tuple[ParamSpec, ...] # every parameter, in order
    out_spec: object                 # None (a scalar), n (a 1-D array of n) or a tuple of specs
    modules: dict                    # module alias -> "math" | "numpy", those the source calls
    calls_math: bool = False         # a math function on runtime values: one point at a time
    counts: dict = field(default_factory=dict)   # parameter used as a runtime trip count -> "file:line" of its loop
    products: dict = field(default_factory=dict)  # vector parameter used whole in @ or np.dot -> "file:line"
    statics: tuple = ()              # parameters given a parameter object (passed through, unused)

    @property
    def wrt_params(self) -> list[ParamSpec]:
        return [p for p in self.signature if p.differentiated]

    @property
    def tuple_output(self) -> bool:
        return isinstance(self.out_spec, tuple)

    @property
    def vectors(self) -> set[str]:
        return {p.name for p in self.signature if p.is_vector}

    @classmethod
    def of(cls, program, mode: str) -> "CallSpec":
        """The spec of ``program``'s generated ``mode`` function."""
        return cls(program.name, f"{program.name}_{mode}",
                   tuple(ParamSpec(p.name, p.length, p.differentiated) for p in program.signature),
                   program.out_spec, dict(program.modules), program.calls_math, dict(program.counts),
                   dict(program.products), tuple(program.statics))

    def to_json(self) -> dict:
        return {"format": FORMAT, "name": self.name, "entry": self.entry,
                "signature": [[p.name, p.length, p.differentiated] for p in self.signature],
                "out_spec": _spec_to_json(self.out_spec), "modules": dict(sorted(self.modules.items())),
                "calls_math": self.calls_math, "counts": dict(self.counts), "products": dict(self.products),
                "statics": list(self.statics)}

    @classmethod
    def from_json(cls, data) -> "CallSpec":
        """The spec stored by :meth:`to_json`; ``ValueError`` for anything else."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a call spec of this format")
        signature = data.get("signature")
        if not isinstance(signature, list) or not all(
                isinstance(p, list) and len(p) == 3 and isinstance(p[0], str) and p[0].isidentifier()
                and (p[1] is None or (isinstance(p[1], int) and not isinstance(p[1], bool) and p[1] >= 0))
                and isinstance(p[2], bool) for p in signature):
            raise ValueError("call spec: signature must list [name, length or null, differentiated]")
        out_spec = _spec_of_json(data.get("out_spec"))
        if not _spec_ok(out_spec):
            raise ValueError("call spec: out_spec must be null, a length or a list of specs")
        modules = data.get("modules")
        if not (isinstance(modules, dict) and all(isinstance(k, str) and v in ("math", "numpy")
                                                  for k, v in modules.items())):
            raise ValueError("call spec: modules must map aliases to 'math' or 'numpy'")
        calls_math = data.get("calls_math")
        if not isinstance(calls_math, bool):
            raise ValueError("call spec: calls_math must be true or false")
        names = {p[0] for p in signature}
        counts, products = data.get("counts"), data.get("products")
        for what, sites in (("counts", counts), ("products", products)):
            if not (isinstance(sites, dict) and all(k in names and isinstance(v, str) for k, v in sites.items())):
                raise ValueError(f"call spec: {what} must map parameter names to 'file:line' strings")
        statics = data.get("statics")
        if not (isinstance(statics, list) and all(s in names for s in statics)):
            raise ValueError("call spec: statics must list parameter names")
        name, entry = data.get("name"), data.get("entry")
        if not (isinstance(name, str) and isinstance(entry, str) and entry.isidentifier()):
            raise ValueError("call spec: name and entry are missing or mistyped")
        return cls(name, entry, tuple(ParamSpec(*p) for p in signature), out_spec, dict(modules), calls_math,
                   dict(counts), dict(products), tuple(statics))
