"""The whole API under schemathesis: generated requests from /api/schema/, as a logged-in user, never get a 500.

Requests go through the WSGI application in this process (no server), against real rows: the user's own
songs (one private, one shared, one listen) so that generated ids sometimes hit something.
"""

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from catalog.ingest import ingest_uploads
from catalog.models import Song
from catalog.services import start_listen
from skybeat.wsgi import application
from tests.audio_fixtures import write_tone
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401


@pytest.fixture
def token(user, tmp_path) -> str:
    for visibility, freq in ((Song.Visibility.PRIVATE, 440.0), (Song.Visibility.SHARED, 550.0)):
        path = write_tone(tmp_path / f"{visibility}.wav", 1.0, freq=freq)
        song = ingest_uploads([SimpleUploadedFile(path.name, path.read_bytes())], user, visibility)[0].song
    start_listen(user, song)
    return Token.objects.create(user=user).key


# Loaded at collection (the schema view needs no database). schemathesis.pytest.from_fixture would defer it, but
# fails under pytest 9 (it sets the removed Node._nodeid).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


# Transactional: Django's handler closes the connection after each request, which a test transaction cannot survive.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_passwords", "media_root")
@schema.parametrize()
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_generated_request_gets_a_server_error(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=[not_a_server_error])
