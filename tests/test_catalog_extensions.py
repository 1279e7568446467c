"""catalog.extensions: other apps add panels, columns, song-list hooks, search filters and API fields; the catalog
renders and applies them in order."""

import pytest
from django import forms
from django.template import Context, Engine
from rest_framework import serializers

from catalog import extensions
from catalog.forms import SongFilterForm
from catalog.serializers import SongDetailSerializer, SongSerializer

pytestmark = pytest.mark.unit


@pytest.fixture
def clean_slots(monkeypatch):
    monkeypatch.setattr(extensions, "_panels", {slot: [] for slot in extensions.SLOTS})
    monkeypatch.setattr(extensions, "_song_list_hooks", [])
    monkeypatch.setattr(extensions, "_song_filters", {})
    monkeypatch.setattr(extensions, "_song_detail_fields", {})


def render(source: str, templates: dict[str, str], **context) -> str:
    engine = Engine(
        loaders=[("django.template.loaders.locmem.Loader", {"page.html": source, **templates})],
        libraries={"catalog_extras": "catalog.templatetags.catalog_extras"},
    )
    return engine.get_template("page.html").render(Context(context))


def test_panels_render_in_order_with_their_context(clean_slots):
    extensions.register_panel("song_sections", "late.html", order=200)
    extensions.register_panel("song_sections", "early.html", order=10, context=lambda request, song: {"n": song * 2})
    html = render(
        '{% load catalog_extras %}[{% render_panels "song_sections" song %}]',
        {"early.html": "early {{ n }} of {{ song }};", "late.html": "late {{ song }}"},
        song=21,
    )
    assert html == "[early 42 of 21;late 21]"


def test_registering_a_template_again_keeps_one_panel(clean_slots):
    extensions.register_panel("home_sections", "mix.html", order=5)
    extensions.register_panel("home_sections", "mix.html", order=7)
    assert [(p.template, p.order) for p in extensions.panels("home_sections")] == [("mix.html", 7)]


def test_an_unknown_slot_is_refused(clean_slots):
    with pytest.raises(ValueError, match="unknown slot 'sidebar'"):
        extensions.register_panel("sidebar", "x.html")


def test_song_columns_carry_their_heading(clean_slots):
    extensions.register_panel("song_columns", "cell.html", heading="Tempo")
    html = render(
        "{% load catalog_extras %}{% song_columns as columns %}{% for c in columns %}<th>{{ c.heading }}</th>"
        "<td>{% include c.template %}</td>{% endfor %}",
        {"cell.html": "{{ song }} bpm"},
        song=120,
    )
    assert html == "<th>Tempo</th><td>120 bpm</td>"


def test_song_list_hooks_run_in_registration_order(clean_slots):
    extensions.register_song_list_hook(lambda songs: songs + ["a"])
    extensions.register_song_list_hook(lambda songs: songs + ["b"])
    assert extensions.extend_song_list([]) == ["a", "b"]


def test_song_filters_add_a_form_field_and_name_their_field_in_errors(clean_slots):
    def near(songs, value):
        if value == "nowhere":
            raise ValueError("Unknown place")
        return songs + [value]

    extensions.register_song_filter("near", near, forms.CharField(required=False), description="Nearest first")
    form = SongFilterForm({"near": "here", "sort": "title"})
    assert form.is_valid() and form.filters() == {"near": "here", "sort": "title"}
    assert [field.name for field in form.extra_fields()] == ["near"]
    assert extensions.filter_songs([], {"near": "here"}) == ["here"]
    with pytest.raises(extensions.SongFilterError, match="Unknown place") as refused:
        extensions.filter_songs([], {"near": "nowhere"})
    assert refused.value.field == "near"


def test_song_detail_fields_join_the_apis_song_detail(clean_slots):
    extensions.register_song_detail_field("loudness", serializers.CharField(source="title", read_only=True))
    assert "loudness" in SongDetailSerializer().fields and "loudness" not in SongSerializer().fields
