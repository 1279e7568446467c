"""System endpoints' answers: the licence, the OpenSubsonic extensions, a member's roles, the scan status."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from catalog.models import Song

from .lookup import MUSIC_FOLDER_ID
from .responses import SubsonicError

#: OpenSubsonic extensions SKYBEAT implements, with their versions.
EXTENSIONS = {"formPost": [1], "apiKeyAuthentication": [1], "transcodeOffset": [1]}


def licence() -> dict:
    return {"license": {"valid": True}}


def extensions() -> dict:
    return {"openSubsonicExtensions": [{"name": name, "versions": versions} for name, versions in EXTENSIONS.items()]}


def member(user, username: str) -> dict:
    """getUser: a member's roles, asked by themselves or by staff."""
    if username != user.get_username() and not user.is_staff:
        raise SubsonicError.not_authorised("Only staff may look at another member.")
    found = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
    if found is None:
        raise SubsonicError.not_found("User")
    can = dict.fromkeys(("scrobblingEnabled", "settingsRole", "downloadRole", "uploadRole", "playlistRole",
                         "streamRole"), True)
    cannot = dict.fromkeys(("coverArtRole", "commentRole", "podcastRole", "jukeboxRole", "shareRole",
                            "videoConversionRole"), False)
    return {"user": {"username": found.get_username(), "email": found.email, "adminRole": found.is_staff,
                     **can, **cannot, "folder": [MUSIC_FOLDER_ID]}}


def scan_status(user) -> dict:
    """SKYBEAT never scans folders: every upload is added (and classified) as it arrives, so no scan is running."""
    return {"scanStatus": {"scanning": False, "count": Song.objects.visible_to(user).count()}}
