"""Front end: from a Python function's source to the SSA IR (loader, fence, ssa)."""
