"""s2s_invad: source-to-source AD for Python with inverse accumulation mode.

Four products for straight-line functions f: R^n -> R^n, each at a cost proportional to
running f: J v (jvp), J^T w (vjp), J^-1 v (ijvp) and J^-T w (ivjp).
"""

from ._version import VERSION as __version__
from .api import (MODES, Derivatives, derivatives, drift, explain, from_source, ijvp, ivjp, jvp, slogdet,
                  source, vjp)
from .errors import (ArgumentError, BackendError, BackendWarning, CacheWarning, EvaluationError,
                     NonFiniteError, NotInvertibleError, OutputPathError, ParameterError, S2SError, ShapeError,
                     SingularJacobianError, SourceUnavailableError, TapeMemoryError, UnsupportedSyntaxError)

__all__ = ["jvp", "vjp", "ijvp", "ivjp", "slogdet", "drift", "source", "explain", "derivatives", "Derivatives",
           "from_source", "MODES", "S2SError", "UnsupportedSyntaxError", "EvaluationError",
           "NotInvertibleError", "SingularJacobianError", "NonFiniteError", "SourceUnavailableError",
           "ArgumentError", "ParameterError", "TapeMemoryError", "ShapeError", "OutputPathError", "CacheWarning",
           "BackendError", "BackendWarning", "__version__"]
