"""Keras 3 genre networks over a song's log-mel frames (see classifier.features).

Every model classifies each 3 s frame and averages the per-frame genre probabilities into the song's (the
"average stage" of multi-frame classification). Models output a dict: ``frames`` (batch, n_frames, n_genres)
per-frame softmax probabilities and ``song`` (batch, n_genres) their mean; they are compiled with categorical
cross-entropy on ``song``, so ``model.fit(x, {"song": one_hot_labels})`` trains them. Songs with fewer frames
than the batch's longest are zero-padded: all-zero frames are masked out of the GRUs and of the average.

- :func:`build_crnn_head`: a 2-layer GRU over per-frame backbone embeddings (the frozen "feature extractor"
  mode: train it on cached embeddings).
- :func:`build_finetune_model`: the pretrained musicnn encoder + the same head, end to end; the encoder learns
  10x slower than the head (:class:`BackboneAwareAdam`).
- :func:`build_from_scratch_model`: the baseline CRNN (4 conv blocks + 2-layer GRU per frame), no pretraining.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from classifier.backbones import LAYER_PREFIX, build_musicnn, load_checkpoint_weights
from classifier.features import FrameSettings

_PACKAGE = "skybeat"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FrameMask(layers.Layer):
    """Identity that masks padding: frames that are all zeros. (batch, n_frames, ...) -> same, mask (b, n)."""

    def call(self, x):
        return ops.copy(x)  # a new tensor: the mask must not be attached to the caller's input

    def compute_mask(self, x, mask=None):
        return ops.any(ops.not_equal(x, 0), axis=tuple(range(2, len(x.shape))))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Framewise(layers.Wrapper):
    """Applies the wrapped layer to every frame: (batch, n, *frame) -> (batch, n, *output). Keeps the incoming
    (batch, n) mask.

    All frames go through as one batch (batch * n, *frame), except at inference with ``sequential_inference``:
    then the layer is mapped over the frames one at a time. For the musicnn encoder that is faster on CPU (one
    frame's activations stay in cache) and needs ~60 MB of activations instead of ~1 GB for a 40-frame song.
    """

    def __init__(self, layer, sequential_inference: bool = False, **kwargs):
        super().__init__(layer, **kwargs)
        self.sequential_inference = sequential_inference
        self.supports_masking = True

    def build(self, input_shape):
        super().build((None, *input_shape[2:]))

    def call(self, x, training=None):
        batch, frames = ops.shape(x)[0], ops.shape(x)[1]
        flat = ops.reshape(x, (-1, *x.shape[2:]))
        if self.sequential_inference and not training:
            y = ops.map(lambda frame: self.layer(frame[None], training=False)[0], flat)
        else:
            y = self.layer(flat, training=training)
        return ops.reshape(y, (batch, frames, *y.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])

    def compute_mask(self, x, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "sequential_inference": self.sequential_inference}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FrameMean(layers.Layer):
    """Mean over unmasked frames: (batch, n_frames, n_genres) -> (batch, n_genres)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        weights = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_mask(self, x, mask=None):
        return None


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BackboneAwareAdam(keras.optimizers.Adam):
    """Adam whose learning rate is multiplied by ``backbone_lr_multiplier`` (default 0.1: 10x lower) for the
    pretrained backbone's variables (layer names starting with ``LAYER_PREFIX``)."""

    def __init__(self, learning_rate=1e-3, backbone_lr_multiplier: float = 0.1, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.backbone_lr_multiplier = backbone_lr_multiplier

    def build(self, var_list):
        super().build(var_list)
        self._backbone_indices = {i for i, v in enumerate(var_list)
                                  if any(part.startswith(LAYER_PREFIX) for part in v.path.split("/"))}

    def update_step(self, gradient, variable, learning_rate):
        if self._get_variable_index(variable) in self._backbone_indices:
            learning_rate = learning_rate * self.backbone_lr_multiplier
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "backbone_lr_multiplier": self.backbone_lr_multiplier}


def _genre_head(embeddings, n_genres: int, gru_units: int, dropout: float) -> dict:
    """(batch, n_frames, D) masked embeddings -> {"frames": (batch, n_frames, n_genres), "song": (b, n_genres)}."""
    x = layers.Dropout(dropout, name="head_dropout")(embeddings)
    x = layers.GRU(gru_units, return_sequences=True, name="head_gru_1")(x)
    x = layers.GRU(gru_units, return_sequences=True, name="head_gru_2")(x)
    frames = layers.Dense(n_genres, activation="softmax", name="frames")(x)
    return {"frames": frames, "song": FrameMean(name="song")(frames)}


def _compile(model: keras.Model, optimizer: keras.optimizers.Optimizer) -> keras.Model:
    model.compile(optimizer=optimizer, loss={"song": "categorical_crossentropy"})
    return model


def build_crnn_head(embedding_dim: int, n_genres: int, gru_units: int = 64, dropout: float = 0.3,
                    learning_rate: float = 1e-3, name: str = "crnn_head") -> keras.Model:
    """Genre head over per-frame embeddings: input (batch, n_frames, embedding_dim) float32 (zero rows = padding)
    -> {"frames": (batch, n_frames, n_genres), "song": (batch, n_genres)}."""
    x = keras.Input((None, embedding_dim), name="embeddings")
    return _compile(keras.Model(x, _genre_head(FrameMask(name="padding")(x), n_genres, gru_units, dropout),
                                name=name), keras.optimizers.Adam(learning_rate))


def average_heads(heads: list[keras.Model]) -> keras.Model:
    """A seed ensemble of :func:`build_crnn_head` heads (distinct names): one model, same input, whose "frames"
    and "song" outputs are the means of the heads'. A single head is returned as it is."""
    if len(heads) == 1:
        return heads[0]
    x = keras.Input(heads[0].input.shape[1:], name="embeddings")
    outputs = [head(x) for head in heads]
    return keras.Model(x, {key: layers.Average(name=key)([output[key] for output in outputs])
                           for key in ("frames", "song")}, name="crnn_head_ensemble")


def build_finetune_model(backbone_name: str, n_genres: int, gru_units: int = 64, dropout: float = 0.3,
                         learning_rate: float = 1e-3, settings: FrameSettings | None = None) -> keras.Model:
    """The pretrained musicnn encoder (front-end, mid-end, pooling and its 200-d penultimate layer, weights from
    backbone ``backbone_name``) on every frame, then the CRNN head; the encoder trains at learning_rate / 10.

    Input (batch, n_frames, 187, 96) log-mel frames (all-zero frames = padding)
    -> {"frames": (batch, n_frames, n_genres), "song": (batch, n_genres)}.
    The encoder's batch norms stay in inference mode (frozen statistics, as is usual when fine-tuning on
    small data); its dropout is active in training as when it was pretrained.
    """
    settings = settings or FrameSettings()
    tagger = build_musicnn()
    load_checkpoint_weights(tagger, backbone_name)
    encoder = keras.Model(tagger.input, tagger.output["embedding"], name=LAYER_PREFIX + "encoder")
    for layer in encoder.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    x = keras.Input((None, settings.frame_length, settings.n_mels), name="log_mel_frames")
    embeddings = Framewise(encoder, sequential_inference=True, name=LAYER_PREFIX + "framewise")(
        FrameMask(name="padding")(x))
    model = keras.Model(x, _genre_head(embeddings, n_genres, gru_units, dropout), name="crnn_finetune")
    return _compile(model, BackboneAwareAdam(learning_rate, backbone_lr_multiplier=0.1))


def _scratch_frame_classifier(n_genres: int, settings: FrameSettings, gru_units: int) -> keras.Model:
    """One frame (187, 96) -> genre probabilities (n_genres,): 4 x [3x3 conv, batch norm, ELU, max-pool], then a
    2-layer GRU over the remaining time steps (187 -> 11) and a dense softmax (Choi et al.'s CRNN)."""
    x = keras.Input((settings.frame_length, settings.n_mels), name="log_mel")
    y = layers.BatchNormalization(name="input_bn")(layers.Reshape((settings.frame_length, settings.n_mels, 1))(x))
    for i, (filters, pool) in enumerate([(32, (2, 2)), (64, (2, 2)), (64, (2, 4)), (128, (2, 4))], start=1):
        y = layers.Conv2D(filters, 3, padding="same", name=f"conv_{i}")(y)
        y = layers.Activation("elu", name=f"elu_{i}")(layers.BatchNormalization(name=f"bn_{i}")(y))
        y = layers.MaxPooling2D(pool, name=f"pool_{i}")(y)
    y = layers.Reshape((y.shape[1], y.shape[2] * y.shape[3]), name="to_sequence")(y)  # (time, freq * channels)
    y = layers.GRU(gru_units, return_sequences=True, name="gru_1")(y)
    y = layers.GRU(gru_units, name="gru_2")(y)
    y = layers.Dropout(0.3, name="dropout")(y)
    return keras.Model(x, layers.Dense(n_genres, activation="softmax", name="genre")(y), name="frame_classifier")


def build_from_scratch_model(n_genres: int, settings: FrameSettings | None = None, gru_units: int = 32,
                             learning_rate: float = 1e-3) -> keras.Model:
    """The from-scratch CRNN baseline, applied to every frame and averaged.

    Input (batch, n_frames, frame_length, n_mels) log-mel frames (all-zero frames = padding)
    -> {"frames": (batch, n_frames, n_genres), "song": (batch, n_genres)}.
    """
    settings = settings or FrameSettings()
    x = keras.Input((None, settings.frame_length, settings.n_mels), name="log_mel_frames")
    classifier = Framewise(_scratch_frame_classifier(n_genres, settings, gru_units), name="framewise")
    frames = classifier(FrameMask(name="padding")(x))
    outputs = {"frames": frames, "song": FrameMean(name="song")(frames)}
    return _compile(keras.Model(x, outputs, name="crnn_from_scratch"), keras.optimizers.Adam(learning_rate))
