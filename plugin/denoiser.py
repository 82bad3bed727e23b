"""Loading models and running them over batches of 28x28 digits."""

import functools
import json
from pathlib import Path

import numpy as np

from .errors import ModelError, ScanError
from .registry import DEFAULT_MODEL, available_models

IDENTITY = "none"
CHUNK = 1024  # images per model call: large enough to be fast, small enough to keep memory flat


class Denoiser:
    """A loaded model with its card.

    Attributes
    ----------
    name : str
    model : keras.Model or None
        The plain Keras model (``None`` for the identity ``none``), usable in a
        caller's own Keras model or ``tf.data`` pipeline.
    card : dict
        The model card: architecture, training, test scores.
    path : Path or None
        The ``.keras`` file it was loaded from.
    """

    def __init__(self, name, model, card, path=None):
        self.name = name
        self.model = model
        self.card = card
        self.path = path
        self._forward = None

    def denoise(self, batch):
        """Denoise a batch of any length (run through the model 1,024 images at a time).

        Parameters
        ----------
        batch : (N, 28, 28) float ndarray in [0, 1], light on dark

        Returns
        -------
        (N, 28, 28) float32 ndarray in [0, 1]
        """
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 3 or batch.shape[1:] != (28, 28):
            raise ScanError(f"expected a batch of shape (N, 28, 28), got {batch.shape}")
        if self.model is None or len(batch) == 0:
            return np.clip(batch, 0.0, 1.0)
        if self._forward is None:
            self._forward = _compile(self.model)
        shape = (-1, *self.model.input_shape[1:])  # (N, 28, 28) or (N, 28, 28, 1)
        out = [np.asarray(self._forward(batch[i : i + CHUNK].reshape(shape))) for i in range(0, len(batch), CHUNK)]
        return np.clip(np.concatenate(out).reshape(batch.shape), 0.0, 1.0)

    def warm_up(self):
        """Build the compiled forward pass now (about a second), say while the first files decode."""
        self.denoise(np.zeros((1, 28, 28), np.float32))

    def __repr__(self):
        return f"Denoiser({self.name!r})"


def _compile(model):
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # One trace for every batch length (a trace costs about a second).
        signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]
        return tf.function(lambda x: model(x, training=False), input_signature=signature)
    return lambda x: model(x, training=False)


def load_denoiser(name_or_path=None):
    """Load a shipped model by name, or a ``.keras`` file by path.

    Parameters
    ----------
    name_or_path : str or Path, optional
        ``None`` or ``'default'`` for the default model; a name that
        ``digit-denoise models`` lists (shipped, or from a plugin package);
        ``'none'`` for the identity (adapter only); or the path of a
        ``.keras`` file, whose card is read from the ``.json`` beside it when
        there is one.

    Returns
    -------
    Denoiser

    Raises
    ------
    ModelError
        For an unknown name, a file that is not a loadable ``.keras`` model,
        or a model whose input is not (28, 28) or (28, 28, 1).
    """
    name = str(name_or_path or "default")
    if name == IDENTITY:
        return Denoiser(IDENTITY, None, {"name": IDENTITY, "description": "Identity: the adapter alone."})
    if name == "default":
        name = DEFAULT_MODEL
    if name.endswith(".keras"):
        path = Path(name)
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        return _load_file(path.resolve(), path.stat().st_mtime_ns)
    models, _ = available_models()
    if name not in models:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(models)}, or give a .keras path")
    entry = models[name]
    if entry.path is not None:
        denoiser = _load_file(entry.path.resolve(), entry.path.stat().st_mtime_ns)
        return denoiser if entry.origin == "built-in" else Denoiser(name, denoiser.model, entry.card, entry.path)
    try:
        model = entry.loader()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a plugin's loader may raise anything, SystemExit included
        raise ModelError(f"model {name!r} ({entry.origin}): its loader failed ({type(error).__name__}: {error})") from None
    _check_shapes(model, f"model {name!r} ({entry.origin})")
    return Denoiser(name, model, entry.card)


@functools.lru_cache(maxsize=8)
def _load_file(path, mtime_ns):
    """Load once per file version: ``denoise()`` in a loop must not reload the model each call."""
    model = _load_keras(path)
    card_path = path.with_suffix(".json")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {"name": path.stem}
    except (OSError, ValueError) as error:
        raise ModelError(f"{card_path}: the model card beside the model cannot be read as JSON ({error})") from error
    return Denoiser(card.get("name", path.stem), model, card, path)


@functools.cache
def _configure_tensorflow():
    """One inter-op thread: these models are a chain of ops with nothing to run side by side, and
    the spare threads would only compete with the runner's decoding threads for the cores.
    Intra-op threads stay at TensorFlow's default (one per core). Settings a caller made before
    TensorFlow started are kept."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow is already running
            pass


def _load_keras(path):
    import zipfile

    import keras

    _configure_tensorflow()
    if not zipfile.is_zipfile(path):  # keras would report a garbage file as "File not found"
        raise ModelError(f"{path}: not a .keras model file (a .keras file is a zip archive); check the path")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # keras raises many types for a bad file
        raise ModelError(f"{path}: cannot load as a Keras model with safe_mode ({error})") from error
    _check_shapes(model, path)
    return model


_DIGIT_SHAPES = ((28, 28), (28, 28, 1))


def _check_shapes(model, where):
    """A denoiser takes a batch of 28x28 digits and gives back the same shape."""
    shapes = [getattr(model, "input_shape", None), getattr(model, "output_shape", None)]
    for shape, side in zip(shapes, ("input", "output")):
        if isinstance(shape, list) or shape is None or tuple(shape[1:]) not in _DIGIT_SHAPES:
            raise ModelError(
                f"{where}: the model's {side} has shape {shape}; digit-denoise needs (N, 28, 28) or (N, 28, 28, 1) "
                "in and out"
            )


def denoise(image, *, model=None, polarity="auto", framing="mnist", normalize="percentile", size="model"):
    """Denoise one scan of a handwritten digit.

    Parameters
    ----------
    image : (M, N) or (M, N, C) ndarray
        Any dtype; C in {1, 3, 4} (alpha is composited on white).
    model : str, Path or Denoiser, optional
        A shipped model name, a ``.keras`` path, ``'none'``, or a loaded
        :class:`Denoiser`; the default model when omitted.
    polarity, framing, normalize, size : str
        As in :class:`digit_denoise.Settings`.

    Returns
    -------
    ndarray
        Grayscale, in the input's dtype and polarity: 28x28 for size
        ``'model'``, (M, N) for ``'original'``.

    Examples
    --------
    >>> import numpy as np
    >>> scan = np.full((40, 40), 0.9)
    >>> scan[10:30, 18:22] = 0.1
    >>> denoise(scan, model="none").shape
    (28, 28)
    """
    from .adapter import ScanAdapter

    denoiser = model if isinstance(model, Denoiser) else load_denoiser(model)
    adapter = ScanAdapter(polarity=polarity, framing=framing, normalize=normalize, size=size)
    digit, frame = adapter.before(image)
    return adapter.after(denoiser.denoise(digit[None])[0], frame)
