"""Sessions and API tokens read their member with queries compiled once (skybeat.auth): the same user, with the
same checks, as Django's and REST framework's own lookups."""

import pytest
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from skybeat.auth import USER_BY_PK, USER_BY_TOKEN

pytestmark = pytest.mark.django_db


def test_the_compiled_lookups_build_the_user_the_orm_builds(user):
    token = Token.objects.create(user=user)
    expected = get_user_model().objects.get(pk=user.pk)
    for found in (USER_BY_PK.get(user.pk), USER_BY_TOKEN.get(token.key)):
        assert type(found) is type(expected) and found._state.db == expected._state.db
        assert model_to_dict(found) == model_to_dict(expected)
        assert found.last_login == expected.last_login and found.date_joined == expected.date_joined
        assert found.is_active is True and found.is_staff is False  # booleans, whatever the database returns
    assert USER_BY_PK.get(user.pk + 1000) is None
    assert USER_BY_TOKEN.get(token.key[::-1]) is None


def api_get(key: str) -> str:
    """The API's answer to a request with this token: "ok", or why it was refused."""
    response = Client().get(reverse("api-song-list"), HTTP_AUTHORIZATION=f"Token {key}")
    return "ok" if response.status_code == 200 else response.json()["detail"]


def test_a_token_authenticates_its_active_owner_only(user):
    token = Token.objects.create(user=user)
    assert api_get(token.key) == "ok"
    assert api_get(token.key[::-1]) == "Invalid token."
    user.is_active = False
    user.save()
    assert api_get(token.key) == "User inactive or deleted."
    user.is_active = True
    user.save()
    token.delete()
    assert api_get(token.key) == "Invalid token."


def test_a_session_ends_when_its_member_is_deactivated_or_changes_password(user):
    alice = Client()
    alice.force_login(user)
    history = reverse("catalog:history")
    assert alice.get(history).status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert alice.get(history).status_code == 302
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    alice.force_login(user)
    user.set_password("another-Long-pass-phrase-9")
    user.save()
    assert alice.get(history).status_code == 302  # the session's hash no longer matches the password
