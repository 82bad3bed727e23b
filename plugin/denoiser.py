"""Finding models by name, loading them when there is work, and running them over batches of 28x28 digits."""

import functools
import hashlib
import json
import os
import time
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from digit_denoise.models import MODEL_SIZE, import_keras, inference
from digit_denoise.models.data import sha256_of
from digit_denoise.models.layout import WEIGHTS_SUFFIX, ModelFiles

from .errors import ModelError, ScanError
from .registry import DEFAULT_MODEL, available_models

IDENTITY = "none"


class Denoiser:
    """A model known by name, with its card; the Keras model itself loads on first use.

    Attributes
    ----------
    name : str
    card : dict
        The model card: architecture, training, test scores.
    path : Path or None
        The ``.keras`` file it loads from (None for the identity and for a
        plugin's loader function).
    source : str or None
        What :func:`load_denoiser` takes to load this model again in another
        process; None for a Denoiser built around a caller's own Keras model.
    """

    def __init__(self, name, card, *, path=None, model=None, loader=None, source=None):
        self.name = name
        self.card = card
        self.path = path
        self.source = source
        self._model = model
        self._loader = loader
        self._forward = None

    @property
    def model(self):
        """The plain Keras model (``None`` for the identity ``none``), usable in a caller's own Keras model or
        ``tf.data`` pipeline. Loaded on first access (about a second, plus TensorFlow's import).
        Raises ``ModelError``."""
        if self._model is None and self._loader is not None:
            self._model, self._loader = self._loader(), None
        return self._model

    @property
    def is_identity(self):
        return self.name == IDENTITY and self.path is None and self._loader is None and self._model is None

    @functools.cached_property
    def weights_sha256(self):
        """sha256 of the weights file, or of the card when there is no file (the identity, a plugin's loader)."""
        if self.path is not None:
            return sha256_of(self.path)
        return hashlib.sha256(self.card_sha256.encode()).hexdigest()

    @functools.cached_property
    def card_sha256(self):
        """sha256 of the model card, as canonical JSON."""
        return hashlib.sha256(json.dumps(self.card, sort_keys=True).encode()).hexdigest()

    def denoise(self, batch: np.ndarray) -> np.ndarray:
        """Denoise a batch of any length (run through the model 1,024 images at a time).

        Parameters
        ----------
        batch : (N, 28, 28) float ndarray in [0, 1], light on dark

        Returns
        -------
        (N, 28, 28) float32 ndarray in [0, 1]

        Raises
        ------
        ScanError
            For a batch of another shape.
        ModelError
            When the model cannot be loaded.
        """
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 3 or batch.shape[1:] != (MODEL_SIZE, MODEL_SIZE):
            raise ScanError(f"expected a batch of shape (N, {MODEL_SIZE}, {MODEL_SIZE}), got {batch.shape}")
        if self.model is None or len(batch) == 0:
            return np.clip(batch, 0.0, 1.0)
        if self._forward is None:
            self._forward = _compiled(self.model)
        return inference.predict(self._forward, batch, self.model.input_shape[1:])

    def warm_up(self):
        """Load the model and build the compiled forward pass now, if not done yet; returns the seconds it took
        (0 when it was ready). Loading takes about a second, plus TensorFlow's import the first time."""
        if self._forward is not None or self.is_identity:
            return 0.0
        started = time.perf_counter()
        self.denoise(np.zeros((1, MODEL_SIZE, MODEL_SIZE), np.float32))
        return time.perf_counter() - started

    def __repr__(self):
        return f"Denoiser({self.name!r})"


def find_denoiser(name_or_path: str | os.PathLike | None = None) -> "Denoiser":
    """The model ``name_or_path`` names, checked to exist but not yet loaded: cheap, and never imports TensorFlow.

    Takes what :func:`load_denoiser` takes; the model loads on first use.
    """
    name = str(name_or_path or "default")
    if name == IDENTITY:
        return Denoiser(IDENTITY, {"name": IDENTITY, "description": "Identity: the adapter alone."}, source=IDENTITY)
    if name == "default":
        name = DEFAULT_MODEL
    if name.endswith(WEIGHTS_SUFFIX):
        path = Path(name)
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        files = ModelFiles(path.resolve())
        card = _read_card(files)
        return Denoiser(card.get("name", files.name), card, path=files.weights, source=str(files.weights),
                        loader=functools.partial(_load_file, files.weights, files.weights.stat().st_mtime_ns))
    models, _ = available_models()
    if name not in models:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(models)}, or give a .keras path")
    entry = models[name]
    if entry.path is not None:
        path = entry.path.resolve()
        return Denoiser(
            name,
            entry.card,
            path=path,
            source=name,
            loader=functools.partial(_load_file, path, path.stat().st_mtime_ns),
        )
    return Denoiser(name, entry.card, source=name, loader=functools.partial(_call_loader, entry))


def load_denoiser(name_or_path: str | os.PathLike | None = None) -> "Denoiser":
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
        With its model loaded.

    Raises
    ------
    ModelError
        For an unknown name, a file that is not a loadable ``.keras`` model,
        or a model whose input or output is not (28, 28) or (28, 28, 1).
    """
    denoiser = find_denoiser(name_or_path)
    denoiser.model  # noqa: B018 (loads it)
    return denoiser


def _read_card(files):
    try:
        return json.loads(files.card.read_text(encoding="utf-8")) if files.card.exists() else {"name": files.name}
    except (OSError, ValueError) as error:
        raise ModelError(f"{files.card}: the model card beside the model cannot be read as JSON ({error})") from error


def _call_loader(entry):
    try:
        model = entry.loader()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a plugin's loader may raise anything, SystemExit included
        raise ModelError(
            f"model {entry.name!r} ({entry.origin}): its loader failed ({type(error).__name__}: {error})"
        ) from None
    _check_shapes(model, f"model {entry.name!r} ({entry.origin})")
    return model


_forward_passes = weakref.WeakKeyDictionary()


def _compiled(model):
    """One compiled forward pass per model object: ``denoise()`` in a loop must not trace again each call."""
    if model not in _forward_passes:
        _forward_passes[model] = inference.compile_forward(model)
    return _forward_passes[model]


@functools.lru_cache(maxsize=8)
def _load_file(path, mtime_ns):
    """Load once per file version: ``denoise()`` in a loop must not reload the model each call."""
    return _load_keras(path)


_threads = {"inter_op": 1, "intra_op": 0}


def limit_threads(intra_op):
    """Run models on ``intra_op`` threads in this process (a worker process of a run uses 1); call before loading."""
    _threads["intra_op"] = intra_op


@functools.cache
def _configure_tensorflow():
    """One inter-op thread: these models are a chain of ops with nothing to run side by side, and
    the spare threads would only compete with decoding for the cores. Intra-op threads stay at
    TensorFlow's default (one per core) unless ``limit_threads`` said otherwise. Settings a caller
    made before TensorFlow started are kept."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_inter_op_parallelism_threads(_threads["inter_op"])
            if _threads["intra_op"]:
                tf.config.threading.set_intra_op_parallelism_threads(_threads["intra_op"])
        except RuntimeError:  # TensorFlow is already running
            pass


def _load_keras(path):
    import zipfile

    keras = import_keras()
    _configure_tensorflow()
    if not zipfile.is_zipfile(path):  # keras would report a garbage file as "File not found"
        raise ModelError(f"{path}: not a .keras model file (a .keras file is a zip archive); check the path")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # keras raises many types for a bad file
        raise ModelError(f"{path}: cannot load as a Keras model with safe_mode ({error})") from error
    _check_shapes(model, path)
    return model


_DIGIT_SHAPES = ((MODEL_SIZE, MODEL_SIZE), (MODEL_SIZE, MODEL_SIZE, 1))


def _check_shapes(model, where):
    """A denoiser takes a batch of 28x28 digits and gives back the same shape."""
    shapes = [getattr(model, "input_shape", None), getattr(model, "output_shape", None)]
    for shape, side in zip(shapes, ("input", "output")):
        if isinstance(shape, list) or shape is None or tuple(shape[1:]) not in _DIGIT_SHAPES:
            raise ModelError(
                f"{where}: the model's {side} has shape {shape}; digit-denoise needs (N, {MODEL_SIZE}, {MODEL_SIZE}) "
                f"or (N, {MODEL_SIZE}, {MODEL_SIZE}, 1) in and out"
            )


def denoise(
    image: np.ndarray | str | os.PathLike,
    *,
    model: "str | os.PathLike | Denoiser | None" = None,
    config: str | os.PathLike | None = None,
    **settings: Any,
) -> np.ndarray:
    """Denoise one scan of a handwritten digit.

    Parameters
    ----------
    image : (M, N) or (M, N, C) ndarray, or str or Path
        Pixels of any dtype, C in {1, 3, 4} (alpha is composited on white);
        or the path of an image file, read as ``digit-denoise run`` reads it.
    model : str, Path or Denoiser, optional
        A shipped model name, a ``.keras`` path, ``'none'``, or a
        :class:`Denoiser`; the ``model`` setting (the default model) when omitted.
    config : str or Path, optional
        A YAML settings file; ``settings`` override it.
    **settings
        Any field of :class:`digit_denoise.Settings` that shapes the output
        (polarity, normalize, framing, size, levels, ...).

    Returns
    -------
    ndarray
        Grayscale, in the input's dtype and polarity: 28x28 for size
        ``'model'``, (M, N) for ``'original'``.

    Raises
    ------
    ScanError
        For pixels or a file that are not a usable image.
    ConfigError, ModelError

    Examples
    --------
    >>> import numpy as np
    >>> scan = np.full((40, 40), 0.9)
    >>> scan[10:30, 18:22] = 0.1
    >>> denoise(scan, model="none").shape
    (28, 28)
    """
    from .adapter import ScanAdapter
    from .config import make_settings

    settings = make_settings(config, **({} if isinstance(model, Denoiser) else {"model": model}), **settings)
    denoiser = model if isinstance(model, Denoiser) else load_denoiser(settings.model)
    adapter = ScanAdapter.from_settings(settings)
    if isinstance(image, (str, os.PathLike)):
        digit, frame = adapter.read(image, max_pixels=settings.max_pixels)
    else:
        digit, frame = adapter.before(image)
    return adapter.after(denoiser.denoise(digit[None])[0], frame)
