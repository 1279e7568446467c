"""Register the model SKYBEAT ships, ``genre-crnn-gtzan`` (classifier/shipped/, re-created by
``manage.py build_default_model``), and make it the active model unless someone chose another one.

Only database rows, with the data as of this migration: the worker that first loads the model copies its files
from the source tree into SKYBEAT_MODELS_DIR (classifier.inference.load_version). ``pretrained-tags`` stays, as
a selectable baseline.
"""

from django.db import migrations

NAME = "genre-crnn-gtzan"
GENRES = ["blues", "classical", "country", "disco", "hip-hop", "jazz", "metal", "pop", "reggae", "rock",
          "electronic", "folk", "punk", "rnb-soul", "ambient", "dance", "funk"]
FRAME_SETTINGS = {"sample_rate_hz": 16000, "n_mels": 96, "n_fft": 512, "hop_length": 256, "frame_length": 187,
                  "skip_s": 5.0, "max_frames": 40, "min_loudness_dbfs": -17.0, "max_loudness_dbfs": -11.5}
CARD = {
    "summary": "Frozen MSD and MTT musicnn embeddings of each 3 s frame into a CRNN head (2-layer GRU) trained on "
               "479 labelled GTZAN excerpts (genre-train), fused with both taggers' genre tags so that genres "
               "without training audio (electronic, folk, punk, R&B/soul, ambient, dance, funk) are still "
               "predicted; a song is the mean of its frames. Fusion, temperature and confidence threshold fitted "
               "by 5-fold cross-validation and by leaving each tagged genre out of a head in turn.",
    "limits": "GTZAN's ten genres are learnt from 2-3 s excerpts of 30 s clips from the 2000s and earlier; the "
              "other seven come from the taggers' tags alone. Songs below the confidence threshold are marked "
              "unsure. Label songs on their pages and train from the admin to teach it your library.",
}
# Cross-validated on genre-train (its model card, classifier/shipped/genre-crnn-gtzan/model_card.json, has all).
METRICS = {'song_accuracy': 0.965, 'song_top3_accuracy': 0.9883, 'frame_accuracy': 0.7537, 'multi_frame_gain': 0.2113, 'validation_songs': 600, 'validation_excerpts': 479, 'confidence_threshold': 0.7563, 'confident_share': 0.5052, 'confident_accuracy': 0.9504, 'extra_genre_false_alarms': 0.1044, 'genre_balanced_accuracy': 0.665, 'reliability': {'ece': 0.0746, 'bins': [{'low': 0.1, 'high': 0.2, 'confidence': 0.1974, 'accuracy': 0.0, 'songs': 1}, {'low': 0.2, 'high': 0.3, 'confidence': 0.2609, 'accuracy': 0.2174, 'songs': 23}, {'low': 0.3, 'high': 0.4, 'confidence': 0.3449, 'accuracy': 0.1714, 'songs': 35}, {'low': 0.4, 'high': 0.5, 'confidence': 0.4543, 'accuracy': 0.5385, 'songs': 39}, {'low': 0.5, 'high': 0.6, 'confidence': 0.5502, 'accuracy': 0.6286, 'songs': 35}, {'low': 0.6, 'high': 0.7, 'confidence': 0.6622, 'accuracy': 0.6567, 'songs': 67}, {'low': 0.7, 'high': 0.8, 'confidence': 0.7535, 'accuracy': 0.9167, 'songs': 72}, {'low': 0.8, 'high': 0.9, 'confidence': 0.8568, 'accuracy': 0.9159, 'songs': 107}, {'low': 0.9, 'high': 1.0, 'confidence': 0.9499, 'accuracy': 0.99, 'songs': 100}]}, 'tag_only_genres': {'blues': {'songs': 48, 'recall': 0.4167, 'top3_recall': 0.8958}, 'classical': {'songs': 47, 'recall': 0.7447, 'top3_recall': 0.9787}, 'country': {'songs': 48, 'recall': 0.4583, 'top3_recall': 0.7708}, 'hip-hop': {'songs': 48, 'recall': 0.5208, 'top3_recall': 0.75}, 'jazz': {'songs': 48, 'recall': 0.75, 'top3_recall': 0.9583}, 'metal': {'songs': 48, 'recall': 0.4167, 'top3_recall': 0.7083}, 'pop': {'songs': 48, 'recall': 0.4375, 'top3_recall': 0.8958}, 'rock': {'songs': 48, 'recall': 0.5625, 'top3_recall': 0.9375}}}


def register(apps, schema_editor):
    ModelVersion = apps.get_model("classifier", "ModelVersion")
    version, _ = ModelVersion.objects.get_or_create(name=NAME, defaults={
        "architecture": "crnn-fusion", "genres": GENRES, "feature_params": FRAME_SETTINGS, "metrics": METRICS,
        "model_card": CARD, "artefact_path": NAME})
    active = ModelVersion.objects.filter(active=True).first()
    if active is None or active.name == "pretrained-tags":
        ModelVersion.objects.filter(active=True).update(active=False)
        ModelVersion.objects.filter(pk=version.pk).update(active=True)


def unregister(apps, schema_editor):
    ModelVersion = apps.get_model("classifier", "ModelVersion")
    was_active = ModelVersion.objects.filter(name=NAME, active=True).exists()
    ModelVersion.objects.filter(name=NAME).delete()
    if was_active:
        ModelVersion.objects.filter(name="pretrained-tags").update(active=True)


class Migration(migrations.Migration):
    dependencies = [("classifier", "0008_fusion_architecture"), ("catalog", "0008_song_genre_uncertain_disco")]

    operations = [migrations.RunPython(register, unregister)]
