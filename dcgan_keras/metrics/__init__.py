"""Quality metrics for generated images: FID and KID on any feature extractor.

A feature extractor maps images in [-1, 1], shape (N, H, W, C), to features
(N, D): InceptionV3 for the usual FID, or a small classifier trained on the
data set itself, which is cheaper and more telling for MNIST-like data.

    extractor = inception_extractor()          # or classifier_extractor(clf)
    real = extract_features(extractor, x_real)
    fake = extract_features(extractor, lambda n: gan.generate(n), num_samples=10000)
    fid(real, fake), kid(real, fake)

Everything here is keras + numpy + scipy, so it runs on every backend.
"""

from dcgan_keras.metrics.classifier import (
    build_mnist_classifier,
    class_coverage,
    classifier_extractor,
    label_accuracy,
    load_mnist_classifier,
    save_mnist_classifier,
    train_mnist_classifier,
)
from dcgan_keras.metrics.distances import (
    feature_statistics,
    fid,
    frechet_distance,
    kid,
    polynomial_mmd,
)
from dcgan_keras.metrics.evaluation import FIDCallback, evaluate_generator
from dcgan_keras.metrics.extractors import (
    InceptionExtractor,
    extract_features,
    inception_extractor,
    to_model_range,
)

__all__ = [
    "FIDCallback",
    "InceptionExtractor",
    "build_mnist_classifier",
    "class_coverage",
    "classifier_extractor",
    "evaluate_generator",
    "extract_features",
    "feature_statistics",
    "fid",
    "frechet_distance",
    "inception_extractor",
    "kid",
    "label_accuracy",
    "load_mnist_classifier",
    "polynomial_mmd",
    "save_mnist_classifier",
    "to_model_range",
    "train_mnist_classifier",
]
