"""Soak SKYBEAT the way it runs in production, on loopback, for a bounded time.

    .venv/bin/python bench/soak.py                    # 5 minutes, 20 listeners, 2 uploaders
    .venv/bin/python bench/soak.py --seconds 60 --listeners 10

gunicorn (4 workers, DEBUG=0) + 2 Celery workers (one with the beat sweep) + Redis (db 9) + PostgreSQL (its own
database, skybeat_soak, created and migrated if missing; its songs and media are emptied at each run). Listeners
are threads with a requests.Session each, logged in through the log-in form: they browse pages and the API,
stream songs with Range requests and report listens as the player does. Uploaders send a fresh synthetic track
every few seconds through the API. At the end it prints requests/s, p50/p99 latency, errors (must be 0), uploads
accepted vs classified (must be equal once the queue has drained, within a bounded wait) and the peak RSS of the
web and worker process trees. Exit status 1 if errors or unclassified uploads remain.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import requests
import soundfile

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench.machine import describe_cpu  # noqa: E402
from tests.audio_fixtures import SYNTHETIC_GENRES, synthetic_genre_clip  # noqa: E402
SOAK_DIR = BASE_DIR / "var" / "soak"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/skybeat_soak"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/9"
PASSWORD = "soak-Long-pass-phrase-1"
RANGE_BYTES = 64 * 1024
SR_HZ = 22050
_SEEDS = itertools.count(int(time.time()) * 1_000_000)
LOOPBACK = re.compile(r"^[a-z]+://([^@/]*@)?(127\.0\.0\.1|localhost)(:\d+)?/")


@dataclass
class Stats:
    """Latency per request kind, errors with a few examples, thread-safe."""

    latencies_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, problem: str | None = None) -> None:
        with self.lock:
            self.latencies_s[kind].append(seconds)
            if problem:
                self.errors[kind] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{kind}: {problem}")


def call(stats: Stats, kind: str, session: requests.Session, method: str, url: str,
         expected: tuple[int, ...] = (200,), **kwargs) -> requests.Response | None:
    started = time.perf_counter()
    try:
        response = session.request(method, url, timeout=60, **kwargs)
        response.content  # the whole body is part of the latency
    except requests.RequestException as exc:
        stats.record(kind, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return None
    problem = None
    if response.status_code not in expected:
        problem = f"{response.status_code} {method} {url} {response.text[:200]!r}"
    stats.record(kind, time.perf_counter() - started, problem)
    return response


# --- Set-up ---------------------------------------------------------------------------------------------------

def configure(args) -> dict:
    """Environment shared by this process, gunicorn and the workers; Django set up on the soak database."""
    env = {
        **os.environ, "DATABASE_URL": args.database_url, "CELERY_BROKER_URL": args.broker_url,
        "SKYBEAT_VAR_DIR": str(SOAK_DIR), "DJANGO_SETTINGS_MODULE": "skybeat.settings", "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0", "SKYBEAT_THROTTLE_USER": "1000000/min",
        "SKYBEAT_THROTTLE_LISTENS": "1000000/min", "LOG_LEVEL": "WARNING",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "soak-" + "k" * 60,
    }
    os.environ.update(env)
    from bench.web import create_database

    create_database(args.database_url)
    import django

    django.setup()
    return env


def reset_library() -> None:
    """Migrate, forget the previous run's songs and files, empty the soak's queues, make sure a model is active."""
    from django.conf import settings
    from django.core.management import call_command

    from catalog.models import AudioBlob, Song
    from classifier.seeding import install_defaults
    from skybeat.celery import app

    call_command("migrate", "--noinput", verbosity=0)
    Song.objects.all().delete()
    AudioBlob.objects.all().delete()
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    install_defaults()
    app.control.purge()


def make_users(listeners: int, uploaders: int) -> tuple[list[str], list[str]]:
    """Listener usernames and uploader API tokens (users created on the first run, reused after)."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    User = get_user_model()

    def user(name: str):
        account, created = User.objects.get_or_create(username=name)
        if created:
            account.set_password(PASSWORD)
            account.save()
        return account

    names = [user(f"soak-listener-{i}").username for i in range(listeners)]
    tokens = [Token.objects.get_or_create(user=user(f"soak-uploader-{i}"))[0].key for i in range(uploaders)]
    return names, tokens


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A child in its own process group (stopped as a whole), logging to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            sys.exit(f"Gave up waiting for {what}")
        time.sleep(0.5)


def serve(env: dict, port: int, workers: int) -> subprocess.Popen:
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                   env=env, cwd=BASE_DIR, check=True)
    server = start([sys.executable, "-m", "gunicorn", "skybeat.wsgi:application", "--bind", f"127.0.0.1:{port}",
                    "--workers", str(workers), "--timeout", "120", "--log-level", "warning"],
                   env, SOAK_DIR / "logs" / "gunicorn.log")

    def answers() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_for(answers, 120, "gunicorn and /healthz")
    return server


def celery_workers(env: dict, count: int) -> list[subprocess.Popen]:
    workers = []
    for i in range(count):
        beat = ["--beat", "--schedule", str(SOAK_DIR / "celerybeat-schedule")] if i == 0 else []
        workers.append(start(
            [sys.executable, "-m", "celery", "-A", "skybeat", "worker", "--loglevel", "INFO", "--concurrency", "1",
             "--queues", "classification,default", "--hostname", f"soak-{i}@%h", "--without-gossip",
             "--without-mingle", *beat], {**env, "LOG_LEVEL": "INFO"}, SOAK_DIR / "logs" / f"worker-{i}.log"))
    for i in range(count):
        log = SOAK_DIR / "logs" / f"worker-{i}.log"
        wait_for(lambda: "Loaded model" in log.read_text(), 300, f"worker {i} to load the model")
    return workers


class PeakRss:
    """Samples the summed RSS of each named process tree every second and keeps the peak."""

    def __init__(self, trees: dict[str, list[subprocess.Popen]]):
        self.trees, self.peak_mb = trees, dict.fromkeys(trees, 0.0)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(1.0):
            for name, roots in self.trees.items():
                self.peak_mb[name] = max(self.peak_mb[name], sum(self._tree_rss(root.pid) for root in roots) / 2**20)

    @staticmethod
    def _tree_rss(pid: int) -> int:
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.thread.join()
        return self.peak_mb


# --- Traffic ----------------------------------------------------------------------------------------------------

def log_in(base: str, username: str, stats: Stats) -> requests.Session:
    session = requests.Session()
    call(stats, "log-in page", session, "GET", f"{base}/accounts/login/")
    response = call(stats, "log in", session, "POST", f"{base}/accounts/login/", expected=(302,),
                    allow_redirects=False,
                    data={"username": username, "password": PASSWORD,
                          "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")})
    if response is None or "sessionid" not in session.cookies:
        raise RuntimeError(f"{username} could not log in")
    return session


def listener(base: str, session: requests.Session, deadline: float, stats: Stats, seed: int) -> None:
    """Browse, open songs, stream two ranges of one, report the listen; think 0.1–0.6 s between requests."""
    rng = random.Random(seed)
    songs: list[dict] = []
    genres: list[str] = []
    while time.monotonic() < deadline:
        if not songs or rng.random() < 0.05:
            page = call(stats, "API songs", session, "GET", f"{base}/api/songs/", params={"sort": rng.choice(
                ["newest", "title", "confidence"])})
            songs = page.json()["results"] if page is not None else songs
            listed = call(stats, "API genres", session, "GET", f"{base}/api/genres/")
            genres = [g["slug"] for g in listed.json() if g["song_count"]] if listed is not None else genres
        action = rng.random()
        if action < 0.15:
            call(stats, "page: home", session, "GET", f"{base}/")
        elif action < 0.3:
            call(stats, "page: library", session, "GET", f"{base}/songs/", params={"q": rng.choice(["", "soak", "a"])})
        elif action < 0.4 and genres:
            call(stats, "page: genre", session, "GET", f"{base}/genres/{rng.choice(genres)}/")
        elif action < 0.45:
            call(stats, "page: history", session, "GET", f"{base}/history/")
        elif action < 0.5:
            call(stats, "page: moods", session, "GET", f"{base}/moods/")
        elif songs:
            play(base, session, rng.choice(songs), stats, rng)
        time.sleep(rng.uniform(0.1, 0.6))


def play(base: str, session: requests.Session, song: dict, stats: Stats, rng: random.Random) -> None:
    """What the song page and its player do: the page, the first range, a seek, the listen and its beacon."""
    page = call(stats, "page: song", session, "GET", f"{base}/songs/{song['id']}/")
    first = call(stats, "stream range", session, "GET", f"{base}/songs/{song['id']}/stream", expected=(206,),
                 headers={"Range": f"bytes=0-{RANGE_BYTES - 1}"})
    if page is None or first is None:
        return
    size = int(first.headers["Content-Range"].rsplit("/", 1)[1])
    start = rng.randrange(0, max(1, size - RANGE_BYTES))
    call(stats, "stream range", session, "GET", f"{base}/songs/{song['id']}/stream", expected=(206,),
         headers={"Range": f"bytes={start}-{start + RANGE_BYTES - 1}"})
    token = session.cookies.get("csrftoken", "")
    listen = call(stats, "API listen", session, "POST", f"{base}/api/listens/", expected=(201,),
                  json={"song": song["id"]}, headers={"X-CSRFToken": token})
    if listen is not None:
        call(stats, "API beacon", session, "POST", f"{base}/api/listens/{listen.json()['id']}/progress",
             data={"seconds_listened": rng.uniform(5, 60), "csrfmiddlewaretoken": token})


def track(seed: int, seconds: float) -> bytes:
    """A fresh synthetic track (different bytes every time) as a 16-bit WAV."""
    clip = synthetic_genre_clip(SYNTHETIC_GENRES[seed % len(SYNTHETIC_GENRES)], seconds, SR_HZ, seed=seed)
    buffer = io.BytesIO()
    soundfile.write(buffer, clip, SR_HZ, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def upload(base: str, token: str, name: str, seed: int, track_s: float, stats: Stats, accepted: list[int]) -> None:
    response = call(stats, "API upload", requests.Session(), "POST", f"{base}/api/songs/", expected=(201,),
                    headers={"Authorization": f"Token {token}"},
                    files={"file": (name, track(seed, track_s), "audio/wav")})
    if response is not None and response.status_code == 201:
        accepted.append(response.json()["uploads"][0]["song"]["id"])


def uploader(base: str, token: str, deadline: float, every_s: float, track_s: float, stats: Stats,
             accepted: list[int], index: int) -> None:
    """A new track every ``every_s`` seconds until the deadline."""
    n = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        upload(base, token, f"soak-{index}-{n}.wav", next_seed(), track_s, stats, accepted)
        n += 1
        time.sleep(max(0.0, every_s - (time.monotonic() - started)))


def next_seed() -> int:
    """Unique per track across runs: every upload is new bytes, never a duplicate."""
    return next(_SEEDS)


def drain(song_ids: list[int], timeout_s: float) -> Counter:
    """Wait (bounded) until every accepted upload is classified or failed; returns the count per status."""
    from catalog.models import Song

    deadline = time.monotonic() + timeout_s
    while True:
        statuses = Counter(Song.objects.filter(pk__in=song_ids).values_list("status", flat=True))
        if statuses[Song.Status.PENDING] + statuses[Song.Status.PROCESSING] == 0 or time.monotonic() > deadline:
            return statuses
        time.sleep(2)


# --- Report -----------------------------------------------------------------------------------------------------

def percentile_ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else 0.0


def report(args, stats: Stats, login_stats: Stats, elapsed_s: float, accepted: list[int], statuses: Counter,
           drain_s: float, peaks: dict[str, float]) -> bool:
    everything = [s for values in stats.latencies_s.values() for s in values]
    errors = sum(stats.errors.values()) + sum(login_stats.errors.values())
    logins = login_stats.latencies_s["log in"]
    print(f"\n{describe_cpu()}")
    print(f"SKYBEAT soak: {elapsed_s:.0f} s, {args.listeners} listeners, {args.uploaders} uploaders, gunicorn "
          f"{args.web_workers} workers, {args.celery_workers} Celery workers, PostgreSQL + Redis on loopback")
    print(f"{'request':<16}{'count':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for kind in sorted(stats.latencies_s):
        values = stats.latencies_s[kind]
        print(f"{kind:<16}{len(values):>8}{percentile_ms(values, 50):>9.1f}{percentile_ms(values, 99):>9.1f}"
              f"{stats.errors[kind]:>8}")
    print(f"{'all':<16}{len(everything):>8}{percentile_ms(everything, 50):>9.1f}{percentile_ms(everything, 99):>9.1f}"
          f"{errors:>8}")
    print(f"throughput: {len(everything) / elapsed_s:.1f} requests/s; errors: {errors}")
    print(f"(before the clock: {len(logins)} log-ins through the form, p50 {percentile_ms(logins, 50):.0f} ms, "
          f"p99 {percentile_ms(logins, 99):.0f} ms: password hashing)")
    for example in login_stats.examples + stats.examples:
        print(f"  error: {example}")
    classified = statuses.get("classified", 0)
    print(f"uploads: {len(accepted)} accepted, {classified} classified, {statuses.get('failed', 0)} failed, "
          f"{statuses.get('pending', 0) + statuses.get('processing', 0)} still queued after a {drain_s:.0f} s drain")
    print("peak RSS: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in peaks.items()))
    return errors == 0 and classified == len(accepted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300, help="how long the traffic runs (default 5 min)")
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--uploaders", type=int, default=2)
    parser.add_argument("--upload-every-s", type=float, default=5.0, help="seconds between one uploader's tracks")
    parser.add_argument("--track-s", type=float, default=20.0, help="length of each uploaded track")
    parser.add_argument("--drain-timeout-s", type=float, default=600, help="longest wait for the queue to drain")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--celery-workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("SOAK_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--broker-url", default=os.environ.get("SOAK_BROKER_URL", DEFAULT_BROKER_URL))
    args = parser.parse_args()
    if not (LOOPBACK.match(args.database_url) and LOOPBACK.match(args.broker_url)):
        sys.exit("The soak runs on loopback only: give 127.0.0.1 URLs for the database and the broker.")

    env = configure(args)
    reset_library()
    names, tokens = make_users(args.listeners, args.uploaders)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes: list[subprocess.Popen] = []
    try:
        web = serve(env, port, args.web_workers)
        processes.append(web)
        workers = celery_workers(env, args.celery_workers)
        processes.extend(workers)
        rss = PeakRss({"web": [web], "workers": workers})

        stats, accepted, login_stats = Stats(), [], Stats()
        with ThreadPoolExecutor(len(names)) as pool:  # log-ins (slow password hashing) before the clock starts
            sessions = list(pool.map(lambda name: log_in(base, name, login_stats), names))
        # A few songs before the listeners arrive, so there is something to play from the start.
        for i, token in enumerate(tokens):
            upload(base, token, f"soak-first-{i}.wav", next_seed(), args.track_s, stats, accepted)
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [threading.Thread(target=listener, args=(base, session, deadline, stats, i), daemon=True)
                   for i, session in enumerate(sessions)]
        threads += [threading.Thread(target=uploader, args=(base, token, deadline, args.upload_every_s, args.track_s,
                                                            stats, accepted, i), daemon=True)
                    for i, token in enumerate(tokens)]
        print(f"Soaking {base} for {args.seconds:.0f} s ...", flush=True)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed_s = time.monotonic() - started

        drain_started = time.monotonic()
        statuses = drain(accepted, args.drain_timeout_s)
        drain_s = time.monotonic() - drain_started
        ok = report(args, stats, login_stats, elapsed_s, accepted, statuses, drain_s, rss.stop())
    finally:
        for process in reversed(processes):
            stop(process)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
