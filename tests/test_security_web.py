"""Web security: CSRF on every form, production cookies, the upload cap before the body, served types, throttles."""

import io
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import ClientHandler
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from catalog.ingest import ingest_uploads
from catalog.models import GenreLabel, ListeningEvent, Song
from catalog.services import start_listen
from tests.audio_fixtures import write_tone
from tests.catalog_factories import fast_passwords, media_root, stored_files  # noqa: F401
from tests.conftest import test_database_url

pytestmark = pytest.mark.usefixtures("fast_passwords", "media_root")

PASSWORD = "a-Long-pass-phrase-1"


def stored_song(user, tmp_path, visibility=Song.Visibility.SHARED) -> Song:
    path = write_tone(tmp_path / "tone.wav", 1.0)
    return ingest_uploads([SimpleUploadedFile(path.name, path.read_bytes())], user, visibility)[0].song


# --- CSRF -------------------------------------------------------------------------------------------------------

def csrf_forms(song: Song, listen: ListeningEvent, tmp_path) -> dict[str, tuple[str, dict]]:
    """Every form a browser posts with the session cookie: name -> (url, body)."""
    audio = write_tone(tmp_path / "form.wav", 1.0, freq=660.0)
    return {
        "signup": ("/accounts/signup/",
                   {"username": "eve", "password1": "x-Long-phrase-9", "password2": "x-Long-phrase-9"}),
        "login": ("/accounts/login/", {"username": "alice", "password": PASSWORD}),
        "logout": ("/accounts/logout/", {}),
        "password change": ("/accounts/password_change/", {"old_password": PASSWORD, "new_password1": "n-Long-phrase-8",
                                                          "new_password2": "n-Long-phrase-8"}),
        "upload page": ("/upload/", {"file": SimpleUploadedFile("a.wav", audio.read_bytes())}),
        "API upload (session)": ("/api/songs/", {"file": SimpleUploadedFile("b.wav", audio.read_bytes())}),
        "listen start": ("/api/listens/", {"song": song.pk}),
        "listen beacon": (f"/api/listens/{listen.pk}/progress", {"seconds_listened": "40"}),
        "label form": (f"/songs/{song.pk}/label", {"genre": "jazz"}),
        "visibility form": (f"/songs/{song.pk}/visibility", {"visibility": "private"}),
        "delete form": (f"/songs/{song.pk}/delete", {}),
    }


def state(song: Song, listen: ListeningEvent, user) -> tuple:
    """What any of the forms could change."""
    return (Song.objects.count(), Song.objects.get(pk=song.pk).visibility, ListeningEvent.objects.count(),
            ListeningEvent.objects.get(pk=listen.pk).seconds_listened, type(user).objects.count(),
            type(user).objects.get(pk=user.pk).password, GenreLabel.objects.count())


FORM_NAMES = ["signup", "login", "logout", "password change", "upload page", "API upload (session)", "listen start",
              "listen beacon", "label form", "visibility form", "delete form"]


@pytest.mark.django_db
@pytest.mark.parametrize("form", FORM_NAMES)
def test_every_form_refuses_a_post_without_csrf_token(user, tmp_path, form):
    song = stored_song(user, tmp_path)
    listen = start_listen(user, song)
    url, body = csrf_forms(song, listen, tmp_path)[form]
    before = state(song, listen, user)

    strict = Client(enforce_csrf_checks=True)
    if form not in {"signup", "login"}:
        strict.force_login(user)
    refused = strict.post(url, body)
    assert refused.status_code == 403, refused.content[:300]
    assert state(song, listen, user) == before, "a refused POST changed nothing"

    # The same request with the token the page gave passes the CSRF check (whatever it then does).
    strict.get("/accounts/login/")
    body = {**csrf_forms(song, listen, tmp_path)[form][1], "csrfmiddlewaretoken": strict.cookies["csrftoken"].value}
    assert strict.post(url, body).status_code != 403


@pytest.mark.django_db
def test_api_with_a_token_needs_no_csrf_token(user, tmp_path):
    token = Token.objects.create(user=user)
    strict = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {token.key}")
    audio = write_tone(tmp_path / "t.wav", 1.0)
    response = strict.post("/api/songs/", {"file": SimpleUploadedFile("t.wav", audio.read_bytes())})
    assert response.status_code == 201, response.content


# --- Production cookies -----------------------------------------------------------------------------------------

PRODUCTION_LOGIN = """
import json
from django.test import Client
response = Client(HTTP_HOST="music.example.org").post(
    "/accounts/login/", {"username": "alice", "password": "a-Long-pass-phrase-1"}, secure=True)
insecure = Client(HTTP_HOST="music.example.org").get("/healthz")
cookies = {name: {"httponly": bool(c["httponly"]), "secure": bool(c["secure"]), "samesite": c["samesite"]}
           for name, c in response.cookies.items()}
print(json.dumps({"status": response.status_code, "cookies": cookies,
                  "hsts": response.get("Strict-Transport-Security", ""),
                  "insecure": [insecure.status_code, insecure.get("Location", "")]}))
"""


@pytest.mark.django_db(transaction=True)
def test_production_cookies_are_httponly_and_secure(django_user_model, tmp_path):
    # Hashed with the production hasher: this process's tests use a fast one the subprocess does not know.
    django_user_model.objects.create(username="alice", password=make_password(PASSWORD, hasher=PBKDF2PasswordHasher()))
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(DEBUG="0", ALLOWED_HOSTS="music.example.org", SKYBEAT_VAR_DIR=str(tmp_path),
               DATABASE_URL=test_database_url(), SECRET_KEY="s" * 20 + "-production-secret-key-long-enough-987654")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", PRODUCTION_LOGIN],
                            cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["status"] == 302, report
    assert report["cookies"]["sessionid"] == {"httponly": True, "secure": True, "samesite": "Lax"}
    assert report["cookies"]["csrftoken"]["secure"] is True
    assert report["hsts"].startswith("max-age=31536000")
    assert report["insecure"] == [301, "https://music.example.org/healthz"]


# --- The upload cap ---------------------------------------------------------------------------------------------

class CountingBody(io.RawIOBase):
    """A request body of ``size`` bytes (a multipart file part of zeros), generated on demand, counting reads."""

    BOUNDARY = "skybeat-boundary"

    def __init__(self, size: int):
        self.head = (f"--{self.BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\n"
                     "Content-Type: audio/wav\r\n\r\nRIFF").encode()
        self.size, self.consumed = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.consumed)
        start = self.consumed
        head = self.head[start:start + n]
        buffer[:len(head)] = head
        buffer[len(head):n] = bytes(n - len(head))
        self.consumed += n
        return n


def post_raw(path: str, body: CountingBody, **headers: str):
    """POST through Django's handler (as a WSGI server would) with a body we can watch being read."""
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http", "wsgi.input": body, "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "CONTENT_TYPE": f"multipart/form-data; boundary={CountingBody.BOUNDARY}", "CONTENT_LENGTH": str(body.size),
        **headers,
    }
    return ClientHandler(enforce_csrf_checks=True)(environ)


@pytest.mark.django_db
def test_an_over_size_upload_is_refused_without_reading_its_body(user, client, settings, media_root):
    settings.SKYBEAT_MAX_UPLOAD_MB = 1
    token = Token.objects.create(user=user)
    body = CountingBody(50 * 1024 * 1024)
    api = post_raw("/api/songs/", body, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.status_code == 413
    assert "1 MB limit" in json.loads(api.content)["detail"]
    assert body.consumed == 0, f"{body.consumed} bytes of the refused body were read"

    client.force_login(user)
    body = CountingBody(50 * 1024 * 1024)
    page = post_raw("/upload/", body, HTTP_COOKIE=f"sessionid={client.cookies['sessionid'].value}")
    assert page.status_code == 400 and "1 MB limit" in page.content.decode()
    assert body.consumed == 0
    assert not Song.objects.exists() and stored_files(media_root) == []


# --- What is stored and served ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_wav_named_mp3_is_stored_by_content_and_served_as_wav(client, user, tmp_path, media_root):
    client.force_login(user)
    wav = write_tone(tmp_path / "real.wav", 1.0)
    upload = SimpleUploadedFile("../../../tmp/\x00evil😀.mp3", wav.read_bytes(), content_type="audio/mpeg")
    response = client.post("/api/songs/", {"file": upload})
    assert response.status_code == 201, response.content
    song = Song.objects.get()
    assert song.audio.audio_format == "wav"
    assert song.audio_file.name == f"audio/{song.sha256[:2]}/{song.sha256[2:4]}/{song.sha256}.wav"
    assert stored_files(media_root) == [media_root / song.audio_file.name]

    for url in (f"/songs/{song.pk}/stream", f"/api/songs/{song.pk}/stream"):
        served = client.get(url, HTTP_ACCEPT="audio/mpeg")
        assert served.status_code == 200
        assert served["Content-Type"] == "audio/wav", url
        assert served["X-Content-Type-Options"] == "nosniff"
        assert b"".join(served.streaming_content) == wav.read_bytes()
    page = client.get(f"/songs/{song.pk}/")
    assert page["X-Content-Type-Options"] == "nosniff" and page["X-Frame-Options"] == "DENY"


# --- Throttling -------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_api_throttles_per_user_and_per_anonymous_address(monkeypatch, user, other_user):
    # DRF copies the rates into the throttle class at import: lower them there.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "5/min"})
    alice = Client()
    alice.force_login(user)
    assert [alice.get("/api/genres/").status_code for _ in range(5)] == [200] * 5
    throttled = alice.get("/api/genres/")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "throttled" in throttled.json()["detail"].lower()

    bob = Client()  # another user keeps their own allowance
    bob.force_login(other_user)
    assert bob.get("/api/genres/").status_code == 200

    anonymous = Client()
    assert [anonymous.get("/api/schema/").status_code for _ in range(3)] == [200] * 3
    assert anonymous.get("/api/schema/").status_code == 429
