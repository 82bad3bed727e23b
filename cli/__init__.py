"""The ``digit-denoise`` command line: thin, it parses, calls the library, reports.

Only Typer is imported here; each command imports the library (and so
TensorFlow) when it runs, which keeps ``digit-denoise --help`` fast.
"""

from .app import app, main

__all__ = ["app", "main"]
