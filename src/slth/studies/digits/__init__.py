"""Tickets for networks trained on real data: does pruning a random network keep a trained classifier?

A small bias-free ReLU MLP is trained on scikit-learn's digits (or user-provided MNIST files,
:mod:`slth.data`) with adam, brought into the theorems' assumptions (inputs in the unit ball, every
layer of spectral norm 1) by positive rescaling, which changes no prediction, and then approximated by
the tickets of the weight-pruning constructions at increasing candidates per block. Per (construction, c)
the report gives both accuracies, how often ticket and target agree, the two-sided error
[lower bound, certificate] (docs/theory.md §3), and the fraction of test points whose margin *proves* agreement
(:func:`guaranteed`).

No biases: the target is f(x) = W_l σ(··· σ(W_1 x)) on the normalised pixels, as in docs/theory.md §1. No
constant input coordinate is appended, so the default shape is 64-32-10 and the input width is the
number of pixels. A bias-free ReLU network is positively homogeneous, which is what makes both the
input normalisation and the layer rescaling harmless for classification. The twin with biases
(``prepare(biases=True)``, ``slth digits --biases``) has the same weights at initialisation and a bias
per neuron; its rescaling scales each bias with the product of the factors before it (no prediction
changes, checked), the normalised pixels are its inputs as they are, and its tickets come from random
networks with random biases (docs/theory.md §1.8), whose certificate bounds the sup over the whole ball.

One entry path: :func:`prepare` trains the target once, the unit is :func:`ticket_row` (one ticket);
:func:`digits` (the ``slth digits`` command) and a ``digits`` sweep both build their rows with them.
One aggregation of a sweep's rows: :func:`sweep_summary`. Modules, one job each: :mod:`.data`
(``slth.data`` is that module), :mod:`.training`, :mod:`.certify`, :mod:`.study`, :mod:`.report`, and :mod:`.cnn`, the digits CNN (a
bias-free convolutional target pruned out of random CNNs).
``slth.digits`` is this package.
"""

from slth import constructions, measure, nets, pipeline  # noqa: F401  (attributes of the old module slth.digits)
from slth.studies.digits.certify import SQRT2, guaranteed, margins, normalise, rescale_target
from slth.studies.digits.data import N_CLASSES, Dataset, load_digits, load_mnist
from slth.studies.digits.report import SUMMARY_COLUMNS, format_report, sweep_summary
from slth.studies.digits.study import (DEFAULT_CANDIDATES, DEFAULTS, DigitsReport, DigitsRow, Prepared, digits,
                                       prepare, ticket_row)
from slth.studies.digits.training import predict, train

__all__ = ["DEFAULTS", "DEFAULT_CANDIDATES", "SUMMARY_COLUMNS", "DigitsReport", "DigitsRow", "Prepared", "digits",
           "format_report", "guaranteed", "margins", "normalise", "predict", "prepare", "rescale_target",
           "sweep_summary", "ticket_row", "train"]
