"""Upload limits answered clearly: audio too short to be a song, too many files, and over-size chunked bodies
(no Content-Length) sent to a real gunicorn."""

import struct

import pytest
import requests
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token

from catalog.models import Song
from tests import web_servers
from tests.audio_fixtures import tone, write_tone
from tests.catalog_factories import fast_passwords, media_root, stored_files  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


def wav_bytes(samples: "np.ndarray", sample_rate: int) -> bytes:  # noqa: F821
    """A 16-bit mono WAV written by hand, so its header may declare any sample rate."""
    data = (samples * 32767).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, (sample_rate * 2) % 2**32, 2, 16)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt))
            + fmt + b"data" + struct.pack("<I", len(data)) + data)


TOO_SHORT = {
    "one sample": (wav_bytes(tone(1 / 22050, 22050), 22050), "This audio lasts 4.5e-05 s"),
    "2 GHz sample rate": (wav_bytes(tone(1.0, 88_000), 2_000_000_000), "This audio lasts 4.4e-05 s"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", TOO_SHORT)
def test_audio_shorter_than_the_minimum_is_refused_with_the_reason(client, user, media_root, case):
    data, lasts = TOO_SHORT[case]
    client.force_login(user)
    api = client.post("/api/songs/", {"file": SimpleUploadedFile("blip.wav", data)})
    assert api.status_code == 400, api.content
    error = api.json()["uploads"][0]["error"]
    assert error == f"{lasts}: SKYBEAT needs at least 0.1 s of sound to classify a song."
    page = client.post("/upload/", {"file": SimpleUploadedFile("blip.wav", data)})
    assert page.status_code == 400 and "needs at least 0.1 s of sound" in page.content.decode()
    assert not Song.objects.exists() and stored_files(media_root) == []


@pytest.mark.django_db
def test_more_files_than_allowed_get_a_json_400_from_the_api_and_the_reason_on_the_page(client, user, media_root,
                                                                                       tmp_path):
    client.force_login(user)
    audio = write_tone(tmp_path / "t.wav", 1.0).read_bytes()
    files = [SimpleUploadedFile(f"{n}.wav", audio) for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    message = "Send at most 200 files in one request; nothing was stored."

    api = client.post("/api/songs/", {"file": files})
    assert api.status_code == 400 and api["Content-Type"] == "application/json"
    assert api.json() == {"detail": message}

    page = client.post("/upload/", {"file": files})
    assert page.status_code == 400 and message in page.content.decode()
    assert not Song.objects.exists() and stored_files(media_root) == []


# --- Chunked bodies, through gunicorn ---------------------------------------------------------------------------

@pytest.fixture
def gunicorn(tmp_path, transactional_db):
    """gunicorn on the test database, with a 1 MB upload limit."""
    with web_servers.gunicorn(tmp_path / "var", SKYBEAT_MAX_UPLOAD_MB="1") as url:
        yield url


def post_chunked(url: str, filename: str, data: bytes, headers: dict, piece_bytes: int = 256 * 1024):
    """POST a multipart upload as a generator: `requests` sends it with Transfer-Encoding: chunked and no
    Content-Length."""
    boundary = "skybeat-chunked"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: audio/wav\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    pieces = (body[start:start + piece_bytes] for start in range(0, len(body), piece_bytes))
    return requests.post(url, data=pieces, timeout=60,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **headers})


@pytest.mark.parametrize("seconds", [30.0, 80.0])  # 1.3 MB: read, then refused; 3.5 MB: refused unread past 2 MB
def test_a_chunked_upload_over_the_limit_gets_the_size_message(gunicorn, user, client, tmp_path, seconds):
    token = Token.objects.create(user=user)
    over = write_tone(tmp_path / "long.wav", seconds).read_bytes()
    assert len(over) > 1024 * 1024

    api = post_chunked(f"{gunicorn}/api/songs/", "long.wav", over, {"Authorization": f"Token {token.key}"})
    assert api.status_code == 413, api.text
    assert api.json() == {"detail": "The upload is larger than the 1 MB limit; nothing was stored."}

    client.force_login(user)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    page = post_chunked(f"{gunicorn}/upload/", "long.wav", over, {"Cookie": cookie})
    assert page.status_code == 400 and "larger than the 1 MB limit" in page.text
    assert not Song.objects.exists()


def test_a_chunked_upload_under_the_limit_is_stored(gunicorn, user, tmp_path):
    token = Token.objects.create(user=user)
    audio = write_tone(tmp_path / "short.wav", 5.0).read_bytes()
    response = post_chunked(f"{gunicorn}/api/songs/", "short.wav", audio, {"Authorization": f"Token {token.key}"})
    assert response.status_code == 201, response.text
    assert Song.objects.get().audio.size_bytes == len(audio)
