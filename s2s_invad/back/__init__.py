"""Back end: one emitter per mode, the module renderer and the compiler of generated code."""
