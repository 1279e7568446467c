"""SKYBEAT's authentication backend: Django's ModelBackend, reading the session's member with a query compiled once
(skybeat.auth). Its own module because Django's backends import the auth models, which need the apps loaded."""

from django.contrib.auth import backends

from .auth import USER_BY_PK


class ModelBackend(backends.ModelBackend):
    """Django's, reading the session's member with :data:`skybeat.auth.USER_BY_PK`."""

    def get_user(self, user_id):
        user = USER_BY_PK.get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
