"""GenreModel: the pretrained-tags model, the Keras networks, and saving/loading artefacts."""

import copy
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from classifier.genre_model import configure_tensorflow_threads

configure_tensorflow_threads(1)

import keras  # noqa: E402

from catalog.default_genres import DEFAULT_GENRES  # noqa: E402
from classifier import artefacts, networks  # noqa: E402
from classifier.backbones import EMBEDDING_DIM, load_musicnn  # noqa: E402
from classifier.features import FrameSettings, song_frames  # noqa: E402
from classifier.genre_model import (  # noqa: E402
    GENRE_TAGS, CrnnFeatureExtractorGenreModel, CrnnFromScratchGenreModel, ModelLoadError,
    build_pretrained_tags_model,
)
from classifier.model_store import load_genre_model, save_genre_model  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[2] / "shared/data/musicnn-reference"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"musicnn reference clips not found at {REFERENCE}")
GUITAR_FAMILY = {"blues", "country", "folk", "rock"}
SAVES = 150  # per writer


@pytest.fixture(scope="module")
def pretrained():
    return build_pretrained_tags_model()


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 3, (5, 187, 96)).astype(np.float32)


def test_default_genre_table():
    slugs = [slug for slug, *_ in DEFAULT_GENRES]
    assert 12 <= len(slugs) <= 17 and len(set(slugs)) == len(slugs)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", colour) and name and text for _, name, colour, text in DEFAULT_GENRES)
    msd, mtt = load_musicnn("MSD_musicnn").labels, load_musicnn("MTT_musicnn").labels
    assert set(GENRE_TAGS) < set(slugs), "tags map onto default genres"
    for slug, tags in GENRE_TAGS.items():
        assert tags.msd + tags.mtt and set(tags.msd) <= set(msd) and set(tags.mtt) <= set(mtt), slug


def test_predict_shapes_and_probabilities(pretrained, frames):
    frame_probs, song_probs = pretrained.predict(frames)
    assert pretrained.architecture == "pretrained-tags" and pretrained.settings == FrameSettings()
    assert frame_probs.shape == (5, len(pretrained.genres)) and song_probs.shape == (len(pretrained.genres),)
    np.testing.assert_allclose(frame_probs.sum(axis=1), 1, atol=1e-9)
    np.testing.assert_allclose(song_probs, frame_probs.mean(axis=0), atol=1e-9)
    assert song_probs.sum() == pytest.approx(1) and (frame_probs >= 0).all()
    with pytest.raises(ValueError):
        pretrained.predict(frames[:, :100])
    with pytest.raises(ValueError):
        pretrained.predict(frames[:0])


@needs_reference
@pytest.mark.parametrize("clip, allowed", [
    ("joram-moments_of_clarity-08-solipsism-59-88.mp3", {"electronic"}),
    ("TRWJAZW128F42760DD_test.mp3", GUITAR_FAMILY),
])
def test_pretrained_tags_on_real_music(pretrained, clip, allowed):
    _, song_probs = pretrained.predict(song_frames(REFERENCE / clip, pretrained.settings).frames)
    top = pretrained.genres[int(song_probs.argmax())]
    assert top in allowed, dict(zip(pretrained.genres, song_probs.round(3), strict=True))
    if allowed == GUITAR_FAMILY:  # the runner-up is also a guitar genre, and nothing electronic is close
        runner_up = pretrained.genres[int(np.argsort(-song_probs)[1])]
        assert runner_up in GUITAR_FAMILY
        assert song_probs[pretrained.genres.index("electronic")] < 0.05


def test_pretrained_tags_save_load_gives_the_same_outputs(pretrained, frames, tmp_path):
    version = save_genre_model(pretrained, tmp_path / "pretrained")
    loaded = load_genre_model(tmp_path / "pretrained")
    assert type(loaded) is type(pretrained) and loaded.genres == pretrained.genres
    assert loaded.settings == pretrained.settings
    for a, b in zip(loaded.predict(frames), pretrained.predict(frames), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["backbone_versions"]["MSD_musicnn"] == "musicnn-MSD-0.1.0"


def small_crnn_model(genres=("jazz", "rock", "pop", "folk")) -> CrnnFeatureExtractorGenreModel:
    head = networks.build_crnn_head(EMBEDDING_DIM, len(genres), gru_units=16)
    return CrnnFeatureExtractorGenreModel(list(genres), FrameSettings(), head, backbone="MSD_musicnn")


def test_crnn_models_save_load_give_the_same_outputs(frames, tmp_path):
    models = [small_crnn_model(),
              CrnnFromScratchGenreModel(["a", "b", "c"], FrameSettings(), networks.build_from_scratch_model(3))]
    for i, model in enumerate(models):
        before = model.predict(frames[:2])
        loaded = load_genre_model(save_genre_model(model, tmp_path / f"m{i}"))
        assert loaded.architecture == model.architecture and loaded.genres == model.genres
        for a, b in zip(loaded.predict(frames[:2]), before, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_save_replaces_atomically_and_prunes_versions_replaced_a_while_ago(tmp_path, monkeypatch):
    model = small_crnn_model()
    first = save_genre_model(model, tmp_path / "m")
    model.genres = ["a", "b", "c", "d"]
    second = save_genre_model(model, tmp_path / "m")
    assert load_genre_model(tmp_path / "m").genres == ["a", "b", "c", "d"]
    assert (tmp_path / "m" / "CURRENT").read_text() == second.name
    assert first.is_dir()  # replaced just now: a loader may still be reading it
    monkeypatch.setattr(artefacts, "KEEP_REPLACED_S", 0)
    third = save_genre_model(model, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [".lock", "CURRENT", third.name]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_a_loader_never_sees_a_half_swapped_artefact_while_it_is_saved_again(pretrained, tmp_path):
    """A loader in a loop while two writers re-save the model: every load gets a complete version, old or new,
    never a missing directory or a manifest of one save with the files of another."""
    home, errors, loads, saving = tmp_path / "m", [], [], threading.Event()
    save_genre_model(pretrained, home)
    saving.set()

    def load_in_a_loop() -> None:
        while saving.is_set():
            try:
                loads.append(load_genre_model(home).temperature)
            except ModelLoadError as exc:
                errors.append(str(exc))

    def save_again(temperature: float) -> None:
        model = copy.copy(pretrained)
        model.temperature = temperature
        try:
            for _ in range(SAVES):
                save_genre_model(model, home)
        except Exception as exc:  # a writer must not fail either
            errors.append(f"saving: {exc!r}")

    loader = threading.Thread(target=load_in_a_loop)
    loader.start()
    writers = [threading.Thread(target=save_again, args=(temperature,)) for temperature in (1.0, 2.0)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    saving.clear()
    loader.join()
    assert errors == [], f"{len(errors)} of {len(errors) + len(loads)} loads failed, e.g. {errors[:3]}"
    assert len(loads) >= 10 and load_genre_model(home).temperature in (1.0, 2.0)


@pytest.mark.parametrize("damage, reason", [
    (lambda d: (d / "network.keras").write_bytes(b"PK\x03\x04 truncated"), "corrupt"),
    (lambda d: (d / "network.keras").unlink(), "missing file"),
    (lambda d: (d / "manifest.json").unlink(), "no manifest"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "unreadable"),
    (lambda d: _edit_manifest(d, format_version=99), "format 99"),
    (lambda d: _edit_manifest(d, architecture="transformer"), "architecture"),
    (lambda d: _edit_manifest(d, genres=["a", "b"]), "2 genres"),
    (lambda d: _edit_manifest(d, backbone_versions={"MSD_musicnn": "musicnn-MSD-9.9"}), "musicnn-MSD-9.9"),
    (lambda d: _edit_manifest(d, frame_settings={"hop": 3}), "hop"),
])
def test_damaged_artefacts_raise_model_load_error(tmp_path, damage, reason):
    directory = save_genre_model(small_crnn_model(), tmp_path / "m")
    damage(directory)
    with pytest.raises(ModelLoadError, match=reason):
        load_genre_model(directory)


def _edit_manifest(directory: Path, **changes) -> None:
    manifest = json.loads((directory / "manifest.json").read_text())
    (directory / "manifest.json").write_text(json.dumps({**manifest, **changes}))


def test_missing_artefact_raises_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError):
        load_genre_model(tmp_path / "nothing-here")


def test_networks_train_and_mask_padding():
    rng = np.random.default_rng(1)
    head = networks.build_crnn_head(8, 3, gru_units=4)
    x = rng.normal(size=(4, 6, 8)).astype(np.float32)
    x[0, 3:] = 0  # a 3-frame song padded to 6
    head.fit(x, {"song": np.eye(3)[[0, 1, 2, 0]]}, epochs=1, verbose=0)
    out = head(x, training=False)
    np.testing.assert_allclose(out["song"][0], keras.ops.mean(out["frames"][0, :3], axis=0), atol=1e-6)


def test_a_seed_ensemble_averages_its_heads_and_saves_as_one_network(tmp_path):
    rng = np.random.default_rng(2)
    heads = [networks.build_crnn_head(8, 3, gru_units=4, name=f"crnn_head_{i}") for i in range(3)]
    for head in heads:
        head.fit(rng.normal(size=(4, 2, 8)).astype(np.float32), {"song": np.eye(3)[[0, 1, 2, 0]]}, epochs=1, verbose=0)
    ensemble = networks.average_heads(heads)
    x = rng.normal(size=(2, 5, 8)).astype(np.float32)
    x[1, 2:] = 0  # a 2-frame song padded to 5
    expected = [np.mean([head(x, training=False)[key] for head in heads], axis=0) for key in ("frames", "song")]
    ensemble.save(tmp_path / "ensemble.keras")
    for model in (ensemble, keras.saving.load_model(tmp_path / "ensemble.keras", compile=False)):
        out = model(x, training=False)
        np.testing.assert_allclose(out["frames"], expected[0], atol=1e-6)
        np.testing.assert_allclose(out["song"], expected[1], atol=1e-6)
    assert networks.average_heads(heads[:1]) is heads[0]


def test_backbone_learns_ten_times_slower():
    """BackboneAwareAdam: the first Adam step moves each weight by ~learning rate, 10x less in the backbone."""
    x = keras.Input((4,))
    y = keras.layers.Dense(4, name="musicnn_layer")(x)
    model = keras.Model(x, keras.layers.Dense(2, name="head_layer")(y))
    model.compile(optimizer=networks.BackboneAwareAdam(1e-2), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(np.ones((8, 4), np.float32), np.full((8, 2), 5.0, np.float32))
    steps = [np.abs(a - b).max() for a, b in zip(model.get_weights(), before, strict=True)]
    assert steps[0] == pytest.approx(1e-3, rel=0.05) and steps[2] == pytest.approx(1e-2, rel=0.05)


def test_finetune_model_starts_from_the_pretrained_encoder(frames):
    model = networks.build_finetune_model("MSD_musicnn", 4)
    encoder = model.get_layer("musicnn_framewise").layer
    np.testing.assert_allclose(encoder(frames[:2], training=False), load_musicnn("MSD_musicnn").embed(frames[:2]),
                               atol=1e-4)
    assert isinstance(model.optimizer, networks.BackboneAwareAdam)
    out = model(frames[None, :2], training=False)
    assert out["frames"].shape == (1, 2, 4) and out["song"].shape == (1, 4)


def test_framewise_sequential_inference_equals_one_batch():
    x = np.random.default_rng(2).normal(size=(2, 5, 7, 3)).astype(np.float32)
    inner = keras.Sequential([keras.Input((7, 3)), keras.layers.Flatten(), keras.layers.Dense(4)])
    batched = networks.Framewise(inner)(x)
    sequential = networks.Framewise(inner, sequential_inference=True)(x, training=False)
    assert sequential.shape == (2, 5, 4)
    np.testing.assert_allclose(sequential, batched, atol=1e-6)
