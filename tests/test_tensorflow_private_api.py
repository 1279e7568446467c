"""The one private TensorFlow API SKYBEAT uses (classifier.backbones.fold_variables): fails loudly when a
TensorFlow upgrade moves or changes it, instead of the taggers silently slowing down or breaking."""

import numpy as np
import tensorflow as tf

from classifier.backbones import fold_variables


def test_fold_variables_turns_a_functions_variables_into_constants_with_the_same_outputs():
    weight = tf.Variable([[2.0], [3.0]])
    function = tf.function(lambda x: tf.matmul(x, weight)).get_concrete_function(tf.TensorSpec((None, 2), tf.float32))
    folded = fold_variables(function)
    x = np.array([[1.0, 1.0], [0.5, -1.0]], dtype=np.float32)

    def output() -> np.ndarray:
        return np.asarray(tf.nest.flatten(folded(tf.constant(x)))[0])

    assert function.variables and not folded.variables, "the variables are folded in as constants"
    np.testing.assert_allclose(output(), x @ np.array([[2.0], [3.0]]))
    weight.assign([[0.0], [0.0]])  # the folded function keeps the values it was given
    np.testing.assert_allclose(output(), x @ np.array([[2.0], [3.0]]))
