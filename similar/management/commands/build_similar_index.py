"""`manage.py build_similar_index`: rebuild the similar-songs index now (the periodic task does it when needed)."""

from django.core.management.base import BaseCommand

from similar import index
from similar.space import SHIPPED_SPACE, fit_base_set_space, save_space


class Command(BaseCommand):
    help = ("Rebuild the approximate index of songs' sounds (none below SKYBEAT_SIMILAR_ANN_FROM songs: exact search). "
            "With --fit-space, first re-fit the shipped similarity space from the shipped base set.")

    def add_arguments(self, parser):
        parser.add_argument("--fit-space", action="store_true", help=f"Re-fit and write {SHIPPED_SPACE.name}")

    def handle(self, *args, fit_space: bool, **options):
        if fit_space:
            space = fit_base_set_space()
            save_space(space)
            self.stdout.write(f"Wrote {SHIPPED_SPACE} ({space.dims} dimensions, {space.fingerprint})")
        build = index.build_index()
        if build is None:
            self.stdout.write(f"Fewer than {index.ann_from()} songs have an embedding: searched exactly, no index.")
        else:
            self.stdout.write(f"Built similarity index {build.pk}: {build.items} songs in {build.file.name}")
