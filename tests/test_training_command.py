"""`manage.py train_classifier`: clear errors for bad arguments and data, before any training starts."""

import pytest
from django.core.management import CommandError, call_command

from catalog.services import label_song
from tests.catalog_factories import genre, make_song


def test_needs_exactly_one_source(tmp_path):
    with pytest.raises(CommandError, match="either a labelled folder or --from-library"):
        call_command("train_classifier")
    with pytest.raises(CommandError, match="either a labelled folder or --from-library"):
        call_command("train_classifier", str(tmp_path), "--from-library")


def test_reports_a_missing_folder_and_bad_options(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("train_classifier", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="val_fraction|val-fraction"):
        call_command("train_classifier", str(tmp_path), "--val-fraction", "1.5")
    with pytest.raises(CommandError, match="unknown training mode 'guess'"):
        call_command("train_classifier", str(tmp_path), "--mode", "guess")


@pytest.mark.django_db
def test_from_library_names_genres_short_of_labels(settings, user):
    settings.SKYBEAT_MIN_LABELS_PER_GENRE = 4
    for slug, count in (("drone", 4), ("chime", 2)):
        g = genre(slug)
        for _ in range(count):
            label_song(make_song(user), g, user)
    with pytest.raises(CommandError, match="genre 'chime' has 2 labelled songs, needs 4"):
        call_command("train_classifier", "--from-library", "--genres", "drone,chime")
