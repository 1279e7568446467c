"""Benchmark the mood profiles: the nightly full recompute and the incremental update per listen.

    .venv/bin/python bench/moods.py                 # 10k users × 100 listens, SQLite under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/skybeat_bench_moods .venv/bin/python bench/moods.py

Data are bulk-created once into their own database (reused on later runs unless --fresh).
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("SKYBEAT_VAR_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(os.environ['SKYBEAT_VAR_DIR']) / 'moods.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skybeat.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.machine import describe_cpu  # noqa: E402
from catalog.models import AudioBlob, Genre, GenrePrediction, ListeningEvent, Song  # noqa: E402
from classifier.models import ModelVersion, SongClassification  # noqa: E402
from moods import services  # noqa: E402
from moods.models import AppliedListen, MoodSnapshot, SongMood  # noqa: E402

BATCH = 20_000
USER_PREFIX = "bench-mood-"


def populate(users: int, listens_per_user: int, songs: int, days: int, seed: int) -> None:
    """Users, classified songs with moods, and counted listens all already applied (the steady state)."""
    rng = np.random.default_rng(seed)
    User = get_user_model()
    User.objects.bulk_create(
        (User(username=f"{USER_PREFIX}{n}", password="!") for n in range(users)), batch_size=BATCH
    )
    user_ids = list(User.objects.filter(username__startswith=USER_PREFIX).values_list("pk", flat=True))
    version = ModelVersion.objects.create(name="bench-moods", architecture="crnn-from-scratch")
    genres = list(Genre.objects.filter(retired=False))
    blobs = AudioBlob.objects.bulk_create(
        AudioBlob(sha256=f"{n:064x}", file=f"audio/bench-{n}.wav", size_bytes=1, audio_format="wav") for n in range(songs)
    )
    Song.objects.bulk_create(
        Song(title=f"Bench song {n}", audio=blob, status=Song.Status.CLASSIFIED) for n, blob in enumerate(blobs)
    )
    song_ids = list(Song.objects.filter(audio__in=blobs).values_list("pk", flat=True))
    SongClassification.objects.bulk_create(
        (SongClassification(song_id=song_id, model_version=version) for song_id in song_ids), batch_size=BATCH)
    predictions = []
    for song_id in song_ids:
        for genre, p in zip(genres, rng.dirichlet(np.full(len(genres), 0.3))):
            predictions.append(
                GenrePrediction(song_id=song_id, genre=genre, probability=float(p))
            )
    GenrePrediction.objects.bulk_create(predictions, batch_size=BATCH)
    services.update_song_moods(song_ids)
    now = timezone.now()
    total = users * listens_per_user
    for start in range(0, total, BATCH):
        n = min(BATCH, total - start)
        picks = rng.integers(0, len(song_ids), n)
        ages_s = rng.uniform(0, days * 86400, n)
        seconds = rng.uniform(30, 300, n)
        with transaction.atomic():
            events = ListeningEvent.objects.bulk_create(
                ListeningEvent(user_id=user_ids[(start + i) // listens_per_user], song_id=song_ids[picks[i]],
                               started_at=now - timedelta(seconds=float(ages_s[i])), seconds_listened=float(seconds[i]),
                               completed=True, counted=True)
                for i in range(n)
            )
            AppliedListen.objects.bulk_create(AppliedListen(event_id=e.pk) for e in events)  # ids: RETURNING
        print(f"\r  listens: {start + n:,}/{total:,}", end="", flush=True)
    print()


def bench_incremental(listens: int, seed: int) -> float:
    """Seconds per listen: a new counted listen applied to its user's snapshot, as the worker does."""
    rng = random.Random(seed)
    user_ids = list(get_user_model().objects.filter(username__startswith=USER_PREFIX).values_list("pk", flat=True))
    song_ids = list(SongMood.objects.values_list("song_id", flat=True))
    now = timezone.now()
    events = ListeningEvent.objects.bulk_create(
        ListeningEvent(user_id=rng.choice(user_ids), song_id=rng.choice(song_ids), started_at=now, seconds_listened=200,
                       completed=True, counted=True) for _ in range(listens)
    )
    event_ids = [e.pk for e in events]
    started = time.perf_counter()
    applied = sum(services.apply_listen(event_id) for event_id in event_ids)
    elapsed = time.perf_counter() - started
    assert applied == listens, f"only {applied} of {listens} listens applied"
    return elapsed / listens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--listens-per-user", type=int, default=100)
    parser.add_argument("--songs", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=180, help="listens spread over this many past days")
    parser.add_argument("--incremental", type=int, default=1_000, help="listens timed one by one")
    parser.add_argument("--fresh", action="store_true", help="drop the benchmark data and create it again")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    if args.fresh:
        User.objects.filter(username__startswith=USER_PREFIX).delete()
        bench_audio = AudioBlob.objects.filter(sha256__in=[f"{n:064x}" for n in range(args.songs)])
        Song.objects.filter(audio__in=bench_audio).delete()
        bench_audio.delete()
        ModelVersion.objects.filter(name="bench-moods").delete()
    existing = User.objects.filter(username__startswith=USER_PREFIX).count()
    if existing != args.users:
        if existing:
            sys.exit(f"The benchmark database holds {existing} bench users, not {args.users}: rerun with --fresh.")
        print(f"Creating {args.users:,} users × {args.listens_per_user} listens, {args.songs:,} songs "
              f"({connection.vendor}) ...")
        started = time.perf_counter()
        populate(args.users, args.listens_per_user, args.songs, args.days, args.seed)
        print(f"  created in {time.perf_counter() - started:.1f} s")

    listens = ListeningEvent.objects.filter(counted=True).count()
    users = ListeningEvent.objects.filter(counted=True).values("user_id").distinct().count()
    print(describe_cpu())
    print(f"Database: {connection.vendor}, {users:,} listeners, {listens:,} counted listens, "
          f"half-life {services.half_life_s() / 86400:g} days")

    started = time.perf_counter()
    recomputed = services.recompute_profiles()
    full_s = time.perf_counter() - started
    print(f"Nightly full recompute: {full_s:.1f} s for {recomputed:,} users = {1000 * full_s / recomputed:.2f} ms/user "
          f"({1e6 * full_s / listens:.1f} µs/listen)")

    per_listen_s = bench_incremental(args.incremental, args.seed)
    print(f"Incremental update: {1000 * per_listen_s:.2f} ms/listen "
          f"(mean of {args.incremental:,}, one transaction each)")
    print(f"Snapshots stored: {MoodSnapshot.objects.count():,}")


if __name__ == "__main__":
    main()
