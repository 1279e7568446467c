"""In Chromium: drop two files on the upload page, watch them upload and get classified, play one, get a listen."""

import base64
import time

import pytest
from django.conf import settings
from django.test import Client

from catalog.models import ListeningEvent, Song
from catalog.services import delete_song
from classifier.seeding import install_defaults
from tests.catalog_factories import fast_passwords, write_song  # noqa: F401

CLASSIFY_TIMEOUT_MS = 300_000  # the worker's first classification loads the model

DROP_FILE = """([name, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "audio/flac" }));
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }
}"""


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fast_passwords")
def test_drop_upload_classify_play_and_listen(celery_worker_process, live_server, page, user, tmp_path):
    install_defaults()  # a transactional test elsewhere may have flushed the migration's rows
    chosen = write_song(tmp_path / "chosen tune.wav", seconds=4.0, freq_hz=330.0)
    dropped = write_song(tmp_path / "dropped tune.flac", seconds=4.0, freq_hz=550.0)
    log_in(page, live_server, user)
    try:
        page.goto(f"{live_server.url}/upload/")
        page.set_input_files("#file-input", str(chosen))
        page.evaluate(DROP_FILE, [dropped.name, base64.b64encode(dropped.read_bytes()).decode()])

        rows = page.locator(".upload-item")
        page.wait_for_function("document.querySelectorAll('.upload-item[data-song]').length === 2")
        assert rows.count() == 2
        for index in range(2):
            assert rows.nth(index).get_attribute("data-progress") == "100"
            assert rows.nth(index).get_attribute("data-state") in {"queued", "classifying", "done"}
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.upload-item')).every((row) => row.dataset.state === 'done')",
            timeout=CLASSIFY_TIMEOUT_MS,
        )
        songs = {song.title: song for song in Song.objects.all()}
        assert set(songs) == {"chosen tune", "dropped tune"}
        assert all(song.status == Song.Status.CLASSIFIED and song.top_genre for song in songs.values())
        for index in range(2):
            song = songs[rows.nth(index).locator(".upload-name a").inner_text()]
            guess = "?" if song.genre_uncertain else ""  # an unsure genre reads as a guess
            assert f"Done: {song.top_genre.name}{guess} " in rows.nth(index).inner_text()

        rows.nth(1).locator(".upload-name a").click()
        page.wait_for_url(f"{live_server.url}{songs['dropped tune'].get_absolute_url()}")
        assert page.locator("#timeline-canvas").is_visible()
        assert page.locator(".probabilities tr").count() >= 2

        page.get_by_role("button", name="Play dropped tune").click()  # the player at the bottom plays it
        page.wait_for_function("!document.getElementById('player-audio').paused")
        deadline = time.monotonic() + 30
        while not ListeningEvent.objects.filter(user=user, song=songs["dropped tune"]).exists():
            assert time.monotonic() < deadline, "no listening event was recorded"
            time.sleep(0.2)
        page.wait_for_function("document.getElementById('player-audio').ended", timeout=30_000)
        deadline = time.monotonic() + 15
        event = ListeningEvent.objects.get(user=user, song=songs["dropped tune"])
        while not (event.counted and event.completed):  # the end-of-song beacon: 4 s played, half the song passed
            assert time.monotonic() < deadline, f"the progress beacon did not arrive: {event.seconds_listened} s"
            time.sleep(0.2)
            event.refresh_from_db()
        assert 3.0 <= event.seconds_listened <= 4.0
    finally:
        for song in Song.objects.all():
            delete_song(song)
