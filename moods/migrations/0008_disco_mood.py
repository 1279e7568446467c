"""Disco's place on the valence–arousal plane and its mood weights (docs/moods.md, "Genre defaults").

Rentfrow & Gosling 2003 (STOMP) place dance music in "Energetic & Rhythmic"; GEMS (Zentner, Grandjean & Scherer
2008) finds dance music's joyful activation. Disco sits with funk and dance: pleasant and highly aroused.
"""

from django.db import migrations

DISCO = {"valence": 0.65, "arousal": 0.70, "energetic": 0.9, "happy": 0.9, "calm": 0.0, "melancholic": 0.0,
         "intense": 0.2, "reflective": 0.0,
         "source": "Rentfrow & Gosling 2003 (STOMP): Energetic & Rhythmic (dance); Zentner, Grandjean & Scherer "
                   "2008 (GEMS): joyful activation — see docs/moods.md"}


def seed(apps, schema_editor):
    genre = apps.get_model("catalog", "Genre").objects.filter(slug="disco").first()
    if genre is not None:
        apps.get_model("moods", "GenreMood").objects.update_or_create(
            genre=genre, defaults={**DISCO, "needs_review": False})


def unseed(apps, schema_editor):
    apps.get_model("moods", "GenreMood").objects.filter(genre__slug="disco").delete()


class Migration(migrations.Migration):
    dependencies = [("moods", "0002_seed_genre_moods"), ("catalog", "0008_song_genre_uncertain_disco")]

    operations = [migrations.RunPython(seed, unseed)]
