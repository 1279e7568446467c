"""Hostile parameter values on every endpoint answer a Subsonic error or a result, never a server error."""

import pytest

from subsonic.urls import ENDPOINTS
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.subsonic_helpers import alice, library  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]

PARAMETERS = ["id", "albumId", "artistId", "songId", "playlistId", "songIdToAdd", "songIndexToRemove", "size", "offset",
              "count", "type", "genre", "fromYear", "toYear", "query", "songCount", "songOffset", "rating", "time",
              "submission", "maxBitRate", "format", "timeOffset", "username", "name", "comment", "public",
              "ifModifiedSince", "musicFolderId"]
HOSTILE = ["", "-1", "9" * 30, str(2**63), "tr-" + "9" * 19, "al-0", "mood-", "\x00", "🎵" * 50, "enc:zz", "true\x00",
           "1e9", " 12 ", "nan"]


@pytest.mark.parametrize("value", HOSTILE)
def test_no_hostile_value_breaks_any_endpoint(alice, library, value):
    for method in ENDPOINTS:
        for post in (False, True):
            response = alice.raw(method, dict.fromkeys(PARAMETERS, value), post=post)
            assert response.status_code == 200, (method, value, response.status_code)
