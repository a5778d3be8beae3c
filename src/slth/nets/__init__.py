"""Target and random ReLU networks: weight laws, targets, random networks and their layouts, checks.

Conventions (docs/theory.md §1): a network is a tuple of weight matrices of shape (out, in); the maths uses
column vectors, the code takes a batch of row vectors ``x`` of shape (batch, d_0) and returns
(batch, d_L). f(x) = W_l σ(W_{l-1} ··· σ(W_1 x)), σ = ReLU after every layer but the last, no biases.

One job per module, every public name re-exported here:
  :mod:`~slth.nets.laws`     the i.i.d. entry laws (DISTRIBUTIONS, sample, the law checks);
  :mod:`~slth.nets.targets`  targets: dims, forward pass, spectral norms, the theorems' checks, load;
  :mod:`~slth.nets.random`   RandomSpec and random_network (regeneration bit for bit);
  :mod:`~slth.nets.layouts`  the random network's layouts, one module each, in the table LAYOUTS;
  :mod:`~slth.nets.conv`     convolutional targets: their geometry and their explicit (unrolled) layers;
  :mod:`~slth.nets.affine`   targets with biases: a bias as the last column, a weight on a constant input 1;
  :mod:`~slth.nets.residual` residual targets: skip connections z ↦ z + F(z), their checks and edges.
"""

from slth.nets import layouts
from slth.nets import affine, conv, residual
from slth.nets.laws import (BINARY_SCALE, DISTRIBUTIONS, HYPERBOLIC_GAMMA, check_distribution, default_dtype,
                            require_law, sample)
from slth.nets.layouts import LAYOUTS, Layout
from slth.nets.random import DTYPES, RandomSpec, block_inputs, block_layers, random_network, spec_from_json
from slth.nets.targets import (SPECTRAL_NORM_TOL, check_target, dims_of, forward, load_target, norm_tolerance,
                               parse_dims, random_target, rescale, spectral_norms)

__all__ = ["BINARY_SCALE", "affine", "conv", "DISTRIBUTIONS", "DTYPES", "HYPERBOLIC_GAMMA", "LAYOUTS", "Layout", "RandomSpec",
           "SPECTRAL_NORM_TOL", "block_inputs", "block_layers", "check_distribution", "check_target",
           "default_dtype", "dims_of", "forward", "layouts", "load_target", "norm_tolerance", "parse_dims",
           "random_network", "random_target", "require_law", "rescale", "residual", "sample", "spec_from_json",
           "spectral_norms"]
