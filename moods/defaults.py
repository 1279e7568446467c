"""The seeded genre→mood defaults, grounded in music-psychology findings: the sources are in docs/moods.md.

Migration 0002 seeds a copy of these as they were then; tests that need the defaults after a flush use this.
"""

from .profile import MOODS

RG2003 = "Rentfrow & Gosling 2003 (STOMP)"
RGL2011 = "Rentfrow, Goldberg & Levitin 2011 (MUSIC)"
GEMS = "Zentner, Grandjean & Scherer 2008 (GEMS)"

# slug: (name, valence, arousal, (energetic, happy, calm, melancholic, intense, reflective), source)
DEFAULTS = {
    "blues": ("Blues", -0.25, -0.20, (0.1, 0.1, 0.2, 0.8, 0.2, 0.7),
              f"{RG2003}: Reflective & Complex; {GEMS}: sadness, nostalgia"),
    "classical": ("Classical", 0.30, -0.45, (0.1, 0.3, 0.8, 0.3, 0.2, 0.9),
                  f"{RG2003}: Reflective & Complex; {RGL2011}: Sophisticated; "
                  f"{GEMS}: wonder, transcendence, peacefulness"),
    "country": ("Country", 0.50, 0.10, (0.3, 0.7, 0.4, 0.4, 0.0, 0.4),
                f"{RG2003}: Upbeat & Conventional; {RGL2011}: Unpretentious"),
    "disco": ("Disco", 0.65, 0.70, (0.9, 0.9, 0.0, 0.0, 0.2, 0.0),
              f"{RG2003}: Energetic & Rhythmic (dance); {GEMS}: joyful activation"),
    "electronic": ("Electronic", 0.30, 0.60, (0.9, 0.5, 0.2, 0.1, 0.4, 0.2),
                   f"{RG2003}: Energetic & Rhythmic (electronica/dance); {RGL2011}: Contemporary"),
    "folk": ("Folk", 0.20, -0.40, (0.1, 0.4, 0.7, 0.5, 0.0, 0.8),
             f"{RG2003}: Reflective & Complex; {RGL2011}: Unpretentious; {GEMS}: tenderness, nostalgia"),
    "hip-hop": ("Hip-hop", 0.20, 0.60, (0.9, 0.4, 0.0, 0.1, 0.6, 0.2),
                f"{RG2003}: Energetic & Rhythmic (rap/hip-hop); {RGL2011}: Contemporary"),
    "jazz": ("Jazz", 0.35, -0.10, (0.3, 0.4, 0.6, 0.3, 0.1, 0.8),
             f"{RG2003}: Reflective & Complex; {RGL2011}: Sophisticated"),
    "metal": ("Metal", -0.40, 0.85, (0.8, 0.0, 0.0, 0.2, 1.0, 0.1),
              f"{RG2003}: Intense & Rebellious (heavy metal); {RGL2011}: Intense; {GEMS}: power, tension"),
    "pop": ("Pop", 0.70, 0.45, (0.6, 0.9, 0.2, 0.2, 0.1, 0.1),
            f"{RG2003}: Upbeat & Conventional; {GEMS}: joyful activation"),
    "punk": ("Punk", -0.20, 0.80, (0.9, 0.2, 0.0, 0.1, 0.9, 0.0),
             f"{RG2003}: Intense & Rebellious (alternative); {RGL2011}: Intense (punk)"),
    "reggae": ("Reggae", 0.55, 0.05, (0.4, 0.7, 0.6, 0.1, 0.0, 0.3),
               f"Not among {RG2003}'s 14 genres: placed by analogy with soul/funk (Energetic & Rhythmic) at "
               "lower arousal for its relaxed tempo (Gabrielsson & Lindström 2010: slow tempo, low arousal) — "
               "review for your library"),
    "rnb-soul": ("R&B / Soul", 0.50, 0.00, (0.3, 0.6, 0.6, 0.3, 0.1, 0.3),
                 f"{RG2003}: Energetic & Rhythmic (soul/funk); {RGL2011}: Mellow (R&B, soul)"),
    "rock": ("Rock", 0.05, 0.60, (0.8, 0.3, 0.0, 0.2, 0.8, 0.2),
             f"{RG2003}: Intense & Rebellious; {RGL2011}: Intense"),
    "ambient": ("Ambient", 0.25, -0.80, (0.0, 0.2, 1.0, 0.3, 0.0, 0.8),
                f"Not among {RG2003}'s genres; by its attributes (slow, quiet, relaxing) closest to {RGL2011}: Mellow; "
                f"{GEMS}: peacefulness, transcendence"),
    "dance": ("Dance", 0.60, 0.80, (1.0, 0.8, 0.0, 0.0, 0.3, 0.0),
              f"{RG2003}: Energetic & Rhythmic (electronica/dance); {GEMS}: joyful activation"),
    "funk": ("Funk", 0.60, 0.65, (0.9, 0.8, 0.0, 0.0, 0.2, 0.0),
             f"{RG2003}: Energetic & Rhythmic (soul/funk); {GEMS}: joyful activation"),
}
REFERENCE = " — see docs/moods.md"


def seed_defaults(Genre, GenreMood) -> None:
    """Give each default genre its mapping; any other genre a neutral one to review.

    The classifier's migration creates the genres with their colours; one missing here is created by slug.
    """
    for ordering, (slug, (name, valence, arousal, weights, source)) in enumerate(DEFAULTS.items()):
        genre, _ = Genre.objects.get_or_create(slug=slug, defaults={"name": name, "ordering": ordering})
        GenreMood.objects.update_or_create(
            genre=genre,
            defaults={"valence": valence, "arousal": arousal, **dict(zip(MOODS, weights)),
                      "needs_review": False, "source": source + REFERENCE},
        )
    for genre in Genre.objects.filter(mood__isnull=True):
        GenreMood.objects.create(genre=genre, needs_review=True, source="Neutral placeholder: please set.")
