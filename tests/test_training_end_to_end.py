"""Training on synthetic "genres": complete model card, accuracy far above chance, a saved model that classifies
new clips, the embedding cache hit on a second run; fine-tune and from-scratch smoke runs."""

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from classifier import datasets, registry, training
from classifier.model_cards import new_model_name
from classifier.training_options import TrainingOptions
from classifier.genre_model import load_genre_model
from classifier.inference import classify_file
from classifier.models import ModelVersion
from tests.audio_fixtures import SYNTHETIC_GENRES, synthetic_genre_clip, write_audio, write_labelled_folder
from tests.training_helpers import SAMPLE_RATE_HZ, small_tensorflow  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def models_dir(settings, tmp_path):
    settings.SKYBEAT_MODELS_DIR = tmp_path / "models"
    settings.SKYBEAT_EMBEDDING_CACHE_DIR = tmp_path / "embeddings"
    return settings.SKYBEAT_MODELS_DIR


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory) -> Path:
    """Three genres of clearly different timbre and rhythm, 10 clips of 10 s each."""
    return write_labelled_folder(tmp_path_factory.mktemp("labelled"), per_genre=10, seconds=10.0, sr=SAMPLE_RATE_HZ)


def test_feature_extractor_trains_a_model_that_classifies_new_clips(synthetic_folder, models_dir, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(training, "REPORT_EVERY_S", 0.0)  # every batch reports
    active_before = ModelVersion.get_active()
    clips = datasets.folder_dataset(synthetic_folder)
    options = TrainingOptions(mode="feature-extractor", epochs=25, skip_s=0.5, seed=3)
    seen = []

    result = training.train(clips, options, source=str(synthetic_folder), on_progress=seen.append)

    assert result.cache_stats == {"hits": 0, "misses": 30}
    assert seen[-1].fraction == 1.0 and any(p.stage.startswith("epoch 1/") for p in seen)
    assert all(later.fraction >= earlier.fraction - 1e-9 for earlier, later in zip(seen, seen[1:]))
    assert any(p.stage.startswith("epoch 2/25, batch 1/") for p in seen)
    version = result.model_version
    assert not version.active and ModelVersion.get_active() == active_before
    card = json.loads(result.card_path.read_text())
    assert card == json.loads(json.dumps(version.model_card))
    assert card["genres"] == sorted(SYNTHETIC_GENRES) == version.genres
    assert card["mode"] == "feature-extractor" and card["architecture"] == "crnn-feature-extractor"
    assert card["feature_params"]["skip_s"] == 0.5 and card["backbones"]["MSD_musicnn"].startswith("musicnn-MSD")
    assert card["data"]["train"] == {g: 8 for g in SYNTHETIC_GENRES}
    assert card["data"]["validation"] == {g: 2 for g in SYNTHETIC_GENRES}
    assert card["data"]["validation_frames"] == 6 * 3  # three frames of each 10 s clip
    assert card["split"]["by"] == "sha256"
    assert len(set(card["split"]["train"]) | set(card["split"]["validation"])) == 30
    assert not set(card["split"]["train"]) & set(card["split"]["validation"])
    assert card["created_at"] and card["history"] and card["metrics"]["epochs_run"] == len(card["history"])
    metrics = version.metrics
    assert metrics["song_accuracy"] >= 5 / 6 and metrics["frame_accuracy"] >= 0.7  # chance is 1/3
    assert card["history"][-1]["val_accuracy"] >= 0.8
    assert set(metrics["per_genre"]) == set(SYNTHETIC_GENRES)
    assert np.asarray(metrics["confusion"]).sum() == 6
    artefact = registry.live_artefact_dir(version)
    assert (artefact / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".")]  # no staging left behind

    model = load_genre_model(artefact)
    for kind in SYNTHETIC_GENRES:
        clip = write_audio(tmp_path / f"new-{kind}.wav", synthetic_genre_clip(kind, 12.0, SAMPLE_RATE_HZ, seed=999),
                           SAMPLE_RATE_HZ)
        assert classify_file(clip, model).top(1)[0][0] == kind

    out = io.StringIO()  # the second run, through the command: every embedding comes from the cache
    call_command("train_classifier", str(synthetic_folder), "--mode", "feature-extractor", "--epochs", "2", "--skip-s", "0.5",
                 stdout=out)
    printed = out.getvalue()
    assert re.search(r"\[#+\.*\] +\d+% epoch 1/2  loss \d\.\d{3}  accuracy \d\.\d{3}  val_loss", printed)
    assert "epoch 2/2" in printed and "val_accuracy" in printed
    assert "embedding cache 30 hits, 0 misses" in printed
    assert ModelVersion.objects.filter(active=False, architecture="crnn-feature-extractor").count() == 2


@pytest.mark.parametrize("mode", ["fine-tune", "from-scratch"])
def test_other_modes_train_save_and_load_skipping_unreadable_files(mode, models_dir, tmp_path):
    folder = write_labelled_folder(tmp_path / "tiny", per_genre=3, seconds=4.0, sr=SAMPLE_RATE_HZ,
                                   genres=("drone", "pulse"))
    (folder / "drone" / "broken.wav").write_bytes(b"RIFF not really a wave file")
    options = TrainingOptions(mode=mode, epochs=1, val_fraction=0.34, skip_s=0.0, batch_size=4)

    result = training.train(datasets.folder_dataset(folder), options, source=str(folder))

    version, card = result.model_version, result.card
    assert version.architecture == f"crnn-{mode}" and len(result.history) == 1
    assert result.cache_stats == {"hits": 0, "misses": 0}  # only the frozen backbone's embeddings are cached
    assert [entry["file"] for entry in card["data"]["skipped"]] == ["broken.wav"]
    assert "could not decode" in card["data"]["skipped"][0]["reason"]
    assert sum(card["data"]["train"].values()) + sum(card["data"]["validation"].values()) == 6
    model = load_genre_model(models_dir / version.artefact_path)
    assert (model.architecture, model.genres) == (f"crnn-{mode}", ["drone", "pulse"])
    clip = write_audio(tmp_path / "new.wav", synthetic_genre_clip("pulse", 4.0, SAMPLE_RATE_HZ, seed=5), SAMPLE_RATE_HZ)
    assert classify_file(clip, model).song_probs.sum() == pytest.approx(1.0)


def test_bad_names_and_modes_are_refused(models_dir):
    ModelVersion.objects.create(name="taken", architecture="crnn-fine-tune")
    with pytest.raises(datasets.TrainingError, match="already exists"):
        new_model_name(TrainingOptions(name="taken"))
    with pytest.raises(datasets.TrainingError, match="only letters"):
        new_model_name(TrainingOptions(name="../escape"))
    with pytest.raises(datasets.TrainingError, match="unknown training mode"):
        training.train([], TrainingOptions(mode="guess"), source="nowhere")
