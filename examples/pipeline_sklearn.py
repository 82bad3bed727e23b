"""A scikit-learn pipeline with the denoiser in front of a classifier, on noisy MNIST digits.

Prints the classifier's test accuracy with and without the denoiser. Needs the
``sklearn`` extra. Run from the repository root:

    python examples/pipeline_sklearn.py [--data PATH/mnist.npz] [--sigma 0.5]

Without ``--data``, MNIST comes from keras.datasets (downloaded once).
"""

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from digit_denoise.models.noise import add_gaussian_noise
from digit_denoise.sklearn import DenoiseTransformer


def load(path):
    if path:
        with np.load(path) as data:
            return data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return x_train, y_train, x_test, y_test


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--test", type=int, default=2000)
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = load(args.data)
    rng = np.random.default_rng(0)
    noisy_train = add_gaussian_noise(x_train[: args.train] / np.float32(255), args.sigma, rng).reshape(args.train, -1)
    noisy_test = add_gaussian_noise(x_test[: args.test] / np.float32(255), args.sigma, rng).reshape(args.test, -1)
    y_train, y_test = y_train[: args.train], y_test[: args.test]
    plain = Pipeline([("clf", LogisticRegression(max_iter=300))]).fit(noisy_train, y_train)
    denoised = Pipeline([("denoise", DenoiseTransformer()), ("clf", LogisticRegression(max_iter=300))])
    denoised.fit(noisy_train, y_train)
    print(f"Gaussian noise sigma {args.sigma}, {args.train} training and {args.test} test digits")
    print(f"accuracy without the denoiser: {plain.score(noisy_test, y_test):.4f}")
    print(f"accuracy with the denoiser:    {denoised.score(noisy_test, y_test):.4f}")


if __name__ == "__main__":
    main()
