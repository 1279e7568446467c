"""Extension points: how other apps add to the catalog's pages without the catalog importing them.

The catalog renders whatever is registered, in ``order``; apps register from their ``AppConfig.ready()``,
the way contrib apps re-register admin classes. Slots:

- ``song_badges``: beside the genre chip in the song page's header;
- ``song_sections``: sections of the song page, after the genre probabilities;
- ``song_columns``: a column of every song table (``heading`` is its header; the cell's template sees ``song``);
- ``home_sections``: sections of the home page, before "Recently added".

A panel's ``context`` function gets the request and the page's object (the song, or ``None`` on the home page)
and returns extra template variables; it runs once per rendering, so keep per-row panels free of queries and
add what they need to song lists with :func:`register_song_list_hook`.

Song lists take extra filters too (:func:`register_song_filter`): the library page's form and the API's
query parameters gain a field, and the search applies the filter when it is given. The API's song detail takes
extra read-only fields (:func:`register_song_detail_field`).

Song tables are cached (:mod:`catalog.read_cache`): an app that changes what its ``song_columns`` show calls
``catalog.read_cache.songs_changed()`` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest

SLOTS = ("song_badges", "song_sections", "song_columns", "home_sections")

PanelContext = Callable[[HttpRequest, Any], dict[str, Any]]
SongListHook = Callable[[QuerySet], QuerySet]
SongFilterFunction = Callable[[QuerySet, Any], QuerySet]


@dataclass(frozen=True)
class Panel:
    template: str
    context: PanelContext | None = None
    order: int = 100
    heading: str = ""


_panels: dict[str, list[Panel]] = {slot: [] for slot in SLOTS}
_song_list_hooks: list[SongListHook] = []


@dataclass(frozen=True)
class SongFilter:
    name: str
    apply: SongFilterFunction
    field: forms.Field
    description: str = ""


class SongFilterError(ValueError):
    """A filter's value names nothing (e.g. an unknown mood): shown beside ``field``, and the filter is dropped."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


_song_filters: dict[str, SongFilter] = {}
_song_detail_fields: dict[str, Any] = {}


def register_panel(
    slot: str, template: str, *, context: PanelContext | None = None, order: int = 100, heading: str = ""
) -> Panel:
    """Add ``template`` to ``slot``; registering the same template twice (a reloaded app) keeps one."""
    if slot not in _panels:
        raise ValueError(f"unknown slot {slot!r}; the catalog has {', '.join(SLOTS)}")
    panel = Panel(template=template, context=context, order=order, heading=heading)
    _panels[slot] = sorted([p for p in _panels[slot] if p.template != template] + [panel], key=lambda p: p.order)
    return panel


def panels(slot: str) -> list[Panel]:
    return list(_panels[slot])


def register_song_list_hook(hook: SongListHook) -> None:
    """``hook(queryset)`` runs on every song list the catalog shows, e.g. to ``select_related`` a panel's data."""
    if hook not in _song_list_hooks:
        _song_list_hooks.append(hook)


def extend_song_list(songs: QuerySet) -> QuerySet:
    for hook in _song_list_hooks:
        songs = hook(songs)
    return songs


def register_song_filter(name: str, apply: SongFilterFunction, field: forms.Field, *, description: str = "") -> None:
    """Let song searches take ``name``: ``apply(songs, value)`` narrows or orders them; ``field`` cleans the value.

    ``apply`` raises ValueError, with a message for the person searching, for a value that names nothing.
    """
    _song_filters[name] = SongFilter(name=name, apply=apply, field=field, description=description)


def song_filters() -> list[SongFilter]:
    return list(_song_filters.values())


def filter_songs(songs: QuerySet, filters: dict[str, Any]) -> QuerySet:
    """Apply the registered filters named in ``filters``; raises :class:`SongFilterError` for a bad value."""
    for name, value in filters.items():
        try:
            songs = _song_filters[name].apply(songs, value)
        except ValueError as exc:
            raise SongFilterError(name, str(exc)) from exc
    return songs


def register_song_detail_field(name: str, field: Any) -> None:
    """Add the read-only serializer ``field`` (a REST framework field) as ``name`` to the API's song detail."""
    _song_detail_fields[name] = field


def song_detail_fields() -> dict[str, Any]:
    return dict(_song_detail_fields)
