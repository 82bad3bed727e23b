"""The scikit-learn transformer: estimator checks, shapes, and its use in a pipeline."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from digit_denoise.models.noise import add_gaussian_noise  # noqa: E402
from digit_denoise.sklearn import DenoiseTransformer  # noqa: E402

# scikit-learn's generic checks feed random data with 2 to 10 features. A denoiser of
# 28x28 digits can only transform rows of 784 pixels, so these checks, which transform
# such data, are expected to fail with the transformer's clear ValueError; every other
# check must pass.
NEEDS_784_FEATURES = "transforms random data of 2-10 features; the transformer needs 784 (28x28 digits)"
EXPECTED_FAILURES = {
    name: NEEDS_784_FEATURES
    for name in (
        "check_fit_score_takes_y", "check_estimators_dtypes", "check_dtype_object", "check_pipeline_consistency",
        "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_transformer_data_not_an_array",
        "check_transformer_general", "check_transformer_preserve_dtypes", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent",
    )
}


@parametrize_with_checks([DenoiseTransformer(model="none")])
def test_scikit_learn_estimator_checks(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in EXPECTED_FAILURES:  # must fail, and only with the transformer's own message
        with pytest.raises(ValueError, match="784 pixels"):
            check(estimator)
    else:
        check(estimator)


def test_transform_takes_rows_or_images_and_keeps_the_shape(digits):
    noisy = add_gaussian_noise(digits[:20], 0.3, np.random.default_rng(0))
    transformer = DenoiseTransformer().fit(noisy.reshape(20, -1))
    rows = transformer.transform(noisy.reshape(20, -1))
    images = transformer.transform(noisy)
    assert rows.shape == (20, 784) and images.shape == (20, 28, 28)
    np.testing.assert_allclose(rows.reshape(20, 28, 28), images)
    assert np.mean((images - digits[:20]) ** 2) < np.mean((noisy - digits[:20]) ** 2) / 3


def test_raw_bytes_with_data_range_255(digits):
    raw = digits[:5] * 255
    out = DenoiseTransformer(model="none", data_range=255).fit_transform(raw.reshape(5, -1))
    np.testing.assert_allclose(out, raw.reshape(5, -1), atol=1e-3)


def test_wrong_feature_count_is_a_clear_error():
    transformer = DenoiseTransformer(model="none").fit(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="784 pixels"):
        transformer.transform(np.zeros((2, 10)))
