"""The exceptions the library raises. Each message says what was wrong and what to do."""


class DigitDenoiseError(Exception):
    """Base class of every error digit-denoise raises on purpose."""


class ScanError(DigitDenoiseError, ValueError):
    """An input image that cannot be read or adapted.

    ``str(error)`` names the file when it is known; ``reason`` is the message without it.
    """

    def __init__(self, reason, path=None):
        self.reason, self.path = reason, path
        super().__init__(f"{path}: {reason}" if path is not None else reason)


class ConfigError(DigitDenoiseError, ValueError):
    """A setting with an unknown key, a wrong type or a value out of range; the message names the key."""


class ModelError(DigitDenoiseError):
    """A model that cannot be found, loaded, or that does not take 28x28 digits."""


class DataError(DigitDenoiseError, ValueError):
    """Training or evaluation data that cannot be used."""


class RunLockedError(DigitDenoiseError):
    """Another run holds the output folder's lock."""
