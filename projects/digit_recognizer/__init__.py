"""Project: a handwritten digit recognizer, from MNIST to a CNN served by a small web app."""
