"""The pretrained musicnn taggers (Pons & Serra 2019), re-implemented as Keras 3 models.

musicnn's own code needs TensorFlow 1, so it is never imported: the architecture is rebuilt here and the
weights are read from the checkpoints shipped in the installed ``musicnn`` wheel with
``tf.compat.v1.train.NewCheckpointReader``. ``tests/test_backbone_port.py`` proves the port reproduces the
original graphs' taggrams.

Architecture, for an input of log-mel frames x (batch, T=187, 96):

- front-end: batch norm of the input, then musically motivated convolutions with ReLU + batch norm, each
  max-pooled over all frequencies: two *timbral* (vertical) filters of 7x38 and 7x67 (204 maps each) and
  three *temporal* (horizontal) filters of 128x1, 64x1, 32x1 (51 maps each) -> (batch, T, 561);
- mid-end: three 1-D convolutions over time (kernel 7, 64 maps, ReLU + batch norm), the 2nd and 3rd with
  residual connections; front-end and mid-end outputs are concatenated (dense connection) -> (batch, T, 753);
- back-end: max and mean pooling over time, interleaved per feature -> (batch, 1506), batch norm, dense 200
  ReLU + batch norm ("penultimate", the transfer embedding), dense 50 + sigmoid -> tag probabilities.

Every batch norm runs in inference mode (the checkpoints' moving statistics); dropout is inactive.

The front-end branches are fused layers (:class:`TimbralConv`, :class:`TemporalConv`) computing exactly the
original conv -> ReLU -> batch norm -> frequency max-pool, ~3x faster on CPU than the plain layers (frequency-
domain and polyphase convolutions; see their docstrings). The tests check them against the plain layers.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from classifier.memory import release_startup_memory

FRAME_LENGTH = 187  # spectrogram frames per input patch (3 s at 16 kHz, hop 256)
N_MELS = 96
EMBEDDING_DIM = 200  # size of the "penultimate" embedding
POOL_DIM = 753  # size of each of the mean- and max-pooled mid-end feature vectors
BACKBONES = ("MTT_musicnn", "MSD_musicnn")
MICRO_BATCH = 1  # frames per network call in MusicnnTagger.predict (see there)
LAYER_PREFIX = "musicnn_"  # every backbone layer's name starts with this (see networks.BackboneAwareAdam)
_BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default

# Our layer name -> the variable scopes of the same layer in musicnn's TF1 checkpoints (named in creation order).
_CHECKPOINT_SCOPES = {
    "input_bn": ("batch_normalization",),
    "timbral74": ("conv2d", "batch_normalization_1"),
    "timbral77": ("conv2d_1", "batch_normalization_2"),
    "temporal128": ("conv2d_2", "batch_normalization_3"),
    "temporal64": ("conv2d_3", "batch_normalization_4"),
    "temporal32": ("conv2d_4", "batch_normalization_5"),
    "midend1_conv": ("conv2d_5",),
    "midend1_bn": ("batch_normalization_6",),
    "midend2_conv": ("conv2d_6",),
    "midend2_bn": ("batch_normalization_7",),
    "midend3_conv": ("conv2d_7",),
    "midend3_bn": ("batch_normalization_8",),
    "pool_bn": ("batch_normalization_9",),
    "penultimate_dense": ("dense",),
    "penultimate_bn": ("batch_normalization_10",),
    "tags_dense": ("dense_1",),
}
_BN_VARIABLES = ("gamma", "beta", "moving_mean", "moving_variance")


def _musicnn_dir() -> Path:
    """The installed musicnn package folder, found without importing it (its modules need TensorFlow 1)."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the musicnn package is not installed (pip install --no-deps musicnn==0.1.0)")
    return Path(spec.submodule_search_locations[0])


def _check_name(name: str) -> None:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; expected one of {', '.join(BACKBONES)}")


@functools.cache
def backbone_version(name: str) -> str:
    """A string naming the exact weights of backbone ``name``, e.g. "musicnn-MSD-0.1.0" (a cache key)."""
    _check_name(name)
    return f"musicnn-{name.split('_')[0]}-{importlib.metadata.version('musicnn')}"


def backbone_labels(name: str) -> list[str]:
    """The 50 tag names of backbone ``name`` in output order, read as text from musicnn's configuration.py."""
    _check_name(name)
    tree = ast.parse((_musicnn_dir() / "configuration.py").read_text())
    wanted = f"{name.split('_')[0]}_LABELS"
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == wanted for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise RuntimeError(f"{wanted} not found in musicnn's configuration.py")


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(epsilon=_BN_EPSILON, name=LAYER_PREFIX + name)


class _PooledConv(layers.Layer):
    """musicnn's front-end block, fused: conv -> ReLU -> batch norm -> max over all frequencies.

    ReLU and batch norm (a per-channel affine map) are monotonic, so the max of the normalised map is the
    normalised max of the raw convolution where the batch norm scale is >= 0, and of its min where the scale is
    < 0. Only the raw convolution's max (and, as -max(-conv), its min) over frequencies is computed; the full
    normalised map is never written. Batch norm always uses its moving statistics (inference mode; gamma and
    beta stay trainable).

    Subclasses compute the raw convolution's (without bias) max over frequencies with the given kernel:
    (batch, T, filters). Weights: the conv2d ``kernel`` as TensorFlow stores it, ``bias``, and the batch norm's
    ``gamma``, ``beta``, ``moving_mean``, ``moving_variance`` (filters,).
    """

    def __init__(self, filters: int, kernel_size: tuple[int, int], **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, tuple(kernel_size)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(*self.kernel_size, 1, self.filters))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.gamma = self.add_weight(name="gamma", shape=(self.filters,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(self.filters,), initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=(self.filters,), initializer="zeros",
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(self.filters,), initializer="ones",
                                               trainable=False)

    def _max_over_frequency(self, x, kernel):
        raise NotImplementedError

    def call(self, x):
        scale = self.gamma / ops.sqrt(self.moving_variance + _BN_EPSILON)
        sign = ops.where(scale >= 0, 1.0, -1.0)  # min(conv) = -max(-conv), exact in floats
        extreme = sign * self._max_over_frequency(x, self.kernel * sign)
        return scale * ops.relu(extreme + self.bias) + (self.beta - self.moving_mean * scale)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


def _real_dft(positions: np.ndarray, bins: int, length: int) -> np.ndarray:
    """(len(positions), 2 bins): the real DFT of length ``length`` as a matrix, real parts then imaginary."""
    angle = positions[:, None] * np.arange(bins)[None, :] * (2 * np.pi / length)
    return np.concatenate([np.cos(angle), -np.sin(angle)], axis=1)


@keras.saving.register_keras_serializable(package="skybeat")
class TimbralConv(_PooledConv):
    """Vertical (timbral) filters (7, width) over the (batch, T + 6, F) time-padded input -> (batch, T, filters).

    The convolution is "valid" along frequency and computed in the frequency domain of that axis (~4x fewer
    multiply-adds than the direct convolution, same result to float rounding):

    1. a length-F real DFT of every spectrogram row and of the kernels. The rows' DFT is taken about the centre
       c = (F' - 1) / 2 of the F' = F - width + 1 valid positions (a phase shift), so that positions are c +- h;
       only valid positions are ever synthesised, so the circular wrap-around never shows;
    2. per frequency bin, the product with the kernels' conjugate spectra summed over the 7 time taps (a batched
       GEMM), giving P_b;
    3. the inverse DFT, halved: at c + h it is A_h - B_h and at c - h it is A_h + B_h, with
       A_h = sum_b w_b Re(P_b) cos(2 pi b h / F) / F and B_h = sum_b w_b Im(P_b) sin(2 pi b h / F) / F, so the
       max over both is A_h + |B_h|: two GEMMs over the ceil(F' / 2) offsets h >= 0 instead of one over all F'.
    """

    def build(self, input_shape):
        super().build(input_shape)
        freqs, width = input_shape[2], self.kernel_size[1]
        positions, bins = freqs - width + 1, freqs // 2 + 1
        centre = (positions - 1) / 2  # a half-integer when F' is even: the algebra below holds all the same
        self._analysis = _real_dft(np.arange(freqs) - centre, bins, freqs).astype("float32")  # (F, 2 bins)
        self._kernel_analysis = _real_dft(np.arange(width), bins, freqs).astype("float32")  # (width, 2 bins)
        weight = np.full(bins, 2.0)
        weight[0] = weight[-1] = 1.0  # DC and Nyquist appear once in the full spectrum (F is even)
        offsets = centre - np.arange((positions + 1) // 2)  # h >= 0: the valid positions are centre +- h
        synthesis = weight * _real_dft(offsets, bins, freqs).reshape(-1, 2, bins) / freqs
        self._cos_rows = synthesis[:, 0].astype("float32")  # (ceil(F' / 2), bins): A_h
        self._sin_rows = -synthesis[:, 1].astype("float32")  # B_h (zero at h = 0)

    def _max_over_frequency(self, x, kernel):
        taps, width = self.kernel_size
        batch, steps, bins = ops.shape(x)[0], x.shape[1] - taps + 1, self._cos_rows.shape[1]
        spectrum = ops.reshape(ops.matmul(x, self._analysis), (batch, x.shape[1], 2, bins))
        windows = ops.take(spectrum, np.arange(steps)[:, None] + np.arange(taps), axis=1)  # (b, T, taps, 2, bins)
        rows = ops.reshape(ops.transpose(windows, (4, 0, 1, 2, 3)), (bins, -1, 2 * taps))  # (bins, b T, tap re/im)
        kernel = ops.matmul(ops.transpose(ops.reshape(kernel, (taps, width, self.filters)), (0, 2, 1)),
                            self._kernel_analysis)  # (taps, filters, 2 bins)
        k_re, k_im = kernel[..., :bins], kernel[..., bins:]

        def per_bin(a, b):  # (taps, filters, bins) pairs -> (bins, 2 taps, filters) rows matching ``rows``
            return ops.reshape(ops.transpose(ops.stack([a, b], axis=1), (3, 0, 1, 2)), (bins, 2 * taps, self.filters))

        # correlation = x * conj(kernel): re = xr kr + xi ki, im = xi kr - xr ki
        product_re = ops.reshape(ops.matmul(rows, per_bin(k_re, k_im)), (bins, -1))  # (bins, batch T filters)
        product_im = ops.reshape(ops.matmul(rows, per_bin(-k_im, k_re)), (bins, -1))
        extreme = ops.max(ops.matmul(self._cos_rows, product_re) + ops.abs(ops.matmul(self._sin_rows, product_im)),
                          axis=0)
        return ops.reshape(extreme, (batch, steps, self.filters))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] - self.kernel_size[0] + 1, self.filters)


@keras.saving.register_keras_serializable(package="skybeat")
class TemporalConv(_PooledConv):
    """Horizontal (temporal) filters (length, 1), "same"-padded, over the (batch, T, F) input -> (batch, T, filters).

    Computed in polyphase form: time is cut into blocks of ``block`` samples, turning the long single-channel
    kernel into a short convolution over ``block`` channels, one GEMM-friendly ``conv1d`` (~4x faster on CPU
    than a single-channel conv2d, same result to float rounding).
    """

    def __init__(self, filters: int, kernel_size: tuple[int, int], block: int = 8, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.block = block
        length = self.kernel_size[0]
        self.taps = -(-(length + block - 1) // block)  # kernel length of the polyphase convolution, in blocks
        # polyphase kernel [m, q, p] = kernel[m * block + q - p]; out-of-range entries point at a zero row
        m, q, p = np.meshgrid(*(np.arange(n) for n in (self.taps, block, block)), indexing="ij")
        index = m * block + q - p
        self._index = np.where((index >= 0) & (index < length), index, length).astype("int32")

    def _max_over_frequency(self, x, kernel):
        length, steps, freqs = self.kernel_size[0], x.shape[1], x.shape[2]
        blocks = -(-steps // self.block)
        before = (length - 1) // 2  # TensorFlow's "same" padding
        after = (blocks + self.taps - 1) * self.block - steps - before
        x = ops.pad(ops.transpose(x, (2, 0, 1)), ((0, 0), (0, 0), (before, after)))
        x = ops.reshape(x, (-1, blocks + self.taps - 1, self.block))  # (F * batch, blocks, block)
        kernel = ops.pad(ops.reshape(kernel, (length, self.filters)), ((0, 1), (0, 0)))
        kernel = ops.reshape(ops.take(kernel, self._index, axis=0), (self.taps, self.block, self.block * self.filters))
        y = ops.conv(x, kernel, padding="valid")  # (F * batch, blocks, block * filters)
        return ops.max(ops.reshape(y, (freqs, -1, blocks * self.block, self.filters)), axis=0)[:, :steps]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


def _midend_block(x, name: str):
    """Zero-pad 3 frames each side, conv over time (kernel 7, 64 maps, ReLU), batch norm: (b, T, C) -> (b, T, 64)."""
    y = layers.ZeroPadding1D(3, name=f"{LAYER_PREFIX}{name}_pad")(x)
    y = layers.Conv1D(64, 7, activation="relu", name=f"{LAYER_PREFIX}{name}_conv")(y)
    return _bn(f"{name}_bn")(y)


def build_musicnn(n_tags: int = 50) -> keras.Model:
    """The musicnn network (untrained): (batch, 187, 96) log-mel -> dict of outputs.

    Outputs: ``tags`` (batch, n_tags) sigmoid probabilities and ``logits`` (batch, n_tags) before the sigmoid,
    ``embedding`` (batch, 200) the penultimate layer, ``mean_pool`` and ``max_pool`` (batch, 753) the mid-end
    features pooled over time.
    """
    x = keras.Input((FRAME_LENGTH, N_MELS), name="log_mel")
    normalized = _bn("input_bn")(layers.Reshape((FRAME_LENGTH, N_MELS, 1), name=LAYER_PREFIX + "expand")(x))
    normalized = layers.Reshape((FRAME_LENGTH, N_MELS), name=LAYER_PREFIX + "normalized")(normalized)
    time_padded = layers.ZeroPadding1D(3, name=LAYER_PREFIX + "timbral_pad")(normalized)
    frontend = layers.Concatenate(axis=-1, name=LAYER_PREFIX + "frontend")([
        TimbralConv(204, (7, int(0.4 * N_MELS)), name=LAYER_PREFIX + "timbral74")(time_padded),
        TimbralConv(204, (7, int(0.7 * N_MELS)), name=LAYER_PREFIX + "timbral77")(time_padded),
        TemporalConv(51, (128, 1), name=LAYER_PREFIX + "temporal128")(normalized),
        TemporalConv(51, (64, 1), name=LAYER_PREFIX + "temporal64")(normalized),
        TemporalConv(51, (32, 1), name=LAYER_PREFIX + "temporal32")(normalized),
    ])  # (batch, T, 561)
    mid1 = _midend_block(frontend, "midend1")
    mid2 = layers.Add(name=LAYER_PREFIX + "midend2_residual")([_midend_block(mid1, "midend2"), mid1])
    mid3 = layers.Add(name=LAYER_PREFIX + "midend3_residual")([_midend_block(mid2, "midend3"), mid2])
    midend = layers.Concatenate(axis=-1, name=LAYER_PREFIX + "midend")([frontend, mid1, mid2, mid3])  # (b, T, 753)

    max_pool = layers.GlobalMaxPooling1D(name=LAYER_PREFIX + "max_pool")(midend)
    mean_pool = layers.GlobalAveragePooling1D(name=LAYER_PREFIX + "mean_pool")(midend)
    # musicnn flattens stack([max, mean], axis=-1): features interleaved as max0, mean0, max1, mean1, ...
    pooled = layers.Concatenate(axis=-1, name=LAYER_PREFIX + "pool_pairs")([
        layers.Reshape((POOL_DIM, 1), name=LAYER_PREFIX + "max_pool_col")(max_pool),
        layers.Reshape((POOL_DIM, 1), name=LAYER_PREFIX + "mean_pool_col")(mean_pool),
    ])
    pooled = _bn("pool_bn")(layers.Flatten(name=LAYER_PREFIX + "pool_flat")(pooled))  # (batch, 1506)
    pooled = layers.Dropout(0.5, name=LAYER_PREFIX + "pool_dropout")(pooled)
    dense = layers.Dense(EMBEDDING_DIM, activation="relu", name=LAYER_PREFIX + "penultimate_dense")(pooled)
    penultimate = _bn("penultimate_bn")(dense)
    logits = layers.Dense(n_tags, name=LAYER_PREFIX + "tags_dense")(
        layers.Dropout(0.5, name=LAYER_PREFIX + "penultimate_dropout")(penultimate))
    tags = layers.Activation("sigmoid", name=LAYER_PREFIX + "tags")(logits)
    outputs = {"tags": tags, "logits": logits, "embedding": penultimate, "mean_pool": mean_pool, "max_pool": max_pool}
    return keras.Model(x, outputs, name="musicnn")


def load_checkpoint_weights(model: keras.Model, name: str) -> None:
    """Set ``model``'s (from :func:`build_musicnn`) weights from musicnn's checkpoint of backbone ``name``."""
    _check_name(name)
    reader = tf.compat.v1.train.NewCheckpointReader(str(_musicnn_dir() / name) + "/")
    for ours, scopes in _CHECKPOINT_SCOPES.items():
        layer = model.get_layer(LAYER_PREFIX + ours)
        values = [reader.get_tensor(f"{scope}/{variable}") for scope in scopes
                  for variable in (_BN_VARIABLES if scope.startswith("batch_normalization") else ("kernel", "bias"))]
        # musicnn's mid-end convs are 2-D convs spanning all features: (7, C, 1, 64) -> Conv1D's (7, C, 64).
        layer.set_weights([v.reshape(w.shape) for v, w in zip(values, layer.get_weights(), strict=True)])


def fold_variables(function):
    """``function`` (a concrete tf.function) with its variables folded in as constants.

    The one use of a private TensorFlow API in SKYBEAT: TensorFlow 2 has no public way to do this (the public
    ``tf.compat.v1.graph_util`` one needs a TF1 session). tests/test_tensorflow_private_api.py checks it after every
    TensorFlow upgrade and fails loudly if it moved or changed.
    """
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    return convert_variables_to_constants_v2(function)


@dataclass(frozen=True, eq=False)
class MusicnnTagger:
    """A pretrained musicnn tagger. Inputs are log-mel frames (n, 187, 96) float32 (see classifier.features)."""

    name: str
    labels: list[str]
    version: str
    keras_model: keras.Model

    @functools.cached_property
    def _infer(self):
        """The network as one graph function with the weights folded in as constants.

        The weights never change (the tagger is frozen), so everything computed from them alone (the timbral
        kernels' spectra, the polyphase kernels, batch-norm scales) is evaluated once when the graph is optimised
        instead of on every call: ~7% less CPU per frame. The memory tracing used is handed back at once
        (classifier.memory), which keeps a worker's peak while loading below its peak while classifying.
        """
        spec = tf.TensorSpec((None, FRAME_LENGTH, N_MELS), tf.float32)
        graph = tf.function(lambda x: self.keras_model(x, training=False)).get_concrete_function(spec)
        frozen, structure = fold_variables(graph), graph.structured_outputs
        del graph  # the traced graph with its variables: the frozen one replaces it
        release_startup_memory()  # what tracing and freezing left behind, before the next tagger adds to it
        return lambda x: tf.nest.pack_sequence_as(structure, frozen(x))

    def predict(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """All outputs for frames (n, 187, 96): tags and logits (n, 50), embedding (n, 200), pools (n, 753).

        Frames go through one per network call (``MICRO_BATCH``): on one core that was measured fastest, ~15 ms
        of CPU per frame against ~18 ms in calls of 4 to 40 on an AVX-512 CPU (~65 against 100-130 ms on an
        AVX2 one); one frame's activations, ~15 MB, stay in cache, and activation memory stays small whatever
        the number of frames.
        """
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 3 or len(frames) == 0:
            raise ValueError(f"expected frames shaped (n >= 1, {FRAME_LENGTH}, {N_MELS}), got {frames.shape}")
        parts = [self._infer(tf.convert_to_tensor(frames[i:i + MICRO_BATCH]))
                 for i in range(0, len(frames), MICRO_BATCH)]
        return {key: np.concatenate([part[key].numpy() for part in parts]) for key in parts[0]}

    def predict_tags(self, frames: np.ndarray) -> np.ndarray:
        """Tag probabilities (n, 50) in ``labels`` order for frames (n, 187, 96)."""
        return self.predict(frames)["tags"]

    def embed(self, frames: np.ndarray) -> np.ndarray:
        """Penultimate embeddings (n, 200) for frames (n, 187, 96)."""
        return self.predict(frames)["embedding"]

    def training_mean_logits(self) -> np.ndarray:
        """Each tag's mean logit over the network's training data (50,), derived from the weights alone.

        The penultimate batch norm outputs (h - mean) / std * gamma + beta with the moving mean and std of its
        input over the training set, so its training-set average is beta; the logits are affine in it, so their
        training-set average is beta @ W + b.
        """
        beta = self.keras_model.get_layer(LAYER_PREFIX + "penultimate_bn").beta.numpy()
        kernel, bias = self.keras_model.get_layer(LAYER_PREFIX + "tags_dense").get_weights()
        return beta @ kernel + bias


@functools.cache
def load_musicnn(name: str) -> MusicnnTagger:
    """The pretrained tagger ``name`` ("MTT_musicnn" or "MSD_musicnn"), loaded once per process.

    The model is frozen (``trainable = False``); build a fresh one with :func:`build_musicnn` +
    :func:`load_checkpoint_weights` to fine-tune.
    """
    _check_name(name)
    model = build_musicnn()
    load_checkpoint_weights(model, name)
    model.trainable = False
    return MusicnnTagger(name=name, labels=backbone_labels(name), version=backbone_version(name), keras_model=model)
