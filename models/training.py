"""Training recipes for the shipped models, their model cards and golden pairs."""

import dataclasses
import inspect
import time

import numpy as np

from . import MODEL_SIZE, architectures, inference, noise
from .data import split_validation
from .metrics import score

CARD_LEVELS = (0.1, 0.2, 0.4)
GOLDEN_SIZE = 16


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How one shipped model is built and trained."""

    builder: str
    noise: str
    loss: str
    description: str
    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3


RECIPES = {
    "dense-ae": Recipe(
        "build_dense_autoencoder", "identity", "binary_crossentropy",
        "Reference tutorial's dense 784-512-64-16 autoencoder, trained clean to clean.", epochs=100),
    "dense-dae": Recipe(
        "build_dense_autoencoder", "blind-gaussian", "binary_crossentropy",
        "Reference tutorial's dense autoencoder trained as a denoiser (Gaussian, sigma 0-0.5).", epochs=100),
    "conv-dae": Recipe(
        "build_conv_autoencoder", "blind-gaussian", "binary_crossentropy",
        "keras.io convolutional denoising autoencoder (Gaussian, sigma 0-0.5): the reference baseline.",
        epochs=30),
    "digit-unet": Recipe(
        "build_residual_unet", "scan-mix", "mean_squared_error",
        "Residual U-Net at half resolution, blind to noise level, trained on mixed scan noise. The default.",
        epochs=60),
}


def build_model(name):
    """An untrained ``keras.Model`` for the recipe ``name``."""
    return getattr(architectures, RECIPES[name].builder)(name=name)


def _noisy_batches(clean, recipe, seed, batch_size):
    import keras

    corrupt = noise.TRAINING_NOISE[recipe.noise]

    class NoisyBatches(keras.utils.PyDataset):
        """Fresh noise for every batch of every epoch, reproducible from ``seed``."""

        def __init__(self):
            super().__init__()
            self._shuffle(epoch=0)

        def _shuffle(self, epoch):
            self.epoch = epoch
            self.order = np.random.default_rng([seed, epoch]).permutation(len(clean))

        def __len__(self):
            return len(clean) // batch_size

        def on_epoch_end(self):
            self._shuffle(self.epoch + 1)

        def __getitem__(self, index):
            rng = np.random.default_rng([seed, self.epoch, index])
            batch = clean[self.order[index * batch_size : (index + 1) * batch_size]]
            return corrupt(batch, rng), batch

    return NoisyBatches()


def _keep_best(max_seconds):
    import keras

    class KeepBest(keras.callbacks.Callback):
        """Remember the weights of the best validation epoch; stop once time is up."""

        def on_train_begin(self, logs=None):
            self.best, self.weights, self.started = np.inf, None, time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            if logs["val_loss"] < self.best:
                self.best, self.weights = logs["val_loss"], self.model.get_weights()
            if max_seconds and time.monotonic() - self.started > max_seconds:
                self.model.stop_training = True

    return KeepBest()


def train(name, x_train, *, epochs=None, seed=0, patience=5, max_seconds=None, callbacks=(), verbose=0):
    """Train the recipe ``name`` on clean images ``(N, 28, 28)`` float32 in [0, 1].

    The last 5,000 images validate (with noise fixed by ``seed``), or a tenth of
    the images when there are fewer than 50,000. Training stops early when
    validation loss stops improving, or after ``max_seconds``, and keeps the
    weights of the best validation epoch. Returns ``(model, history)``;
    ``model`` is uncompiled and carries no optimizer state, ready to save.
    """
    import keras

    recipe = RECIPES[name]
    keras.utils.set_random_seed(seed)
    fit_images, validation_images = split_validation(x_train)
    keep_best = _keep_best(max_seconds)
    corrupt = noise.TRAINING_NOISE[recipe.noise]
    validation = (corrupt(validation_images, np.random.default_rng([seed, 1 << 20])), validation_images)
    model = build_model(name)
    model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss=recipe.loss)
    history = model.fit(
        _noisy_batches(fit_images, recipe, seed, recipe.batch_size),
        validation_data=validation,
        epochs=epochs or recipe.epochs,
        verbose=verbose,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=1e-5),
            keras.callbacks.EarlyStopping(patience=patience),
            keep_best,
            *callbacks,
        ],
    )
    plain = build_model(name)
    plain.set_weights(keep_best.weights)
    return plain, history.history


def log_mse(y_true, y_pred):
    """Each image's log mean squared error: minimising its mean maximises the mean PSNR over images, so an almost
    clean image counts as much as a noisy one (plain MSE lets the noisy ones decide)."""
    import keras

    return keras.ops.log(keras.ops.mean(keras.ops.square(y_true - y_pred), axis=(1, 2)) + 1e-5)


def fine_tune(model, x_train, pairs, *, epochs, seed=0, learning_rate=3e-4, batch_size=128, loss=log_mse,
              max_seconds=None, on_epoch=None):
    """Go on training ``model`` (``log_mse`` by default) on clean images ``x_train`` under the scan-mix recipe,
    mixed with ``pairs``: ``(noisy, clean)`` arrays of (N, 28, 28) float32 in [0, 1], each pair shown in one of
    its 8 orientations (flips and quarter turns) drawn afresh every epoch. The learning rate decays from
    ``learning_rate`` along a cosine over ``epochs``; training stops sooner after ``max_seconds``.
    ``on_epoch(epoch, model)`` is called after each epoch. Returns ``model``, trained in place."""
    import keras

    keras.utils.set_random_seed(seed)
    pairs_noisy, pairs_clean = (np.asarray(part, np.float32) for part in pairs)
    steps = -(-(len(x_train) + len(pairs_noisy)) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps * epochs, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    started = time.monotonic()
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, epoch])
        turns = rng.integers(0, 8, len(pairs_noisy))
        both = np.stack([pairs_noisy, pairs_clean], axis=1)
        for turn in range(1, 8):
            chosen = turns == turn
            turned = np.rot90(both[chosen], turn % 4, axes=(2, 3))
            both[chosen] = turned[..., ::-1] if turn >= 4 else turned
        inputs = np.concatenate([noise.scan_noise(x_train, rng), both[:, 0]])
        targets = np.concatenate([x_train, both[:, 1]])
        order = rng.permutation(len(inputs))
        model.fit(inputs[order], targets[order], batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
        if on_epoch:
            on_epoch(epoch + 1, model)
        if max_seconds and time.monotonic() - started > max_seconds:
            break
    return model


def predict(model, images):
    """Run ``model`` over ``images`` in chunks and clip to [0, 1]."""
    return inference.predict(lambda x: model(x, training=False), images, model.input_shape[1:])


def test_scores(model, x_test, *, seed=0):
    """PSNR/SSIM on ``x_test`` under clipped Gaussian noise at the card levels."""
    scores = {}
    for level in CARD_LEVELS:
        noisy = noise.add_gaussian_noise(x_test, level, np.random.default_rng([seed, int(level * 1000)]))
        psnr, ssim = score(x_test, predict(model, noisy))
        scores[f"{level:g}"] = {"psnr": round(psnr, 2), "ssim": round(ssim, 4)}
    return scores


def golden_pair(model, x_test, *, seed=0):
    """A fixed noisy input (the first test digits, Gaussian sigma 0.2) and the model's output on it."""
    golden_input = noise.add_gaussian_noise(x_test[:GOLDEN_SIZE], 0.2, np.random.default_rng(seed))
    return golden_input, predict(model, golden_input)


def make_card(model, *, name, x_test, data_sha256, history, seed, seconds):
    """The model card: architecture, training recipe and data, test scores."""
    import keras

    recipe = RECIPES[name]
    return {
        "name": name,
        "description": recipe.description,
        "architecture": recipe.builder,
        "parameters": int(model.count_params()),
        "input": {
            "shape": [MODEL_SIZE, MODEL_SIZE],
            "dtype": "float32",
            "range": [0.0, 1.0],
            "polarity": "light-on-dark",
        },
        "training": {
            "data": "MNIST training set, last 5,000 images held out for validation",
            "data_sha256": data_sha256,
            "noise": recipe.noise,
            "noise_recipe": inspect.cleandoc(noise.TRAINING_NOISE[recipe.noise].__doc__),
            "loss": recipe.loss,
            "optimizer": f"Adam(learning_rate={recipe.learning_rate}), halved on plateau",
            "batch_size": recipe.batch_size,
            "epochs": len(history["loss"]),
            "best_validation_loss": round(float(min(history["val_loss"])), 6),
            "seed": seed,
            "seconds": round(seconds, 1),
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
        },
        "test": {"noise": "gaussian, clipped", "images": len(x_test), "scores": test_scores(model, x_test, seed=seed)},
        "golden": {"noise": "gaussian sigma 0.2", "seed": seed, "images": GOLDEN_SIZE, "tolerance": 1e-4},
    }
