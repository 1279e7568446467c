"""The genres a new SKYBEAT library starts with: names, colours and descriptions (catalog/migrations/0001 seeds a
copy of this table as it was then; apps that meet a default genre missing from the database take it from here)."""

from typing import NamedTuple

from .models import Genre

NEUTRAL_COLOUR = "#8888aa"


class DefaultGenre(NamedTuple):
    slug: str
    name: str
    colour: str
    description: str


DEFAULT_GENRES: list[DefaultGenre] = [
    DefaultGenre("blues", "Blues", "#3b6fb6", "Twelve-bar forms, blue notes, guitar and voice."),
    DefaultGenre("classical", "Classical", "#b08d57", "Orchestral, chamber and solo art music."),
    DefaultGenre("country", "Country", "#c8762b", "American roots: steel guitar, fiddle, storytelling."),
    DefaultGenre("disco", "Disco", "#c86dd7", "Four-on-the-floor beat, strings, horns and falsetto: the 1970s dance floor."),
    DefaultGenre("electronic", "Electronic", "#19b5c9", "Synthesisers and machines: techno, electronica, electro."),
    DefaultGenre("folk", "Folk", "#7a9a3a", "Traditional and acoustic song."),
    DefaultGenre("hip-hop", "Hip-hop", "#8e44ad", "Rap over beats and samples."),
    DefaultGenre("jazz", "Jazz", "#d4a017", "Swing, improvisation, extended harmony."),
    DefaultGenre("metal", "Metal", "#8f9bb3", "Heavy distorted guitars, power and speed."),
    DefaultGenre("pop", "Pop", "#e84393", "Hooks, choruses and the charts."),
    DefaultGenre("punk", "Punk", "#d63031", "Short, fast, loud and raw."),
    DefaultGenre("reggae", "Reggae", "#27ae60", "Off-beat skank and deep bass from Jamaica."),
    DefaultGenre("rnb-soul", "R&B / Soul", "#a0522d", "Rhythm and blues, soul and their heirs."),
    DefaultGenre("rock", "Rock", "#c0392b", "Guitars, bass and drums, from classic to alternative."),
    DefaultGenre("ambient", "Ambient", "#5f9ea0", "Atmosphere and texture over beat."),
    DefaultGenre("dance", "Dance", "#f39c12", "Club music made for the dance floor: house, dance-pop."),
    DefaultGenre("funk", "Funk", "#e67e22", "Syncopated grooves, slap bass and horns."),
]


def install_default_genres() -> None:
    """Create the default genres the database lacks (idempotent; a flushed test database gets them back)."""
    for ordering, row in enumerate(DEFAULT_GENRES):
        Genre.objects.get_or_create(slug=row.slug, defaults={
            "name": row.name, "colour": row.colour, "description": row.description, "ordering": ordering})


def genres_for(slugs: list[str]) -> dict[str, Genre]:
    """The Genre rows for ``slugs``, creating those the database lacks (a default genre's name and colour if it is
    one, else a name made from the slug and a neutral colour)."""
    known = {genre.slug: genre for genre in Genre.objects.filter(slug__in=slugs)}
    defaults = {row.slug: row for row in DEFAULT_GENRES}
    for slug in slugs:
        if slug not in known:
            row = defaults.get(slug, DefaultGenre(slug, slug.replace("-", " ").title(), NEUTRAL_COLOUR, ""))
            known[slug], _ = Genre.objects.get_or_create(
                slug=slug, defaults={"name": row.name, "colour": row.colour, "description": row.description})
    return known
