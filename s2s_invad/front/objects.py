"""Front end: parameter objects read as transform-time constants (SPEC section 7).

A function may read the attributes of a *parameter object* it reaches through a module
global, a closure variable, a default value or a keyword-only constant: a dataclass
instance (frozen or not), a namedtuple or ``typing.NamedTuple`` (by attribute and by
index), a ``types.SimpleNamespace``, or an instance of a plain class (its ``vars()``).
Like a module constant, every value read is fixed when the function is transformed:
numbers, bools, None, tuples and lists of them, NumPy arrays of numbers, dicts of such
values and nested parameter objects (``p.arm.length``). The generated code has them built
in, so the API's guard and the disk cache's key follow the object's fields by value
(:func:`state`): changing ``p.a`` after a call transforms again.

``p.force(x)`` (a method defined with def in the same file) and ``p.area`` (a property)
are inlined as helpers with ``self`` bound to the object; static and class methods, and
attributes that are not such values, are refused naming the attribute.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import types

import numpy as np

_NOT_OBJECTS = (int, float, complex, str, bytes, bool, list, dict, set, frozenset, range, slice,
                np.ndarray, np.generic, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                types.MethodType, type, type(None))


def is_namedtuple(value) -> bool:
    """An instance of a namedtuple or typing.NamedTuple class."""
    return isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple)


def is_param_object(value) -> bool:
    """A dataclass instance, a SimpleNamespace or a plain class instance with a ``__dict__``
    (a namedtuple is a tuple, kept as one: see :func:`convert`)."""
    if isinstance(value, _NOT_OBJECTS) or isinstance(value, (tuple, enum.Enum)) or callable(value):
        return False
    if dataclasses.is_dataclass(value) or isinstance(value, types.SimpleNamespace):
        return True
    cls = type(value)
    return cls.__module__ not in ("builtins", "numpy") and hasattr(value, "__dict__")


def fields(value) -> dict:
    """The instance attributes of a parameter object, in definition order."""
    out = {}
    if dataclasses.is_dataclass(value):
        out.update((f.name, getattr(value, f.name)) for f in dataclasses.fields(value) if hasattr(value, f.name))
    if hasattr(value, "__dict__"):
        out.update((k, v) for k, v in vars(value).items() if k not in out)
    return out


def class_attributes(value) -> dict:
    """name -> raw class attribute (functions, properties, constants) along the MRO, the
    nearest class first, without dunders (what ``p.attr`` may find on the class)."""
    out: dict = {}
    for cls in type(value).__mro__:
        if cls is object:
            continue
        for k, v in vars(cls).items():
            if not (k.startswith("__") and k.endswith("__")) and k not in out:
                out[k] = v
    return out


def state(value) -> tuple:
    """What the transform may read of a parameter object: (type, fields, class attributes),
    for the guard (compared by ``==``: numbers by value, functions by identity) and the
    disk cache's key."""
    extra = {k: v for k, v in class_attributes(value).items()
             if not (isinstance(v, (staticmethod, classmethod)))}
    return type(value), fields(value), extra


class Unreadable:
    """A field of a namedtuple that is not a transform-time value (refused where read)."""
    __slots__ = ("path", "why")

    def __init__(self, path: str, why: str):
        self.path, self.why = path, why

    def __repr__(self):
        return f"<unreadable {self.path}>"


class ParamObject:
    """A parameter object as a transform-time value; ``path`` is how the source reaches it
    (``p``, ``p.arm``), for messages."""
    __slots__ = ("path", "obj")

    def __init__(self, path: str, obj):
        self.path, self.obj = path, obj

    @property
    def kind(self) -> str:
        cls = type(self.obj)
        what = "dataclass" if dataclasses.is_dataclass(self.obj) else \
            "SimpleNamespace" if isinstance(self.obj, types.SimpleNamespace) else "object"
        return what if what == "SimpleNamespace" else f"{cls.__name__} {what}"

    def __eq__(self, other):                 # as the objects compare (two names of one object)
        if not isinstance(other, ParamObject):
            return NotImplemented
        if self.obj is other.obj:
            return True
        try:
            return bool(self.obj == other.obj)
        except (TypeError, ValueError):            # fields NumPy cannot compare as one bool
            return False

    def __hash__(self):
        return hash(id(self.obj))

    def __deepcopy__(self, memo):            # read-only: lists of objects copy as lists of the same
        return self

    def __copy__(self):
        return self

    def __repr__(self):
        return f"<parameter object {self.path}>"


def convert(path: str, value, depth: int = 0):
    """The transform-time value of ``value`` read at ``path``, or an :class:`Unreadable`."""
    if depth > 32:
        return Unreadable(path, "nested too deeply")
    if isinstance(value, ParamObject):            # already read (a module read as text nests them)
        return value
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            arr = np.array(value, copy=True)
            arr.setflags(write=False)
            return arr
        return Unreadable(path, f"a NumPy array of dtype {value.dtype} (only real numbers are supported)")
    if is_namedtuple(value):
        items = [convert(f"{path}.{name}", v, depth + 1) for name, v in zip(type(value)._fields, value)]
        return tuple.__new__(type(value), items)
    if isinstance(value, (tuple, list)):
        items = [convert(f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value)]
        bad = next((i for i in items if isinstance(i, Unreadable)), None)
        if bad is not None:
            return bad
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        from .values import constant_dict
        kind, d = constant_dict(path, value, depth + 1)
        return d if kind == "value" else Unreadable(path, d)
    if is_param_object(value):
        return ParamObject(path, value)
    if isinstance(value, str):
        return Unreadable(path, f"a str ({value[:40]!r}), not a number")
    if callable(value):
        return Unreadable(path, f"a callable ({type(value).__name__})")
    return Unreadable(path, f"a {type(value).__name__}")


ADVICE = ("the attributes a function reads of a parameter object must be numbers, bools, tuples and "
          "lists of numbers, NumPy arrays of numbers, dicts of them or parameter objects")


def unreadable(ev, value: Unreadable):
    return ev.refuse(ev.node, f"{value.path} is {value.why}: {ADVICE}")


def attribute(ev, base, attr: str):
    """``base.attr`` for a :class:`ParamObject` or a namedtuple (``ev``: the evaluator)."""
    from .evaluate import Helper
    if is_namedtuple(base):
        names = type(base)._fields
        if attr in names:
            value = base[names.index(attr)]
            if isinstance(value, Unreadable):
                raise unreadable(ev, value)
            return value
        raise ev.refuse(ev.node, f"attribute .{attr} of a {type(base).__name__} (a namedtuple with the "
                                 f"fields {', '.join(names)}) is not supported: read its fields, by name "
                                 "or by index")
    obj, path = base.obj, base.path
    found = fields(obj)
    if attr in found:
        value = convert(f"{path}.{attr}", found[attr])
        if isinstance(value, Unreadable):
            raise unreadable(ev, value)
        return value
    on_class = class_attributes(obj)
    cls = type(obj).__name__
    if attr not in on_class:
        known = ", ".join(found) or "none"
        raise ev.refuse(ev.node, f"{path} ({base.kind}) has no attribute '{attr}' (its fields: {known})")
    raw = on_class[attr]
    if isinstance(raw, TextMethod):                  # a class of a module read as text (the CLI)
        helper = Helper(f"{cls}.{attr}", raw.sf, (base,))
        return ev.call(helper, [], {}, ev.node) if raw.prop else helper
    if isinstance(raw, property) and isinstance(raw.fget, types.FunctionType):
        return ev.call(Helper(f"{cls}.{attr}", raw.fget, (base,)), [], {}, ev.node)
    if isinstance(raw, types.FunctionType):
        return Helper(f"{cls}.{attr}", raw, (base,))
    if isinstance(raw, (staticmethod, classmethod)) or callable(raw) or isinstance(raw, property):
        what = "a static method" if isinstance(raw, staticmethod) else \
            "a class method" if isinstance(raw, classmethod) else f"a {type(raw).__name__}"
        raise ev.refuse(ev.node, f"{path}.{attr} is {what} of {cls}, which s2s_invad does not inline "
                                 f"(it inlines methods and properties defined with def): write a module-level "
                                 f"helper that takes {path} and use it instead ({attr}({path}, ...))")
    value = convert(f"{path}.{attr}", raw)
    if isinstance(value, Unreadable):
        raise unreadable(ev, value)
    return value



# -- classes of a module read as text (the command line) ------------------------------------------

class TextMethod:
    """A method (``prop``: a property) of a class read as text: its SourceFunction."""
    __slots__ = ("sf", "prop")

    def __init__(self, sf, prop: bool = False):
        self.sf, self.prop = sf, prop


class TextClass:
    """A class the command line builds objects of from the module's text, without running
    it: a dataclass (``kind`` "dataclass"), a typing.NamedTuple ("namedtuple") or
    types.SimpleNamespace ("namespace"). ``defaults`` are the fields' default values,
    evaluated from the text; ``attrs`` the methods (:class:`TextMethod`)."""

    def __init__(self, name: str, kind: str, names=(), defaults=None, attrs=None):
        self.name, self.kind, self.names, self.defaults = name, kind, list(names), dict(defaults or {})
        if kind == "dataclass":
            self.cls = type(name, (), {**(attrs or {}), "__module__": "<module read as text>"})
        elif kind == "namedtuple":
            self.cls = collections.namedtuple(name, self.names)

    def build(self, ev, args, kwargs, node, numeric):
        """An object of this class, as ``Name(*args, **kwargs)`` at module level makes it."""
        if self.kind == "namespace":
            if args:
                raise ev.fail(node, "SimpleNamespace takes keyword arguments only")
            return types.SimpleNamespace(**{k: numeric(v) for k, v in kwargs.items()})
        if len(args) > len(self.names):
            raise ev.fail(node, f"{self.name}() takes {len(self.names)} field(s) ({', '.join(self.names)}) "
                                f"but {len(args)} were given")
        values = dict(zip(self.names, args))
        for key, value in kwargs.items():
            if key not in self.names or key in values:
                raise ev.fail(node, f"{self.name}() got an unexpected or repeated field '{key}'")
            values[key] = value
        for key in self.names:
            if key not in values:
                if key not in self.defaults:
                    raise ev.fail(node, f"{self.name}() is missing the field '{key}'")
                values[key] = self.defaults[key]
        values = {k: numeric(values[k]) for k in self.names}
        if self.kind == "namedtuple":
            return self.cls(**values)
        obj = object.__new__(self.cls)
        obj.__dict__.update(values)
        return obj

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"<class {self.name} read as text>"
