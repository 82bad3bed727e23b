"""Functional Keras builders for the shipped denoisers.

Every builder returns an uncompiled ``keras.Model`` that maps a batch of shape
``(N, 28, 28)`` float32 in [0, 1] to a batch of the same shape. Keeping one
input/output contract for all architectures is what lets the denoiser, the
trainer and the evaluator treat every model alike.
"""

from . import MODEL_SIZE, import_keras

keras = import_keras()
layers = keras.layers

IMAGE_SHAPE = (MODEL_SIZE, MODEL_SIZE)


def _image_input(name):
    inputs = keras.Input(shape=IMAGE_SHAPE, name="noisy")
    return inputs, layers.Reshape((*IMAGE_SHAPE, 1), name=f"{name}_to_channels")(inputs)


def _image_output(tensor, name):
    return layers.Reshape(IMAGE_SHAPE, name=f"{name}_from_channels")(tensor)


def build_dense_autoencoder(*, name="dense-ae"):
    """The reference tutorial's dense autoencoder, 784-512-64-16-64-512-784.

    Sigmoid activations throughout, as in the tutorial; the output sigmoid is
    applied once, and the input is expected in [0, 1].
    """
    inputs = keras.Input(shape=IMAGE_SHAPE, name="noisy")
    x = layers.Flatten()(inputs)
    for width in (512, 64, 16, 64, 512):
        x = layers.Dense(width, activation="sigmoid")(x)
    x = layers.Dense(784, activation="sigmoid")(x)
    outputs = layers.Reshape(IMAGE_SHAPE)(x)
    return keras.Model(inputs, outputs, name=name)


def build_conv_autoencoder(*, name="conv-dae", filters=32):
    """The keras.io convolutional denoising autoencoder (the reference baseline).

    Conv2D/MaxPool encoder to 7x7, Conv2DTranspose decoder back to 28x28, and a
    sigmoid output, all at full resolution.
    """
    inputs, x = _image_input(name)
    for _ in range(2):
        x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
    for _ in range(2):
        x = layers.Conv2DTranspose(filters, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
    return keras.Model(inputs, _image_output(x, name), name=name)


def build_residual_unet(*, name="digit-unet", widths=(32, 64)):
    """A small U-Net that predicts the noise and subtracts it from its input.

    A stride-2 4x4 convolution (a learned space-to-depth) brings the image to
    14x14, where all the computation happens: that is what keeps it fast on a
    CPU. One skip connection joins the 14x14 encoder and decoder; a stride-2
    transposed convolution returns to 28x28, where a thin full-resolution
    stage sees the input again to keep fine strokes. The output is the input
    minus the predicted noise, unclipped; the caller clips to [0, 1].
    """
    fine, coarse = widths
    inputs, image = _image_input(name)
    conv = dict(padding="same", activation="relu")
    stem = layers.Conv2D(fine, 4, strides=2, **conv, name="stem")(image)
    skip = layers.Conv2D(fine, 3, **conv, name="encode_fine")(stem)
    x = layers.Conv2D(coarse, 3, strides=2, **conv, name="down")(skip)
    x = layers.Conv2D(coarse, 3, **conv, name="bottleneck_1")(x)
    x = layers.Conv2D(coarse, 3, **conv, name="bottleneck_2")(x)
    x = layers.Conv2DTranspose(fine, 2, strides=2, **conv, name="up")(x)
    x = layers.Concatenate(name="skip")([x, skip])
    x = layers.Conv2D(fine, 3, **conv, name="decode_fine")(x)
    x = layers.Conv2DTranspose(8, 4, strides=2, **conv, name="head")(x)
    x = layers.Concatenate(name="full_resolution_skip")([x, image])
    x = layers.Conv2D(8, 3, **conv, name="refine")(x)
    noise = layers.Conv2D(1, 3, padding="same", name="noise")(x)
    x = layers.Subtract(name="remove_noise")([image, noise])
    return keras.Model(inputs, _image_output(x, name), name=name)
