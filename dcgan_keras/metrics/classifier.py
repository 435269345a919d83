"""A small CNN classifier for MNIST-like data: features for FID, and class coverage.

InceptionV3 was trained on ImageNet photos; on 28x28 digits its features say
little and cost a lot on CPU. A classifier trained on the data set itself
gives a cheap, relevant feature space, and its predictions tell whether the
generator covers every class (mode collapse shows up as missing classes).
"""

from pathlib import Path

import keras
import numpy as np

from dcgan_keras.cli import first_line
from dcgan_keras.metrics.extractors import to_model_range

FEATURES_LAYER = "features"


def build_mnist_classifier(image_size=28, channels=1, num_classes=10, feature_dim=128):
    """Builds the (uncompiled) classifier; its "features" layer feeds FID.

    Args:
        image_size: side of the square input images.
        channels: 1 for grayscale, 3 for RGB.
        num_classes: number of output classes.
        feature_dim: width of the penultimate "features" layer.

    Returns:
        A functional keras.Model: images in [-1, 1] -> class probabilities.

    Example:
        >>> model = build_mnist_classifier()
        >>> model.output_shape
        (None, 10)
    """
    if image_size < 4:
        raise ValueError(f"image_size must be >= 4 (two 2x poolings), got {image_size}.")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}.")
    layers = keras.layers
    # A judge computes the same numbers whatever the session's settings: float32
    # under a global mixed-precision policy, channels last (the images' layout)
    # under image_data_format="channels_first".
    fixed = {"dtype": "float32"}
    images = {**fixed, "data_format": "channels_last"}
    inputs = keras.Input((image_size, image_size, channels), name="images", dtype="float32")
    x = layers.Conv2D(32, 3, padding="same", activation="relu", **images)(inputs)
    x = layers.MaxPooling2D(**images)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", **images)(x)
    x = layers.MaxPooling2D(**images)(x)
    # Flatten rather than global pooling: where a stroke is matters for digits.
    x = layers.Flatten(**images)(x)
    x = layers.Dropout(0.25, **fixed)(x)
    features = layers.Dense(feature_dim, activation="relu", name=FEATURES_LAYER, **fixed)(x)
    x = layers.Dropout(0.25, **fixed)(features)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs", **fixed)(x)
    return keras.Model(inputs, outputs, name="mnist_classifier")


def train_mnist_classifier(images, labels, epochs=3, path=None, batch_size=128,
                           num_classes=None, learning_rate=1e-3, verbose="auto"):
    """Builds and trains the classifier on labelled images; optionally saves it.

    Args:
        images: (N, H, W) or (N, H, W, C); uint8 is read as [0, 255] (what
            keras.datasets returns), floats must be in [-1, 1] (what the GAN
            trains on). Both end up in [-1, 1], the range the extractor sees.
        labels: (N,) or (N, 1) integer labels in [0, num_classes), or (N, K)
            one-hot with K >= 2.
        epochs: training epochs.
        path: if set, where to save: "*.weights.h5" (weights only; rebuild
            with `load_mnist_classifier`) or "*.keras" (the whole model).
        batch_size: training batch size.
        num_classes: defaults to max(label) + 1 (or K for one-hot labels).
        learning_rate: Adam learning rate.
        verbose: passed to `fit`.

    Returns:
        The trained keras.Model (outputs class probabilities).

    Example:
        >>> (x, y), _ = keras.datasets.mnist.load_data()  # downloads  # doctest: +SKIP
        >>> clf = train_mnist_classifier(x, y, path="mnist_clf.weights.h5")  # trains  # doctest: +SKIP
        >>> extractor = classifier_extractor(clf)  # doctest: +SKIP
    """
    if path is not None:
        _check_path(path)  # before training, not after minutes of it
    images = to_model_range(images)
    labels = np.asarray(keras.ops.convert_to_numpy(labels))
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]  # keras.datasets' CIFAR labels are (N, 1)
    if labels.ndim == 2:
        num_classes = num_classes or labels.shape[1]
        labels = labels.argmax(axis=1)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), (N, 1) or (N, K) one-hot, got {labels.shape}.")
    if len(labels) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(labels)} labels.")
    if not np.issubdtype(labels.dtype, np.integer) and not np.array_equal(labels, np.round(labels)):
        raise ValueError(f"labels must be class indices (integers), got {labels.dtype} values.")
    low, high = int(labels.min()), int(labels.max())
    num_classes = num_classes or high + 1
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for num_classes={num_classes}, got "
            f"[{low}, {high}]; shift them (SVHN's digit 0 is labelled 10)."
        )
    labels = labels.astype(np.int32)
    _, height, width, channels = images.shape
    if height != width:
        raise ValueError(f"Images must be square, got {height}x{width}.")

    model = build_mnist_classifier(height, channels, num_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, shuffle=True,
              verbose=verbose)
    if path is not None:
        save_mnist_classifier(model, path)
    return model


def save_mnist_classifier(model, path):
    """Saves to "*.weights.h5" (weights only) or "*.keras" (whole model).

    Args:
        model: the classifier, e.g. from `train_mnist_classifier`.
        path: where to write; its suffix picks the format, and missing
            parent directories are created. Weights files need the same
            `build_mnist_classifier` arguments to load.

    Raises:
        ValueError: `path` ends in neither suffix (nothing is written).

    Example:
        >>> save_mnist_classifier(build_mnist_classifier(), "models/mnist_clf.weights.h5")
        >>> load_mnist_classifier("models/mnist_clf.weights.h5").output_shape
        (None, 10)
    """
    path = _check_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".keras"):
        model.save(path)
    else:
        model.save_weights(path)


def load_mnist_classifier(path, image_size=28, channels=1, num_classes=None):
    """Loads a classifier saved by `train_mnist_classifier`.

    Args:
        path: a "*.keras" file (self-describing) or a "*.weights.h5" file, for
            which the architecture is rebuilt from the remaining arguments,
            which must match the saved model.
        image_size, channels: see `build_mnist_classifier`.
        num_classes: None reads it from a weights file (10 if unreadable).

    Returns:
        The keras.Model; weight files load on any backend.

    Example:
        >>> from dcgan_keras.metrics import extract_features
        >>> clf = load_mnist_classifier("mnist_clf.weights.h5")  # a trained classifier  # doctest: +SKIP
        >>> features = extract_features(classifier_extractor(clf), images)  # doctest: +SKIP
    """
    path = _check_path(path)
    if path.name.endswith(".keras"):
        # compile=False: the model only predicts here, its optimizer is dead weight.
        return keras.saving.load_model(path, compile=False)
    num_classes = num_classes or _saved_num_classes(path) or 10
    model = build_mnist_classifier(image_size, channels, num_classes)
    try:
        model.load_weights(path)
    except ValueError as err:
        # Keras's message goes on to print the whole weight array.
        raise ValueError(
            f"{path} does not fit a classifier of image_size={image_size}, channels={channels}, "
            f"num_classes={num_classes} ({first_line(err)}); pass the arguments it was trained with."
        ) from err
    return model


def _saved_num_classes(path):
    # The last Dense layer's bias ("probs"), from Keras 3's weights file layout.
    try:
        import h5py

        with h5py.File(path, "r") as f:
            dense = sorted(name for name in f["layers"] if name.startswith("dense"))
            return int(f["layers"][dense[-1]]["vars"]["1"].shape[0])
    except Exception:  # no h5py, another layout: the caller's default applies
        return None


def classifier_extractor(model, layer_name=FEATURES_LAYER):
    """The feature extractor of a classifier: images -> its penultimate layer.

    Args:
        model: a functional classifier, e.g. from `train_mnist_classifier`.
        layer_name: the layer whose output are the features.

    Returns:
        A keras.Model sharing the classifier's weights: images in [-1, 1]
        -> (N, feature_dim) features.

    Example:
        >>> from dcgan_keras.metrics import extract_features, fid
        >>> extractor = classifier_extractor(load_mnist_classifier(path))  # a trained classifier  # doctest: +SKIP
        >>> score = fid(extract_features(extractor, real), extract_features(extractor, fake))  # doctest: +SKIP
    """
    try:
        layer = model.get_layer(layer_name)
    except ValueError as error:
        raise ValueError(
            f"Model {model.name!r} has no layer {layer_name!r}; layers: "
            f"{[l.name for l in model.layers]}."
        ) from error
    # A lone input, not a list of one: else Keras warns on every plain-array call.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, layer.output, name=f"{model.name}_features")


def class_coverage(probs):
    """How evenly predictions spread over classes: 1.0 uniform, 0.0 one class.

    The entropy of the histogram of argmax predictions, divided by
    log(num_classes). A collapsed generator that draws only a few digits
    scores low even if each digit looks perfect.

    Args:
        probs: (N, num_classes) predicted probabilities (or logits: only the
            argmax is used).

    Returns:
        A float in [0, 1].

    Example:
        >>> class_coverage(clf.predict(gan.generate(1000)))  # a classifier and a GAN  # doctest: +SKIP
    """
    probs = np.asarray(keras.ops.convert_to_numpy(probs))
    if probs.ndim != 2 or probs.shape[1] < 2 or len(probs) == 0:
        raise ValueError(
            f"probs must have shape (N, num_classes) with N >= 1, num_classes >= 2, "
            f"got {probs.shape}."
        )
    if not np.isfinite(probs.astype(np.float32)).all():
        raise ValueError("probs holds NaN or infinite values (were the images NaN, from a diverged generator?).")
    num_classes = probs.shape[1]
    counts = np.bincount(probs.argmax(axis=1), minlength=num_classes)
    p = counts[counts > 0] / len(probs)  # 0 log 0 = 0
    return float(-(p * np.log(p)).sum() / np.log(num_classes))


def label_accuracy(probs, labels):
    """How often the classifier reads the class a conditional generator was asked for.

    Args:
        probs: (N, num_classes) predicted probabilities of the generated
            images (or logits: only the argmax is used).
        labels: (N,) int class ids that were asked for, one per image.

    Returns:
        `(accuracy, per_class)`: the fraction of images whose predicted
        class is the asked one (a float in [0, 1]), and that fraction for
        each class asked for (a list of num_classes floats; NaN where a class
        was never asked for).

    Example:
        >>> labels = np.arange(1000) % 10
        >>> label_accuracy(clf.predict(gan.generate(labels=labels)), labels)  # doctest: +SKIP
    """
    probs = np.asarray(keras.ops.convert_to_numpy(probs))
    labels = np.asarray(labels)
    if probs.ndim != 2 or probs.shape[1] < 2 or len(probs) == 0:
        raise ValueError(f"probs must have shape (N, num_classes) with N >= 1, num_classes >= 2, got {probs.shape}.")
    if labels.shape != (len(probs),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(probs)} int class ids, shape ({len(probs)},); got {labels.dtype} {labels.shape}.")
    num_classes = probs.shape[1]
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}); got {labels.min()}..{labels.max()}.")
    if not np.isfinite(probs.astype(np.float32)).all():
        raise ValueError("probs holds NaN or infinite values (were the images NaN, from a diverged generator?).")
    hit = probs.argmax(axis=1) == labels
    asked = np.bincount(labels, minlength=num_classes)
    right = np.bincount(labels, weights=hit, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(asked > 0, right / np.maximum(asked, 1), np.nan)
    return float(hit.mean()), [float(x) for x in per_class]


def _check_path(path):
    path = Path(path)
    if not (path.name.endswith(".weights.h5") or path.name.endswith(".keras")):
        raise ValueError(f"path must end in .weights.h5 or .keras, got {str(path)!r}.")
    return path
