"""Who may do what: every page and API endpoint × anonymous, user A (owner), user B, staff, superuser.

The table is the spec. "A's private song" is private to A; staff and superusers see every song. A redirect
(302) of someone not allowed in goes to a log-in page; the API answers 403 to the anonymous (session
authentication comes first, so there is no WWW-Authenticate challenge) and 404 for things you may not see.
Staff here means is_staff without model permissions: the admin site opens, the classifier's admin does not.
"""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog.ingest import ingest_uploads
from catalog.models import ListeningEvent, Song
from catalog.services import start_listen
from tests.audio_fixtures import write_tone
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
ROLES = ("anonymous", "A", "B", "staff", "superuser")

# fmt: off
#  what                                  request                                            anon  A    B    staff super
MATRIX = [
    ("home",                             "GET /",                                           200, 200, 200, 200, 200),
    ("browse genres",                    "GET /genres/",                                    200, 200, 200, 200, 200),
    ("library",                          "GET /songs/",                                     200, 200, 200, 200, 200),
    ("song page, A's private song",      "GET /songs/{private}/",                           404, 200, 404, 200, 200),
    ("stream, A's private song",         "GET /songs/{private}/stream",                     404, 200, 404, 200, 200),
    ("spectrogram, A's private song",    "GET /songs/{private}/spectrogram.png",            404, 200, 404, 200, 200),
    ("label form, A's private song",     "POST /songs/{private}/label",                     302, 302, 404, 302, 302),
    ("visibility, A's private song",     "POST /songs/{private}/visibility",                302, 302, 404, 302, 302),
    ("delete page, A's shared song",     "GET /songs/{shared}/delete",                      302, 200, 404, 200, 200),
    ("upload page",                      "GET /upload/",                                    302, 200, 200, 200, 200),
    ("history",                          "GET /history/",                                   302, 200, 200, 200, 200),
    ("moods dashboard",                  "GET /moods/",                                     302, 200, 200, 200, 200),
    ("mood radio",                       "GET /moods/radio/?mood=calm",                     302, 200, 200, 200, 200),
    ("API songs",                        "GET /api/songs/",                                 403, 200, 200, 200, 200),
    ("API A's private song",             "GET /api/songs/{private}/",                       403, 200, 404, 200, 200),
    ("API stream, A's private song",     "GET /api/songs/{private}/stream",                 403, 200, 404, 200, 200),
    ("API statuses",                     "GET /api/songs/status?ids={private}",             403, 200, 200, 200, 200),
    ("API delete A's shared song",       "DELETE /api/songs/{shared}/",                     403, 204, 403, 204, 204),
    ("API delete A's private song",      "DELETE /api/songs/{private}/",                    403, 204, 404, 204, 204),
    ("API upload",                       "POST /api/songs/",                                403, 400, 400, 400, 400),
    ("API genres",                       "GET /api/genres/",                                403, 200, 200, 200, 200),
    ("API A's listen",                   "GET /api/listens/{listen}/",                      403, 200, 404, 404, 404),
    ("API my history",                   "GET /api/me/history/",                            403, 200, 200, 200, 200),
    ("API my mood",                      "GET /api/me/mood/",                               403, 200, 200, 200, 200),
    ("admin index",                      "GET /admin/",                                     302, 302, 302, 200, 200),
    ("model admin",                      "GET /admin/classifier/modelversion/",             302, 302, 302, 403, 200),
    ("retry failed songs",               "POST /admin/classifier/modelversion/retry-failed/", 302, 302, 302, 403, 302),
    ("training jobs",                    "GET /admin/classifier/trainingjob/",              302, 302, 302, 403, 200),
    ("new training job",                 "GET /admin/classifier/trainingjob/add/",          302, 302, 302, 403, 200),
    ("songs admin",                      "GET /admin/catalog/song/",                        302, 302, 302, 403, 200),
    ("users admin",                      "GET /admin/auth/user/",                           302, 302, 302, 403, 200),
    ("healthz",                          "GET /healthz",                                    200, 200, 200, 200, 200),
    ("API docs",                         "GET /api/docs/",                                  200, 200, 200, 200, 200),
    ("API schema",                       "GET /api/schema/",                                200, 200, 200, 200, 200),
]
# fmt: on

CELLS = [
    pytest.param(request_line, role, expected, id=f"{what} × {role}")
    for what, request_line, *statuses in MATRIX
    for role, expected in zip(ROLES, statuses, strict=True)
]


@pytest.fixture
def world(django_user_model, tmp_path) -> dict:
    """A (owner of a private and a shared song, and of a listen), B, staff, superuser."""
    a = django_user_model.objects.create_user("alice", password="a-Long-pass-phrase-1")
    people = {
        "anonymous": None,
        "A": a,
        "B": django_user_model.objects.create_user("bob", password="b-Long-pass-phrase-2"),
        "staff": django_user_model.objects.create_user("staff", password="s-Long-pass-phrase-3", is_staff=True),
        "superuser": django_user_model.objects.create_superuser("root", password="r-Long-pass-phrase-4"),
    }
    songs = {}
    for visibility, freq in ((Song.Visibility.PRIVATE, 440.0), (Song.Visibility.SHARED, 550.0)):
        path = write_tone(tmp_path / f"{visibility}.wav", 1.0, freq=freq)
        outcome = ingest_uploads([SimpleUploadedFile(path.name, path.read_bytes())], a, visibility)[0]
        assert outcome.created, outcome.error
        songs[visibility] = outcome.song
    private = songs[Song.Visibility.PRIVATE]
    private.spectrogram.save(f"{private.sha256}.png", ContentFile(PNG_HEADER), save=True)
    listen = start_listen(a, songs[Song.Visibility.SHARED])
    return {"people": people, "private": songs[Song.Visibility.PRIVATE].pk,
            "shared": songs[Song.Visibility.SHARED].pk, "listen": listen.pk}


POST_BODIES = {"/label": {"genre": "jazz"}, "/visibility": {"visibility": "shared"}}


@pytest.mark.parametrize("request_line, role, expected", CELLS)
def test_authorisation_matrix(world, request_line, role, expected):
    method, template = request_line.split(" ", 1)
    url = template.format(private=world["private"], shared=world["shared"], listen=world["listen"])
    client = Client()
    if world["people"][role] is not None:
        client.force_login(world["people"][role])
    body = next((data for suffix, data in POST_BODIES.items() if url.endswith(suffix)), {})
    response = getattr(client, method.lower())(url, body) if method == "POST" else getattr(client, method.lower())(url)

    assert response.status_code == expected, f"{request_line} as {role}"
    if expected == 302 and (role == "anonymous" or "/admin/" in url and role in {"A", "B"}):
        assert "login" in response["Location"], "a refusal redirects to a log-in page"
    if expected in (403, 404) and method != "GET":
        assert Song.objects.filter(pk__in=[world["private"], world["shared"]]).count() == 2, "nothing was deleted"
        assert Song.objects.get(pk=world["private"]).visibility == Song.Visibility.PRIVATE
    if expected == 404 and "{private}" in template:
        assert Song.objects.get(pk=world["private"]).title not in response.content.decode(errors="replace")


def test_the_listen_is_only_its_listeners(world):
    """One endpoint the matrix cannot show fully: progress reports on someone else's listen change nothing."""
    client = Client()
    client.force_login(world["people"]["B"])
    response = client.post(f"/api/listens/{world['listen']}/progress", {"seconds_listened": 999})
    assert response.status_code == 404
    assert ListeningEvent.objects.get(pk=world["listen"]).seconds_listened == 0
