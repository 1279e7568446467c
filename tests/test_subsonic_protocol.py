"""The Subsonic protocol: suffixes, GET and form POST, XML and JSON, error codes, and every way to sign in."""

import hashlib
import json

import pytest
from django.conf import settings
from django.urls import reverse

from subsonic.credentials import ALPHABET, regenerate
from subsonic.models import AppPassword
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401
from tests.subsonic_helpers import XML_NS, Subsonic, alice, library, sign_in  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


def body(response) -> dict:
    return json.loads(response.content)["subsonic-response"]


@pytest.mark.parametrize("suffix", ["", ".view"])
@pytest.mark.parametrize("post", [False, True])
def test_every_endpoint_answers_with_and_without_view_and_to_get_and_post(alice, suffix, post):
    response = alice.raw(f"ping{suffix}", post=post)
    assert response.status_code == 200
    answer = body(response)
    assert answer == {"status": "ok", "version": "1.16.1", "type": "SKYBEAT", "serverVersion": answer["serverVersion"],
                      "openSubsonic": True}


def test_xml_is_the_default_and_json_is_asked_for(alice):
    root = alice.xml("getLicense")
    assert root.tag == f"{XML_NS}subsonic-response" and root.get("status") == "ok" and root.get("version") == "1.16.1"
    assert root.find(f"{XML_NS}license").get("valid") == "true"
    assert body(alice.raw("getLicense"))["license"] == {"valid": True}


def test_error_codes_10_40_50_70(alice, user, other_user):
    assert alice.error("getSong") == 10  # no id
    assert alice.error("getSong", {"id": "tr-999999"}) == 70
    assert alice.error("getSong", {"id": "not-an-id"}) == 70
    assert alice.error("getUser", {"username": other_user.get_username()}) == 50
    wrong = Subsonic(alice.client, user.get_username(), "not-the-app-password")
    assert wrong.error("ping") == 40
    root = wrong.xml("ping")
    error = root.find(f"{XML_NS}error")
    assert root.get("status") == "failed" and error.get("code") == "40"
    assert error.get("helpUrl").endswith(reverse("profile"))


def test_unknown_methods_and_bad_values_are_clear_errors(alice):
    response = alice.raw("getPodcasts.view")
    assert response.status_code == 404 and body(response)["error"]["code"] == 0
    assert "getPodcasts" in body(response)["error"]["message"]
    assert alice.error("getAlbumList2", {"type": "newest", "size": "lots"}) == 0
    assert alice.error("getAlbumList2", {"type": "sideways"}) == 0
    assert alice.error("getAlbumList2", {"type": "newest", "size": "9" * 40}) == 0
    assert alice.client.put("/rest/ping").status_code == 405


def test_token_auth_uses_the_app_password_never_the_login_password(client, user):
    app_password = sign_in(user)
    assert Subsonic(client, user.get_username(), app_password).call("ping")
    assert Subsonic(client, user.get_username(), "a-Long-pass-phrase-1").error("ping") == 40  # the login password
    assert not user.check_password(app_password)
    assert set(app_password) <= set(ALPHABET) | {"-"} and len(app_password.replace("-", "")) == 25


def test_plain_and_enc_passwords(client, user):
    app_password = sign_in(user)
    plain = {"u": user.get_username(), "v": "1.13.0", "c": "old-app", "f": "json"}
    assert body(client.get("/rest/ping.view", {**plain, "p": app_password}))["status"] == "ok"
    assert body(client.get("/rest/ping.view", {**plain, "p": "enc:" + app_password.encode().hex()}))["status"] == "ok"
    assert body(client.get("/rest/ping.view", {**plain, "p": "enc:zz"}))["error"]["code"] == 40
    assert body(client.get("/rest/ping.view", {**plain, "p": "enc:" + "wrong".encode().hex()}))["error"]["code"] == 40
    assert body(client.get("/rest/ping.view", plain))["error"]["code"] == 10


def test_api_key_authentication(client, user):
    key = sign_in(user)
    assert body(client.get("/rest/getUser", {"apiKey": key, "f": "json", "username": user.get_username()}))["user"][
        "username"] == user.get_username()
    assert body(client.get("/rest/ping", {"apiKey": "nope", "f": "json"}))["error"]["code"] == 44
    assert body(client.get("/rest/ping", {"apiKey": key, "u": user.get_username(), "f": "json"}))["error"]["code"] == 43
    extensions = body(client.get("/rest/getOpenSubsonicExtensions", {"f": "json"}))  # public, no credentials
    names = {extension["name"] for extension in extensions["openSubsonicExtensions"]}
    assert {"apiKeyAuthentication", "formPost", "transcodeOffset"} <= names


def test_regenerating_revokes_the_old_app_password(client, user):
    old = sign_in(user)
    new = regenerate(user)
    assert new != old
    assert Subsonic(client, user.get_username(), old).error("ping") == 40
    assert Subsonic(client, user.get_username(), new).call("ping")


def test_inactive_members_cannot_sign_in(client, user):
    app_password = sign_in(user)
    user.is_active = False
    user.save()
    assert Subsonic(client, user.get_username(), app_password).error("ping") == 40


def test_wrong_credentials_count_toward_the_login_throttle_shared_with_the_web_form(client, user):
    app_password = sign_in(user)
    wrong = Subsonic(client, user.get_username(), "guess")
    for _ in range(settings.SKYBEAT_LOGIN_FAILURE_LIMIT - 1):
        assert wrong.error("ping") == 40
    login = client.post(reverse("login"), {"username": user.get_username(), "password": "another guess"})
    assert login.status_code == 429  # the web form's failure is the fifth: the account is locked from here
    locked = Subsonic(client, user.get_username(), app_password).json("ping")
    assert locked["error"]["code"] == 40 and "Too many" in locked["error"]["message"]
    assert client.post(reverse("login"), {"username": user.get_username(), "password": "x"}).status_code == 429


def test_a_right_sign_in_clears_earlier_failures(client, user):
    app_password = sign_in(user)
    for _ in range(settings.SKYBEAT_LOGIN_FAILURE_LIMIT - 1):
        Subsonic(client, user.get_username(), "guess").error("ping")
    assert Subsonic(client, user.get_username(), app_password).call("ping")
    assert Subsonic(client, user.get_username(), "guess").error("ping") == 40
    assert Subsonic(client, user.get_username(), app_password).call("ping")


def test_the_app_password_cannot_become_the_login_password(client, user):
    app_password = sign_in(user)
    client.force_login(user)
    response = client.post(reverse("password_change"), {"old_password": "a-Long-pass-phrase-1",
                                                        "new_password1": app_password, "new_password2": app_password})
    assert response.status_code == 200 and "cannot be your app password" in response.content.decode()
    user.refresh_from_db()
    assert not user.check_password(app_password)


def test_the_profile_page_shows_and_regenerates_the_app_password(client, user):
    client.force_login(user)
    page = client.get(reverse("profile")).content.decode()
    assert "Create an app password" in page and "http://testserver/" in page
    assert not AppPassword.objects.filter(user=user).exists()
    client.post(reverse("profile-app-password"))
    first = AppPassword.objects.get(user=user).password
    page = client.get(reverse("profile")).content.decode()
    assert f'data-setting="app-password">{first}<' in page and "Regenerate" in page
    client.post(reverse("profile-app-password"))
    assert AppPassword.objects.get(user=user).password != first
    assert client.get(reverse("profile-app-password")).status_code == 405
    home = client.get("/").content.decode()
    assert f'href="{reverse("profile")}"' in home  # the user menu links to it


def test_the_profile_page_needs_a_member(client):
    assert client.get(reverse("profile")).status_code == 302
    assert client.post(reverse("profile-app-password")).status_code == 302


def test_xml_escapes_and_drops_what_xml_cannot_hold(alice, user):
    from catalog.playlists import create_playlist

    playlist = create_playlist(user, 'Rock & "Roll" <live>')
    playlist.comment = "bell \x07 here"  # a control character XML 1.0 cannot carry
    playlist.save()
    root = alice.xml("getPlaylists")
    names = [element.get("name") for element in root.iter(f"{XML_NS}playlist")]
    comments = [element.get("comment") for element in root.iter(f"{XML_NS}playlist")]
    assert names == ['Rock & "Roll" <live>'] and comments == ["bell  here"]


def test_md5_token_is_case_insensitive_hex(client, user):
    app_password = sign_in(user)
    token = hashlib.md5((app_password + "salt1").encode()).hexdigest().upper()
    answer = body(client.get("/rest/ping", {"u": user.get_username(), "t": token, "s": "salt1", "f": "json"}))
    assert answer["status"] == "ok"
