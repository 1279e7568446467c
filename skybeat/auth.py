"""Who a request is, read with a query compiled once: the session's member (Django's ModelBackend.get_user, in
skybeat.backends) and an API token's owner (REST framework's TokenAuthentication), with the same checks as theirs.

The ORM compiles a query on every call, which costs a request about as much CPU as the rest of a cached page
(catalog.read_cache); these two run on every signed-in request, so they compile theirs once per database. This
module imports no model: REST framework imports it with its settings, which may happen before Django's apps load
(skybeat.errors imports REST framework).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions


class OneRowQuery:
    """``queryset().get(**{lookup: value})``, or None, with the SQL compiled once per database: each call runs it
    with its value and builds the model as the ORM does (Django's converters, ``Model.from_db``). ``lookup`` must
    name a unique column, and ``placeholder`` be a value of its type."""

    def __init__(self, queryset: Callable[[], QuerySet], lookup: str, placeholder: Any) -> None:
        self.queryset, self.lookup, self.placeholder = queryset, lookup, placeholder
        self._compiled: dict[str, tuple] = {}

    def _compile(self, alias: str) -> tuple:
        compiler = self.queryset().using(alias).filter(**{self.lookup: self.placeholder}).query.get_compiler(alias)
        sql, params = compiler.as_sql()
        if len(params) != 1:
            raise ValueError(f"{self.lookup} compiles to {len(params)} parameters, not one")
        columns = [expression for expression, _, _ in compiler.select]
        names = [column.target.attname for column in columns]
        return sql, compiler, compiler.get_converters(columns), names

    def get(self, value: Any) -> Model | None:
        model = self.queryset().model
        alias = router.db_for_read(model)
        if alias not in self._compiled:
            self._compiled[alias] = self._compile(alias)
        sql, compiler, converters, names = self._compiled[alias]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        return model.from_db(alias, names, row)


def users() -> QuerySet:
    return get_user_model()._default_manager.all()


USER_BY_PK = OneRowQuery(users, "pk", 0)
USER_BY_TOKEN = OneRowQuery(users, "auth_token__key", "")


class TokenAuthentication(authentication.TokenAuthentication):
    """REST framework's, reading the token's owner with :data:`USER_BY_TOKEN` (``request.auth`` is the token,
    its creation time read if asked for)."""

    def authenticate_credentials(self, key: str):
        user = USER_BY_TOKEN.get(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = self.get_model().from_db(user._state.db, ["key", "user_id"], [key, user.pk])
        token.user = user
        return user, token
