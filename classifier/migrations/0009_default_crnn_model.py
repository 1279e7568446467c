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
METRICS = {'song_accuracy': 0.9667, 'song_top3_accuracy': 0.9883, 'frame_accuracy': 0.7516, 'multi_frame_gain': 0.2151, 'validation_songs': 600, 'validation_excerpts': 479, 'confidence_threshold': 0.7276, 'confident_share': 0.5741, 'confident_accuracy': 0.9491, 'extra_genre_false_alarms': 0.1044, 'genre_balanced_accuracy': 0.6735, 'reliability': {'ece': 0.0724, 'bins': [{'low': 0.1, 'high': 0.2, 'confidence': 0.1892, 'accuracy': 0.3333, 'songs': 3}, {'low': 0.2, 'high': 0.3, 'confidence': 0.268, 'accuracy': 0.1364, 'songs': 22}, {'low': 0.3, 'high': 0.4, 'confidence': 0.3498, 'accuracy': 0.1667, 'songs': 30}, {'low': 0.4, 'high': 0.5, 'confidence': 0.4495, 'accuracy': 0.475, 'songs': 40}, {'low': 0.5, 'high': 0.6, 'confidence': 0.5534, 'accuracy': 0.6154, 'songs': 39}, {'low': 0.6, 'high': 0.7, 'confidence': 0.6563, 'accuracy': 0.6327, 'songs': 49}, {'low': 0.7, 'high': 0.8, 'confidence': 0.7501, 'accuracy': 0.8902, 'songs': 82}, {'low': 0.8, 'high': 0.9, 'confidence': 0.8553, 'accuracy': 0.914, 'songs': 93}, {'low': 0.9, 'high': 1.0, 'confidence': 0.9477, 'accuracy': 0.9835, 'songs': 121}]}, 'tag_only_genres': {'blues': {'songs': 48, 'recall': 0.4167, 'top3_recall': 0.8958}, 'classical': {'songs': 47, 'recall': 0.7872, 'top3_recall': 0.9787}, 'country': {'songs': 48, 'recall': 0.4375, 'top3_recall': 0.7708}, 'hip-hop': {'songs': 48, 'recall': 0.5, 'top3_recall': 0.75}, 'jazz': {'songs': 48, 'recall': 0.75, 'top3_recall': 0.9583}, 'metal': {'songs': 48, 'recall': 0.4792, 'top3_recall': 0.8333}, 'pop': {'songs': 48, 'recall': 0.4792, 'top3_recall': 0.875}, 'rock': {'songs': 48, 'recall': 0.6458, 'top3_recall': 0.9375}}}


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
