"""Every error s2s_invad raises on purpose.

Three moments, three families:

* transform time, the source is outside the supported subset:
  :class:`UnsupportedSyntaxError` (a ``SyntaxError``, so editors and tracebacks show the
  file, line, column and a caret);
* transform time, the function is fine but an inverse mode cannot exist:
  :class:`NotInvertibleError`;
* run time, the Jacobian is singular at the given point: :class:`SingularJacobianError`;
  a value, partial or pivot is infinite or NaN there: :class:`NonFiniteError`; a loop runs
  too many times for memory="store" to keep its values: :class:`TapeMemoryError`.

Besides: :class:`ArgumentError` for wrong calls of the API (:class:`ParameterError` when a
parameter can never be given, at the parameter), :class:`OutputPathError` when a
generated file must not be written where asked, :class:`CacheWarning` (a warning) when the
cache folder is not safe to use, :class:`BackendError` when a compiled backend is asked for
but cannot run here and :class:`BackendWarning` (a warning) when a function meant for it runs
as Python instead.

Every message says what went wrong, where (file:line) and what to do instead.
"""

from __future__ import annotations


class S2SError(Exception):
    """Base class of the errors that are not syntax errors."""


class UnsupportedSyntaxError(SyntaxError):
    """A construct outside the supported straight-line subset.

    ``filename``, ``lineno`` (absolute in the file), ``offset`` (1-based column) and
    ``text`` (the source line) are set, so ``traceback`` prints a caret under it.
    """

    def __init__(self, msg: str, filename: str, lineno: int, offset: int, text: str):
        super().__init__(msg, (filename, lineno, offset, text))

    def format(self) -> str:
        """``file:line:col: message``, the source line and a caret (for the CLI)."""
        text = (self.text or "").rstrip("\n")
        stripped = text.lstrip()
        caret_col = max((self.offset or 1) - 1 - (len(text) - len(stripped)), 0)
        lines = [f"{self.filename}:{self.lineno}:{self.offset}: error: {self.msg}"]
        if stripped:
            lines += ["    " + stripped, "    " + " " * caret_col + "^"]
        return "\n".join(lines)


class EvaluationError(UnsupportedSyntaxError):
    """Transform time: evaluating a transform-time value failed (an index out of range, a
    division by the constant 0, a failed assert...). Carries file, line, column and the
    source line like its base class."""


class SourceUnavailableError(S2SError):
    """The function's source text cannot be read (REPL, lambda, builtin, C extension)."""


class NotInvertibleError(S2SError):
    """An inverse mode was asked of a function whose Jacobian cannot be square and full rank.

    ``lineno`` is the source line of the statement that makes it so (None when the
    reason is the signature, e.g. m != n).
    """

    def __init__(self, msg: str, lineno: int | None = None):
        super().__init__(msg)
        self.lineno = lineno


class SingularJacobianError(S2SError, ArithmeticError):
    """Run time: a zero pivot or a singular lump, so J is singular at this point.

    ``filename`` and ``lineno`` cite the source statement; ``value`` is the pivot (or the
    lump's determinant); ``index`` is the first bad element of a batch (None for scalars).
    """

    def __init__(self, msg: str, filename: str, lineno: int, value=None, index=None):
        super().__init__(msg)
        self.filename = filename
        self.lineno = lineno
        self.value = value
        self.index = index


class NonFiniteError(S2SError, ArithmeticError):
    """Run time: a value, a partial derivative or a pivot is infinite or NaN at this point, or
    a step divides by zero, overflows or leaves a function's domain, so the derivatives are
    not finite numbers here (e.g. ``d sqrt(x)`` at x = 0, ``exp`` beyond 709.78).

    ``filename`` and ``lineno`` cite the first source statement where a value stopped being
    finite (None when the cause is an input); ``value`` is that value; ``index`` is the first
    bad element of a batch (None for scalars).
    """

    def __init__(self, msg: str, filename: str | None, lineno: int | None, value=None, index=None):
        super().__init__(msg)
        self.filename = filename
        self.lineno = lineno
        self.value = value
        self.index = index


class TapeMemoryError(S2SError, MemoryError):
    """Run time, before the loop runs: a loop kept as a loop runs so many times that
    ``memory="store"``, which keeps the values of every iteration for the backward sweep,
    cannot hold them (more than this machine's memory, or than a Python list can index).

    ``filename`` and ``lineno`` cite the loop's source line; ``count`` is its trip count;
    ``needed`` the estimated bytes (None when the count itself is too large). The message
    advises ``memory="recompute"``, which sweeps back in constant memory (or from a few
    checkpointed states)."""

    def __init__(self, msg: str, filename: str | None, lineno: int | None, count: int | None = None,
                 needed: int | None = None):
        super().__init__(msg)
        self.filename = filename
        self.lineno = lineno
        self.count = count
        self.needed = needed


class ArgumentError(S2SError, TypeError):
    """Wrong call of the public API (number of primals, tangents, unknown mode...)."""


class ParameterError(UnsupportedSyntaxError, ArgumentError):
    """A parameter of the function to differentiate that no call of the API can give a value
    (a keyword-only parameter without a default: the primals are positional, keyword-only
    parameters constants fixed at their defaults). Both a syntax error at the parameter
    (file, line, column, caret) and an :class:`ArgumentError`."""


class ShapeError(ArgumentError):
    """A parameter used as a vector whose length is not known (pass an array or a list for
    it, ``shapes={"u": n}``, or ``--shape u=n`` on the command line), or a length that does
    not fit. ``parameter`` names it; ``lineno`` is where it is used as a vector."""

    def __init__(self, msg: str, parameter: str | None = None, lineno: int | None = None):
        super().__init__(msg)
        self.parameter = parameter
        self.lineno = lineno


class DrawingError(S2SError):
    """``s2s-invad graph`` cannot draw: the graph is too big to read, or no program can
    render the asked format (SVG and PNG need Graphviz's ``dot`` or matplotlib)."""


class OutputPathError(S2SError):
    """A generated file must not or cannot be written where asked: the path is a folder or
    has no folder, it is the function's own source, or it holds a file s2s_invad did not
    generate (pass ``force=True``, or ``--force`` on the command line, to replace that)."""


class CacheWarning(UserWarning):
    """The cache folder of generated modules is not safe to use (another owner, writable
    by others, a symlink to someone else's folder) or cannot be written: generated code is
    then kept in memory only. Warned once per process and folder."""


class BackendError(S2SError):
    """A compiled backend was asked for (``backend="numba"``) but cannot run in this
    process: its package is not installed, or the platform does not let compiled code read
    the floating-point exception flags that keep its error paths. The message says which
    and what to install."""


class BackendWarning(UserWarning):
    """A generated function meant for a compiled backend runs as Python instead, for a
    reason found only when it was first called (the compiler refused it). Its results are
    the same; only the speed differs. Warned once per function."""
