"""The Keras 3 musicnn port reproduces the original TF1 graphs' taggrams (classifier.backbones)."""

import json
from pathlib import Path

import keras
import librosa
import numpy as np
import pytest
import tensorflow as tf

from classifier.genre_model import configure_tensorflow_threads

configure_tensorflow_threads(1)

from classifier.backbones import (  # noqa: E402
    BACKBONES, TemporalConv, TimbralConv, backbone_version, load_musicnn,
)
from classifier.features import FrameSettings, song_frames  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared/data/musicnn-reference"
pytestmark = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"musicnn reference outputs not found at {REFERENCE}")


def expected() -> dict:
    return json.loads((REFERENCE / "expected.json").read_text())


def reference_patches(clip: Path) -> np.ndarray:
    """expected.json's preprocessing, verbatim: (patches, 187, 96) float32."""
    audio, sr = librosa.load(clip, sr=16000)
    mel = librosa.feature.melspectrogram(y=audio, sr=sr, n_fft=512, hop_length=256, n_mels=96).T
    mel = np.log10(10000 * mel.astype(np.float32) + 1)
    return np.stack([mel[s:s + 187] for s in range(0, mel.shape[0] - 187 + 1, 187)])


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    return {name: reference_patches(REFERENCE / name) for name in expected()["clips"]}


@pytest.mark.parametrize("model", BACKBONES)
def test_port_matches_every_taggram_value_and_the_top10(clips, model):
    tagger = load_musicnn(model)
    for clip, patches in clips.items():
        stem = clip.rsplit(".", 1)[0]
        taggram = np.load(REFERENCE / f"{stem}.{model}.taggram.npy")
        assert patches.shape[0] == expected()["clips"][clip]["patches"] == taggram.shape[0]
        ours = tagger.predict_tags(patches)
        assert ours.shape == taggram.shape == (len(patches), 50)
        np.testing.assert_allclose(ours, taggram, atol=1e-3, rtol=0, err_msg=f"{clip} {model}")
        top10 = [tagger.labels[i] for i in np.argsort(-ours.mean(axis=0))[:10]]
        assert top10 == expected()["clips"][clip][f"{model}_top10"]


def test_feature_pipeline_reproduces_the_reference_preprocessing(clips):
    for clip, patches in clips.items():
        frames = song_frames(REFERENCE / clip, FrameSettings(skip_s=0)).frames
        np.testing.assert_allclose(frames, patches, atol=1e-4)


def test_tagger_outputs_and_metadata(clips):
    tagger = load_musicnn("MSD_musicnn")
    patches = next(iter(clips.values()))[:3]
    out = tagger.predict(patches)
    assert out["embedding"].shape == (3, 200) and out["mean_pool"].shape == out["max_pool"].shape == (3, 753)
    np.testing.assert_allclose(out["tags"], 1 / (1 + np.exp(-out["logits"])), atol=1e-6)
    assert tagger.labels[:3] == ["rock", "pop", "alternative"] and len(tagger.labels) == 50
    assert load_musicnn("MTT_musicnn").labels[:3] == ["guitar", "classical", "slow"]
    assert tagger.version == backbone_version("MSD_musicnn") == "musicnn-MSD-0.1.0"
    assert load_musicnn("MSD_musicnn") is tagger  # cached per process
    assert not tagger.keras_model.trainable
    with pytest.raises(ValueError):
        load_musicnn("MSD_vgg")


@pytest.mark.parametrize("layer, kernel_size, padding", [
    (TimbralConv, (7, 38), "valid"), (TimbralConv, (7, 67), "valid"),
    (TemporalConv, (128, 1), "same"), (TemporalConv, (64, 1), "same"), (TemporalConv, (7, 1), "same"),
])
def test_fast_front_end_layers_equal_conv_relu_batchnorm_maxpool(layer, kernel_size, padding):
    """The fused front-end layers compute exactly musicnn's Conv2D -> ReLU -> BatchNorm -> max over frequency,
    and give the same gradients (fine-tuning trains them)."""
    rng = np.random.default_rng(kernel_size[0] + kernel_size[1])
    x = rng.normal(size=(2, 193 if padding == "valid" else 187, 96)).astype(np.float32)
    weights = [rng.normal(size=(*kernel_size, 1, 20)).astype(np.float32) / np.prod(kernel_size) ** 0.5,
               rng.normal(size=20).astype(np.float32),  # bias
               rng.normal(size=20).astype(np.float32),  # gamma: both signs
               rng.normal(size=20).astype(np.float32),  # beta
               rng.normal(size=20).astype(np.float32),  # moving mean
               rng.uniform(0.5, 2, size=20).astype(np.float32)]  # moving variance
    fused = layer(20, kernel_size)
    fused.build(x.shape)
    fused.set_weights(weights)
    conv = keras.layers.Conv2D(20, kernel_size, padding=padding, activation="relu")
    conv.build((None, *x.shape[1:], 1))
    conv.set_weights(weights[:2])
    norm = keras.layers.BatchNormalization(epsilon=1e-3)
    norm.build((None, None, None, 20))
    norm.set_weights(weights[2:])
    with tf.GradientTape(persistent=True) as tape:
        ours = fused(x)
        expected = keras.ops.max(norm(conv(x[..., None]), training=False), axis=2)  # (batch, T, 20)
        loss_ours, loss_expected = (keras.ops.sum(keras.ops.sin(y)) for y in (ours, expected))
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), atol=1e-4)
    np.testing.assert_allclose(tape.gradient(loss_ours, fused.kernel).numpy(),
                               tape.gradient(loss_expected, conv.kernel).numpy(), atol=1e-3)
