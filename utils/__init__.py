"""Helpers for the Deep Learning Practice course.

One small module per job; import what you need from it, e.g.::

    from utils.env import seed_everything, get_device
    from utils.data import load_mnist
    from utils.train import fit, evaluate

What a notebook *teaches* is written in the notebook itself; this package holds
the plumbing a learner should not have to read (loading, plotting, progress).
"""

__version__ = "0.1.0"
