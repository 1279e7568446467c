"""Audio stored once per SHA-256: songs of several people over one blob, reused classifications, deletion that
keeps shared audio, the migration of existing songs, and uploads on a storage without local paths."""

import threading

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from catalog.ingest import ingest_uploads
from catalog.models import AudioBlob, GenrePrediction, Song
from catalog.signals import song_classified
from classifier import inference
from classifier.results import reuse_classification
from tests.catalog_factories import fast_passwords, genre, make_song, media_root, stored_files, upload_of, write_song  # noqa: F401
from tests.classifier_factories import active_model, forget_failed_loads, second_pretrained, upload_song  # noqa: F401
from tests.test_catalog_sweep import wait_until

pytestmark = pytest.mark.usefixtures("fast_passwords")

MIGRATION = ("catalog", "0004_audio_blobs")
IN_MEMORY_STORAGES = {
    "default": {"BACKEND": "tests.pathless_storage.PathlessMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def predictions_of(song: Song) -> dict[str, float]:
    return dict(GenrePrediction.objects.filter(song=song).values_list("genre__slug", "probability"))


# --- Classification reused for identical bytes -------------------------------------------------------------------


@pytest.mark.django_db
def test_reuse_copies_the_classification_of_the_same_audio_under_the_same_model_only(user, other_user, active_model,
                                                                                      django_capture_on_commit_callbacks):
    jazz = genre("jazz")
    alices = make_song(user, top_genre=jazz, probability=0.9, model_version=active_model, timeline={"genres": ["jazz"]},
                       spectrogram="spectrograms/shared.png")
    bobs = make_song(other_user, audio=alices.audio, title="Bob's own title", visibility=Song.Visibility.PRIVATE)
    other_audio = make_song(other_user)
    older_model = second_pretrained("an older model")

    assert reuse_classification(other_audio.pk, active_model.pk) is None, "no other song has its audio"
    assert reuse_classification(bobs.pk, older_model.pk) is None, "the same audio, but not under this model"
    announced = []
    song_classified.connect(lambda sender, song_id, **kwargs: announced.append(song_id), weak=False,
                            dispatch_uid="test-reuse-announced")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            reused = reuse_classification(bobs.pk, active_model.pk)
    finally:
        song_classified.disconnect(dispatch_uid="test-reuse-announced")

    bobs.refresh_from_db()
    assert reused == bobs and announced == [bobs.pk]
    assert (bobs.status, bobs.top_genre, bobs.top_probability, bobs.classification.model_version) == (
        Song.Status.CLASSIFIED, jazz, 0.9, active_model)
    assert (bobs.timeline, bobs.spectrogram.name) == (alices.timeline, "spectrograms/shared.png")
    assert predictions_of(bobs) == predictions_of(alices) == {"jazz": 0.9}
    assert (bobs.title, bobs.uploaded_by, bobs.visibility) == ("Bob's own title", other_user, Song.Visibility.PRIVATE)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reuses_the_classification_of_identical_bytes(celery_worker_process, active_model, user,
                                                                     other_user, tmp_path):
    alices = upload_song(tmp_path, user, "pulse", seed=41)
    wait_until(lambda: Song.objects.get(pk=alices.pk).status == Song.Status.CLASSIFIED, what="alice's song classified")
    same_bytes = ContentFile(alices.audio_file.read(), name="my copy.wav")
    bobs = ingest_uploads([same_bytes], other_user, Song.Visibility.PRIVATE)[0].song

    wait_until(lambda: Song.objects.get(pk=bobs.pk).status == Song.Status.CLASSIFIED, what="bob's song classified")
    alices.refresh_from_db()
    bobs.refresh_from_db()
    assert predictions_of(bobs) == predictions_of(alices) and len(predictions_of(bobs)) == len(active_model.genres)
    assert (bobs.top_genre, bobs.timeline, bobs.classification.model_version) == (
        alices.top_genre, alices.timeline, active_model)
    assert bobs.spectrogram.name == alices.spectrogram.name, "no second spectrogram was rendered"
    assert (bobs.title, bobs.visibility) == ("my copy", Song.Visibility.PRIVATE)
    log = celery_worker_process.log_path.read_text()
    assert f"Song {bobs.pk}: classification of song {alices.pk} reused" in log, log[-3000:]
    for song in (alices, bobs):  # the worker's files live under the shared test MEDIA_ROOT: leave nothing there
        logged_in(song.uploaded_by).delete(reverse("api-song-detail", args=[song.pk]))
    assert not AudioBlob.objects.exists()


# --- Deletion -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deleting_a_song_keeps_the_audio_while_another_song_uses_it(user, other_user, media_root, tmp_path,
                                                                    django_capture_on_commit_callbacks):
    path = write_song(tmp_path / "both.wav")
    alices = ingest_uploads([upload_of(path)], user)[0].song
    bobs = ingest_uploads([upload_of(path)], other_user)[0].song
    spectrogram = default_storage.save(f"spectrograms/{alices.sha256}.png", ContentFile(b"\x89PNG\r\n\x1a\n"))
    Song.objects.filter(pk__in=[alices.pk, bobs.pk]).update(spectrogram=spectrogram)  # as a reused classification
    audio_name = alices.audio_file.name
    assert AudioBlob.objects.count() == 1 and len(stored_files(media_root)) == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert logged_in(user).delete(reverse("api-song-detail", args=[alices.pk])).status_code == 204
    assert list(Song.objects.all()) == [bobs]
    assert sorted(stored_files(media_root)) == sorted([media_root / audio_name, media_root / spectrogram])
    bob = logged_in(other_user)
    stream = bob.get(reverse("api-song-stream", args=[bobs.pk]))
    assert stream.status_code == 200 and b"".join(stream.streaming_content) == path.read_bytes()
    assert bob.get(reverse("catalog:song-spectrogram", args=[bobs.pk])).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        assert bob.post(reverse("catalog:song-delete", args=[bobs.pk])).status_code == 302
    assert not Song.objects.exists() and not AudioBlob.objects.exists()
    assert stored_files(media_root) == []


@pytest.mark.django_db
def test_staff_deleting_songs_in_the_admin_releases_their_audio(staff_user, user, other_user, media_root, tmp_path,
                                                                django_capture_on_commit_callbacks):
    staff_user.is_superuser = True
    staff_user.save()
    path = write_song(tmp_path / "admin.wav")
    songs = [ingest_uploads([upload_of(path)], owner)[0].song for owner in (user, other_user)]
    admin = logged_in(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("admin:catalog_song_changelist"),
                              {"action": "delete_selected", "_selected_action": [s.pk for s in songs], "post": "yes"})
    assert response.status_code == 302
    assert not Song.objects.exists() and not AudioBlob.objects.exists() and stored_files(media_root) == []


# --- Concurrency -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_of_new_bytes_by_two_people_store_them_once(user, other_user, media_root, tmp_path):
    path = write_song(tmp_path / "race.flac", seconds=3.0)
    people = [user, user, other_user, other_user]
    barrier = threading.Barrier(len(people))
    outcomes, errors = [], []

    def upload(person):
        try:
            barrier.wait()
            outcomes.extend((person.pk, outcome) for outcome in ingest_uploads([upload_of(path)], person))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    songs = {person: {outcome.song.pk for pk, outcome in outcomes if pk == person} for person in (user.pk, other_user.pk)}
    assert all(len(ids) == 1 for ids in songs.values()) and songs[user.pk] != songs[other_user.pk]
    assert sum(outcome.created for _, outcome in outcomes) == 2
    assert Song.objects.count() == 2 and AudioBlob.objects.count() == 1 and len(stored_files(media_root)) == 1


# --- The migration of existing songs ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_gives_each_existing_song_a_blob_of_its_file_columns_and_back(user):
    executor = MigrationExecutor(connection)
    before = [parent.key for parent in executor.loader.graph.node_map[MIGRATION].parents]
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldSong = old.get_model("catalog", "Song")
    files = [
        dict(sha256="a" * 64, audio_file="audio/aa/aa/a.wav", size_bytes=1234, audio_format="wav", duration_s=61.5,
             sample_rate_hz=22050, channels=2),
        dict(sha256="b" * 64, audio_file="audio/bb/bb/b.mp3", size_bytes=99, audio_format="mp3", duration_s=None,
             sample_rate_hz=None, channels=None),
    ]
    for n, columns in enumerate(files):
        OldSong.objects.create(title=f"Old {n}", uploaded_by_id=user.pk, visibility="private", **columns)

    executor.loader.build_graph()
    executor.migrate(latest)

    migrated = {song.title: song for song in Song.objects.select_related("audio")}
    assert AudioBlob.objects.count() == 2 and set(migrated) == {"Old 0", "Old 1"}
    for n, columns in enumerate(files):
        audio = migrated[f"Old {n}"].audio
        assert {**{name: getattr(audio, name) for name in columns if name != "audio_file"},
                "audio_file": audio.file.name} == columns
        assert (migrated[f"Old {n}"].uploaded_by_id, migrated[f"Old {n}"].visibility) == (user.pk, "private")

    executor.loader.build_graph()
    executor.migrate(before)
    restored = executor.loader.project_state(before).apps.get_model("catalog", "Song")
    assert sorted(restored.objects.values(*files[0]), key=lambda row: row["sha256"]) == files
    executor.loader.build_graph()
    executor.migrate(latest)


# --- A storage without local paths -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_upload_stream_classify_and_delete_on_a_storage_without_local_paths(settings, user, other_user, active_model,
                                                                            media_root, tmp_path,
                                                                            django_capture_on_commit_callbacks):
    settings.STORAGES = IN_MEMORY_STORAGES
    with pytest.raises(NotImplementedError):
        default_storage.path("audio/anything.wav")
    path = write_song(tmp_path / "cloud.ogg", seconds=4.0)
    alice, bob = logged_in(user), logged_in(other_user)

    response = alice.post(reverse("api-song-list"), {"file": upload_of(path)})
    again = bob.post(reverse("api-song-list"), {"file": upload_of(path, name="mine too.ogg")})

    assert response.status_code == again.status_code == 201, response.content
    alices, bobs = (Song.objects.get(pk=r.json()["uploads"][0]["song"]["id"]) for r in (response, again))
    assert alices.audio == bobs.audio and default_storage.exists(alices.audio_file.name)
    with default_storage.open(alices.audio_file.name, "rb") as stored:
        assert stored.read() == path.read_bytes()
    part = bob.get(reverse("api-song-stream", args=[bobs.pk]), HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and b"".join(part.streaming_content) == path.read_bytes()[10:20]
    with django_capture_on_commit_callbacks(execute=True):
        inference.classify_song(alices.pk)
        inference.classify_song(bobs.pk)
    bobs.refresh_from_db()
    assert bobs.status == Song.Status.CLASSIFIED and predictions_of(bobs) == predictions_of(alices)
    assert bob.get(reverse("catalog:song-spectrogram", args=[bobs.pk])).status_code == 200
    names = [alices.audio_file.name, bobs.spectrogram.name]
    with django_capture_on_commit_callbacks(execute=True):
        alice.delete(reverse("api-song-detail", args=[alices.pk]))
        bob.delete(reverse("api-song-detail", args=[bobs.pk]))
    assert not AudioBlob.objects.exists() and not any(default_storage.exists(name) for name in names)
    assert stored_files(media_root) == [], "nothing touched the local MEDIA_ROOT"
