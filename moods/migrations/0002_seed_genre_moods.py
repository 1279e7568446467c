"""Seed each default genre's place on the valence–arousal plane and its mood weights (the study behind each row is
documented in docs/moods.md, "Genre defaults"). The data as of this migration, never live code: a default genre
still missing is created by slug, and any other existing genre gets the neutral placeholder (0, 0, equal weights)
flagged for review.
"""

from django.db import migrations

MOODS = ("energetic", "happy", "calm", "melancholic", "intense", "reflective")
# (slug, name, valence, arousal, weights in the order of MOODS, source)
DEFAULTS = [
    ('blues', 'Blues', -0.25, -0.2, (0.1, 0.1, 0.2, 0.8, 0.2, 0.7),
     'Rentfrow & Gosling 2003 (STOMP): Reflective & Complex; Zentner, Grandjean & Scherer 2008 (GEMS): sadness, nostalgia — see docs/moods.md'),
    ('classical', 'Classical', 0.3, -0.45, (0.1, 0.3, 0.8, 0.3, 0.2, 0.9),
     'Rentfrow & Gosling 2003 (STOMP): Reflective & Complex; Rentfrow, Goldberg & Levitin 2011 (MUSIC): Sophisticated; Zentner, Grandjean & Scherer 2008 (GEMS): wonder, transcendence, peacefulness — see docs/moods.md'),
    ('country', 'Country', 0.5, 0.1, (0.3, 0.7, 0.4, 0.4, 0.0, 0.4),
     'Rentfrow & Gosling 2003 (STOMP): Upbeat & Conventional; Rentfrow, Goldberg & Levitin 2011 (MUSIC): Unpretentious — see docs/moods.md'),
    ('disco', 'Disco', 0.65, 0.7, (0.9, 0.9, 0.0, 0.0, 0.2, 0.0),
     'Rentfrow & Gosling 2003 (STOMP): Energetic & Rhythmic (dance); Zentner, Grandjean & Scherer 2008 (GEMS): joyful activation — see docs/moods.md'),
    ('electronic', 'Electronic', 0.3, 0.6, (0.9, 0.5, 0.2, 0.1, 0.4, 0.2),
     'Rentfrow & Gosling 2003 (STOMP): Energetic & Rhythmic (electronica/dance); Rentfrow, Goldberg & Levitin 2011 (MUSIC): Contemporary — see docs/moods.md'),
    ('folk', 'Folk', 0.2, -0.4, (0.1, 0.4, 0.7, 0.5, 0.0, 0.8),
     'Rentfrow & Gosling 2003 (STOMP): Reflective & Complex; Rentfrow, Goldberg & Levitin 2011 (MUSIC): Unpretentious; Zentner, Grandjean & Scherer 2008 (GEMS): tenderness, nostalgia — see docs/moods.md'),
    ('hip-hop', 'Hip-hop', 0.2, 0.6, (0.9, 0.4, 0.0, 0.1, 0.6, 0.2),
     'Rentfrow & Gosling 2003 (STOMP): Energetic & Rhythmic (rap/hip-hop); Rentfrow, Goldberg & Levitin 2011 (MUSIC): Contemporary — see docs/moods.md'),
    ('jazz', 'Jazz', 0.35, -0.1, (0.3, 0.4, 0.6, 0.3, 0.1, 0.8),
     'Rentfrow & Gosling 2003 (STOMP): Reflective & Complex; Rentfrow, Goldberg & Levitin 2011 (MUSIC): Sophisticated — see docs/moods.md'),
    ('metal', 'Metal', -0.4, 0.85, (0.8, 0.0, 0.0, 0.2, 1.0, 0.1),
     'Rentfrow & Gosling 2003 (STOMP): Intense & Rebellious (heavy metal); Rentfrow, Goldberg & Levitin 2011 (MUSIC): Intense; Zentner, Grandjean & Scherer 2008 (GEMS): power, tension — see docs/moods.md'),
    ('pop', 'Pop', 0.7, 0.45, (0.6, 0.9, 0.2, 0.2, 0.1, 0.1),
     'Rentfrow & Gosling 2003 (STOMP): Upbeat & Conventional; Zentner, Grandjean & Scherer 2008 (GEMS): joyful activation — see docs/moods.md'),
    ('punk', 'Punk', -0.2, 0.8, (0.9, 0.2, 0.0, 0.1, 0.9, 0.0),
     'Rentfrow & Gosling 2003 (STOMP): Intense & Rebellious (alternative); Rentfrow, Goldberg & Levitin 2011 (MUSIC): Intense (punk) — see docs/moods.md'),
    ('reggae', 'Reggae', 0.55, 0.05, (0.4, 0.7, 0.6, 0.1, 0.0, 0.3),
     "Not among Rentfrow & Gosling 2003 (STOMP)'s 14 genres: placed by analogy with soul/funk (Energetic & Rhythmic) at lower arousal for its relaxed tempo (Gabrielsson & Lindström 2010: slow tempo, low arousal) — review for your library — see docs/moods.md"),
    ('rnb-soul', 'R&B / Soul', 0.5, 0.0, (0.3, 0.6, 0.6, 0.3, 0.1, 0.3),
     'Rentfrow & Gosling 2003 (STOMP): Energetic & Rhythmic (soul/funk); Rentfrow, Goldberg & Levitin 2011 (MUSIC): Mellow (R&B, soul) — see docs/moods.md'),
    ('rock', 'Rock', 0.05, 0.6, (0.8, 0.3, 0.0, 0.2, 0.8, 0.2),
     'Rentfrow & Gosling 2003 (STOMP): Intense & Rebellious; Rentfrow, Goldberg & Levitin 2011 (MUSIC): Intense — see docs/moods.md'),
    ('ambient', 'Ambient', 0.25, -0.8, (0.0, 0.2, 1.0, 0.3, 0.0, 0.8),
     "Not among Rentfrow & Gosling 2003 (STOMP)'s genres; by its attributes (slow, quiet, relaxing) closest to Rentfrow, Goldberg & Levitin 2011 (MUSIC): Mellow; Zentner, Grandjean & Scherer 2008 (GEMS): peacefulness, transcendence — see docs/moods.md"),
    ('dance', 'Dance', 0.6, 0.8, (1.0, 0.8, 0.0, 0.0, 0.3, 0.0),
     'Rentfrow & Gosling 2003 (STOMP): Energetic & Rhythmic (electronica/dance); Zentner, Grandjean & Scherer 2008 (GEMS): joyful activation — see docs/moods.md'),
    ('funk', 'Funk', 0.6, 0.65, (0.9, 0.8, 0.0, 0.0, 0.2, 0.0),
     'Rentfrow & Gosling 2003 (STOMP): Energetic & Rhythmic (soul/funk); Zentner, Grandjean & Scherer 2008 (GEMS): joyful activation — see docs/moods.md'),
]


def seed(apps, schema_editor):
    Genre, GenreMood = apps.get_model("catalog", "Genre"), apps.get_model("moods", "GenreMood")
    for ordering, (slug, name, valence, arousal, weights, source) in enumerate(DEFAULTS):
        genre, _ = Genre.objects.get_or_create(slug=slug, defaults={"name": name, "ordering": ordering})
        GenreMood.objects.update_or_create(genre=genre, defaults={
            "valence": valence, "arousal": arousal, **dict(zip(MOODS, weights)), "needs_review": False,
            "source": source})
    for genre in Genre.objects.filter(mood__isnull=True):
        GenreMood.objects.create(genre=genre, needs_review=True, source="Neutral placeholder: please set.")


def unseed(apps, schema_editor):
    apps.get_model("moods", "GenreMood").objects.filter(genre__slug__in=[row[0] for row in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("moods", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
