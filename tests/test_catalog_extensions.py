"""catalog.extensions: other apps add panels, columns and song-list hooks; the catalog renders them in order."""

import pytest
from django.template import Context, Engine

from catalog import extensions

pytestmark = pytest.mark.unit


@pytest.fixture
def clean_slots(monkeypatch):
    monkeypatch.setattr(extensions, "_panels", {slot: [] for slot in extensions.SLOTS})
    monkeypatch.setattr(extensions, "_song_list_hooks", [])


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
