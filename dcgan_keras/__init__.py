"""dcgan-keras: a DCGAN written once in Keras 3, trained on TensorFlow, JAX or PyTorch."""
