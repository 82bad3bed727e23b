"""digit-denoise: Keras denoisers for scans of handwritten digits.

The public API is listed in ``__all__``. Names are imported on first use, so
``import digit_denoise`` stays cheap and never imports TensorFlow by itself.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("digit-denoise")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

_EXPORTS = {
    "denoise": "denoiser",
    "load_denoiser": "denoiser",
    "find_denoiser": "denoiser",
    "Denoiser": "denoiser",
    "denoise_folder": "runner",
    "watch_folders": "watch",
    "RunSummary": "runner",
    "ScanAdapter": "adapter",
    "Settings": "config",
    "make_settings": "config",
    "train_model": "training",
    "DenoiseTransformer": "sklearn",  # needs the sklearn extra; imported on first use
    "evaluate": "evaluation",
    "DigitDenoiseError": "errors",
    "ScanError": "errors",
    "ConfigError": "errors",
    "ModelError": "errors",
    "DataError": "errors",
    "RunLockedError": "errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'digit_denoise' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
