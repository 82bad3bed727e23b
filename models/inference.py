"""Running a Keras denoiser over batches of any length, a chunk at a time."""

import numpy as np

CHUNK = 1024  # images per model call: large enough to be fast, small enough to keep memory flat


def compile_forward(model):
    """The model's forward pass, traced once for every batch length (a trace costs about a second)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)]
        return tf.function(lambda x: model(x, training=False), input_signature=signature)
    return lambda x: model(x, training=False)


def predict(forward, images, input_shape):
    """``forward`` (a model or ``compile_forward``'s result) over ``images`` (N, H, W), ``CHUNK`` at a time, clipped
    to [0, 1]. ``input_shape`` is the model's, without the batch axis: (H, W) or (H, W, 1)."""
    images = np.asarray(images, dtype=np.float32)
    shape = (-1, *input_shape)
    out = [np.asarray(forward(images[i : i + CHUNK].reshape(shape))) for i in range(0, len(images), CHUNK)]
    return np.clip(np.concatenate(out).reshape(images.shape), 0.0, 1.0)
