"""A scikit-learn transformer that denoises rows of flattened 28x28 digits.

Needs the ``sklearn`` extra (``pip install 'digit-denoise[sklearn]'``).
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from digit_denoise.models import MODEL_SIZE

from .denoiser import Denoiser, load_denoiser

PIXELS = MODEL_SIZE * MODEL_SIZE


class DenoiseTransformer(TransformerMixin, BaseEstimator):
    """Denoise MNIST-style digits inside a scikit-learn pipeline.

    Parameters
    ----------
    model : str, default='default'
        A model name, ``'none'`` or a ``.keras`` path, as ``load_denoiser`` takes it.
    data_range : float, default=1.0
        The value of full white in ``X``: 1.0 for [0, 1] data, 255 for raw MNIST bytes.

    Notes
    -----
    ``fit`` learns nothing: it checks ``X`` and stores ``n_features_in_``.
    ``transform`` takes ``(N, 784)`` rows or ``(N, 28, 28)`` images, light
    digits on dark, and returns the same shape as float64 in ``[0, data_range]``.

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipeline = Pipeline([("denoise", DenoiseTransformer()), ("clf", LogisticRegression())])
    """

    def __init__(self, model="default", data_range=1.0):
        self.model = model
        self.data_range = data_range

    def fit(self, X, y=None):
        X = self._validate(X, reset=True)
        self.denoiser_ = self.model if isinstance(self.model, Denoiser) else load_denoiser(self.model)
        return self

    def transform(self, X):
        check_is_fitted(self, "denoiser_")
        images = (
            isinstance(X, np.ndarray) and X.ndim == 3
        )  # only an ndarray is asked for its shape: array-likes may refuse
        X = self._validate(X, reset=False)
        if X.shape[1] != PIXELS:
            raise ValueError(f"expected rows of {PIXELS} pixels (flattened 28x28 digits), got {X.shape[1]} features")
        digits = np.clip(X / self.data_range, 0.0, 1.0).reshape(-1, MODEL_SIZE, MODEL_SIZE)
        out = self.denoiser_.denoise(digits)
        shape = (len(X), MODEL_SIZE, MODEL_SIZE) if images else (len(X), PIXELS)
        return (out.astype(np.float64) * self.data_range).reshape(shape)

    def _validate(self, X, *, reset):
        if isinstance(X, np.ndarray) and X.ndim == 3:
            X = X.reshape(len(X), -1)
        return validate_data(self, X, reset=reset, dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
