"""The digits CNN (issue 16, item 7, first part): trained, rescaled into the theorems' assumptions
without changing a prediction, and pruned out of a random CNN."""

import jax.numpy as jnp
import numpy as np
import pytest

from slth.errors import InputError
from slth.nets import conv
from slth.studies.digits import cnn
from slth.studies.digits.certify import normalise
from slth.studies.digits.data import load_digits

GEOMETRY = "1x8x8:2,4:k3:s1,2:10"


@pytest.fixture(scope="module")
def prepared():
    return cnn.prepare(GEOMETRY, epochs=3)


def test_rescaling_keeps_every_prediction_of_the_trained_cnn(prepared):
    """The explicit, rescaled target predicts what the trained CNN (lax convolutions, pooling, head)
    predicts on every test image, and every explicit layer has operator norm at most 1."""
    g = conv.Geometry.parse(GEOMETRY)
    data = load_digits()
    x_train, x_test, _, _ = normalise(data.x_train, data.x_test)
    params = cnn.train(g, x_train, data.y_train, seed=0, epochs=3, batch_size=64, learning_rate=1e-2)
    direct = np.argmax(np.asarray(cnn._forward(params, jnp.asarray(x_test), g)), axis=1)
    assert np.array_equal(direct, prepared.target_pred)
    assert all(conv.spectral_norm(w) <= 1 + 1e-12 for w in prepared.target.layers())
    assert max(prepared.norms_before) > 1          # the trained layers needed the rescaling


def test_a_ticket_of_the_digits_cnn_is_read_like_the_mlp_ones(prepared):
    row = cnn.ticket_row(prepared, "subset-sum", 3, network_seed=0)
    assert 0 <= row["agreement"] <= 1 and row["lower_bound"] <= row["certificate"]
    assert row["guaranteed_disagree"] == 0


def test_a_geometry_that_does_not_read_the_digits_is_refused():
    with pytest.raises(InputError, match="does not fit the digits"):
        cnn.prepare("1x6x6:2:k3:s1:10")
