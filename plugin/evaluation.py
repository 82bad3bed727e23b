"""Scoring denoisers on the MNIST test set, beside classical baselines tuned on validation digits."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from digit_denoise.models import noise
from digit_denoise.models.data import split_validation
from digit_denoise.models.metrics import score

from .denoiser import load_denoiser
from .errors import ConfigError
from .training import load_data

TUNING_IMAGES = 200


def _tv(image, weight, sigma):
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(image, weight=weight)


def _bilateral(image, sigma_color, sigma):
    from skimage.restoration import denoise_bilateral

    return denoise_bilateral(image, sigma_color=sigma_color, sigma_spatial=1.0)


def _nl_means(image, h_factor, sigma):
    from skimage.restoration import denoise_nl_means

    return denoise_nl_means(image, h=h_factor * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True)


def _wavelet(image, _, sigma):
    from skimage.restoration import denoise_wavelet

    return denoise_wavelet(image, method="BayesShrink", mode="soft", rescale_sigma=True)


def _median(image, size, sigma):
    from scipy.ndimage import median_filter

    return median_filter(image, size=size)


def _bm3d(image, _, sigma):
    import bm3d

    return bm3d.bm3d(image, sigma_psd=max(sigma, 1e-3))


# name -> (function(image, parameter, sigma), the parameter grid tuned on validation digits). ``sigma`` is each
# noisy image's own estimate (skimage's estimate_sigma): the baselines are as blind as the models, and the nominal
# sigma of clipped noise would mislead them.
BASELINES = {
    "tv-chambolle": (_tv, (0.05, 0.1, 0.15, 0.2, 0.3, 0.5)),
    "bilateral": (_bilateral, (0.05, 0.1, 0.2, 0.3, 0.5)),
    "nl-means": (_nl_means, (0.4, 0.6, 0.8, 1.0, 1.2, 1.5)),
    "wavelet": (_wavelet, (None,)),
    "median": (_median, (3, 5)),
    "bm3d": (_bm3d, (None,)),
}


OPTIONAL_PACKAGES = {"wavelet": "pywt", "bm3d": "bm3d"}  # bm3d's licence is non-commercial


def available_baselines(noise_kind):
    """Baselines that apply and can run: the median filter only for salt-and-pepper;
    wavelet only with PyWavelets and BM3D only with the ``bm3d`` package installed."""
    import importlib.util

    return [
        name for name in BASELINES
        if (name != "median" or noise_kind == "salt-pepper")
        and (name not in OPTIONAL_PACKAGES or importlib.util.find_spec(OPTIONAL_PACKAGES[name]))
    ]


def _apply(function, images, parameter):
    from skimage.restoration import estimate_sigma

    def one(image):
        return function(image, parameter, max(float(estimate_sigma(image)), 1e-3))

    with ThreadPoolExecutor() as pool:
        return np.stack(list(pool.map(one, images)))


def _tune(name, clean, noisy):
    function, grid = BASELINES[name]
    if len(grid) == 1:
        return grid[0]
    return max(grid, key=lambda parameter: score(clean, _apply(function, noisy, parameter))[0])


def evaluate(data=None, *, models=("default",), baselines=False, noise_kind="gaussian", levels=(0.1, 0.2, 0.4),
             limit=None, seed=0):
    """Score models (and optionally classical baselines) on the MNIST test set.

    Parameters
    ----------
    data : str or Path, optional
        An ``mnist.npz``; without it Keras downloads MNIST.
    models : sequence of str
        Model names or paths, as ``load_denoiser`` takes them.
    baselines : bool
        Also score scikit-image's TV, bilateral, NL-means and wavelet
        denoisers, a median filter for salt-and-pepper, and BM3D when
        installed. Those that take the noise's sigma get each image's own
        estimate (``estimate_sigma``), as blind as the models are; their
        parameters are tuned per level on 200 validation digits from the
        training set, never on the test set.
    noise_kind : {'gaussian', 'salt-pepper', 'speckle'}
    levels : sequence of float
        Noise sigma (or salt-and-pepper amount).
    limit : int, optional
        Score only the first ``limit`` test images.
    seed : int
        The noise is drawn from ``seed`` and the level, so runs compare.

    Returns
    -------
    list of dict
        One per method and level: method, noise, level, psnr, ssim, images,
        seconds. The method ``noisy`` scores the noisy input itself.
    """
    if noise_kind not in noise.NOISE_KINDS:
        raise ConfigError(f"noise: {noise_kind!r} is not one of {', '.join(noise.NOISE_KINDS)}")
    x_train, x_test, _ = load_data(data)
    x_test = x_test[:limit] if limit else x_test
    tuning_clean = split_validation(x_train)[1][:TUNING_IMAGES]
    denoisers = [load_denoiser(name) for name in models]
    baseline_names = available_baselines(noise_kind) if baselines else []
    results = []

    def record(method, level, restore, *args):
        """Time ``restore(*args)`` over the test images and score it."""
        started = time.perf_counter()
        restored = restore(*args)
        seconds = time.perf_counter() - started
        psnr, ssim = score(x_test, restored)
        results.append({"method": method, "noise": noise_kind, "level": float(level), "psnr": round(psnr, 3),
                        "ssim": round(ssim, 4), "images": len(x_test), "seconds": round(seconds, 3)})

    for level in levels:
        noisy = noise.add_noise(x_test, noise_kind, level, np.random.default_rng([seed, round(level * 1000)]))
        record("noisy", level, np.asarray, noisy)
        for denoiser in denoisers:
            record(denoiser.name, level, denoiser.denoise, noisy)
        tuning_rng = np.random.default_rng([seed + 1, round(level * 1000)])
        tuning_noisy = noise.add_noise(tuning_clean, noise_kind, level, tuning_rng)
        for name in baseline_names:
            parameter = _tune(name, tuning_clean, tuning_noisy)
            record(name, level, _apply, BASELINES[name][0], noisy, parameter)
    return results


def results_table(results):
    """The results as a fixed-width text table, one row per method and level."""
    lines = [f"{'method':<14} {'noise':<12} {'level':>6} {'PSNR':>7} {'SSIM':>7} {'images':>7} {'seconds':>8}"]
    lines += [
        f"{r['method']:<14} {r['noise']:<12} {r['level']:>6g} {r['psnr']:>7.2f} {r['ssim']:>7.4f} "
        f"{r['images']:>7} {r['seconds']:>8.2f}"
        for r in results
    ]
    return "\n".join(lines)


def plot_results(results, path):
    """Write a PSNR-versus-level chart, one line per method (needs matplotlib: the ``evaluate`` extra)."""
    import matplotlib.pyplot as plt

    figure = results_figure(results)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def results_figure(results):
    """The PSNR-versus-level chart as a matplotlib figure, titled with the image count and the noise."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ConfigError("--plot: matplotlib is not installed; pip install 'digit-denoise[evaluate]'") from error
    figure, axes = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(row["method"] for row in results):
        rows = [row for row in results if row["method"] == method]
        axes.plot([row["level"] for row in rows], [row["psnr"] for row in rows], marker="o", label=method)
    axes.set_xlabel(f"{results[0]['noise']} noise level")
    axes.set_title(f"Denoising {results[0]['images']:,} MNIST test digits, {results[0]['noise']} noise")
    axes.set_ylabel("PSNR (dB)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure
