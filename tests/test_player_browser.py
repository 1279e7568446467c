"""The player in Chromium: music survives navigation, the queue, the lock screen, phones, keyboard, offline."""

import re
import time

import pytest
from playwright.sync_api import expect

from catalog.models import ListeningEvent
from tests.catalog_factories import fast_passwords, media_root  # noqa: F401  (fixtures)
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, close_page
from tests.player_factories import default_genres, playable_song  # noqa: F401  (default_genres is a fixture)
from tests.test_catalog_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("default_genres", "media_root", "fast_passwords")]

PHONES = [(360, 740), (390, 844)]
AUDIO = "document.getElementById('player-audio')"
# Media Session handlers can only be called by the OS: keep a reference to each one the page registers.
CAPTURE_MEDIA_HANDLERS = """
window.__mediaHandlers = {};
const register = navigator.mediaSession.setActionHandler.bind(navigator.mediaSession);
navigator.mediaSession.setActionHandler = (action, handler) => { window.__mediaHandlers[action] = handler; register(action, handler); };
"""


@pytest.fixture(scope="module")
def player_browser(browser):
    """Chromium that may start audio without a click (the lock screen's buttons), from the session's Playwright."""
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                           args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
    yield chromium
    chromium.close()


@pytest.fixture
def tab(player_browser):
    context = player_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    close_page(page)
    assert errors == [], errors


@pytest.fixture
def songs(user, tmp_path):
    """Three rock songs (most confident first on the genre page) and two jazz ones, all the user's."""
    specs = [("Granite", "rock", 0.9), ("Basalt", "rock", 0.8), ("Slate", "rock", 0.7),
             ("Blue Hour", "jazz", 0.9), ("Late Set", "jazz", 0.6)]
    return {title: playable_song(user, tmp_path, title, slug, probability=p, freq_hz=220 + 60 * i)
            for i, (title, slug, p) in enumerate(specs)}


def eventually(check, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def now_playing(page) -> str:
    return page.locator("#player-title").inner_text()


def wait_playing(page, title: str) -> None:
    page.wait_for_function(f"document.getElementById('player-title').textContent === {title!r} && !{AUDIO}.paused "
                           f"&& {AUDIO}.currentTime > 0")


def position(page) -> float:
    return page.evaluate(f"{AUDIO}.currentTime")


def queue_titles(page) -> list[str]:
    return page.locator("#queue-list .queue-title").all_inner_texts()


def test_playback_survives_navigation(tab, live_server, user, songs):
    log_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/songs/")
    tab.get_by_role("button", name="Play Granite").click()
    wait_playing(tab, "Granite")
    tab.evaluate(f"window.__audio = {AUDIO}; window.__notReloaded = true")
    heard = position(tab)
    steps = [
        (lambda: tab.get_by_role("link", name="Browse").click(), "/genres/", "Genres"),
        (lambda: tab.locator(".genre-card", has_text="Jazz").click(), "/genres/jazz/", "Jazz"),
        (lambda: tab.get_by_role("link", name="Blue Hour").click(), songs["Blue Hour"].get_absolute_url(), "Blue Hour"),
        (lambda: tab.get_by_role("link", name="My moods").click(), "/moods/", "My moods"),
    ]
    for navigate, path, title in steps:
        time.sleep(0.6)
        navigate()
        tab.wait_for_url(f"{live_server.url}{path}")
        tab.wait_for_function(f"document.title.startsWith({title!r})")
        assert tab.evaluate(f"window.__notReloaded && {AUDIO} === window.__audio && !{AUDIO}.paused")
        tab.wait_for_function(f"{AUDIO}.currentTime > {heard}")
        heard = position(tab)
    assert heard > 2.0

    tab.go_back()  # history and the back button
    tab.wait_for_url(f"{live_server.url}{songs['Blue Hour'].get_absolute_url()}")
    tab.wait_for_function("document.title.startsWith('Blue Hour')")
    assert tab.evaluate(f"window.__notReloaded && !{AUDIO}.paused")

    tab.locator("form.inline-form", has_text="Genre").get_by_role("button").click()  # a form: CSRF, redirect, flash
    tab.wait_for_selector(".message.success")
    assert "Genre of “Blue Hour” set to Jazz" in tab.locator(".messages").inner_text()
    assert tab.evaluate(f"window.__notReloaded && !{AUDIO}.paused")
    assert now_playing(tab) == "Granite"

    eventually(lambda: ListeningEvent.objects.filter(user=user, song=songs["Granite"], seconds_listened__gt=2).exists())
    assert ListeningEvent.objects.filter(user=user).count() == 1  # one song played, one listening event


def test_only_the_playing_row_shows_pause(tab, live_server, user, songs):
    log_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/songs/")
    rows = tab.locator("table.songs [data-play]")
    for index in range(rows.count()):
        rows.nth(index).click()
        title = rows.nth(index).get_attribute("data-title")
        wait_playing(tab, title)
        # the buttons follow the player's events: wait for them, since a loaded machine may deliver them late
        playing = tab.locator("table.songs [data-play].is-playing")
        expect(playing).to_have_count(1)
        expect(playing).to_have_attribute("data-title", title)
        expect(playing).to_have_attribute("aria-label", f"Pause {title}")
        expect(tab.locator("table.songs [data-play][aria-label^='Pause']")).to_have_count(1)
    rows.nth(rows.count() - 1).click()  # the playing row's button pauses
    tab.wait_for_function(f"{AUDIO}.paused")
    expect(tab.locator("table.songs [data-play].is-playing")).to_have_count(0)


def test_queue_play_all_next_previous_reorder_reload_resume(tab, live_server, user, songs):
    log_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/genres/rock/")
    tab.get_by_role("button", name="Play all").click()
    wait_playing(tab, "Granite")
    tab.get_by_role("button", name="Queue: 3 songs").click()
    assert queue_titles(tab) == ["Granite", "Basalt", "Slate"]

    tab.locator("#player-next").click()
    wait_playing(tab, "Basalt")
    tab.locator("#player-prev").click()
    wait_playing(tab, "Granite")
    tab.get_by_role("button", name="Move Slate up").click()
    assert queue_titles(tab) == ["Granite", "Slate", "Basalt"]
    tab.get_by_role("button", name="Remove Basalt from the queue").click()
    assert queue_titles(tab) == ["Granite", "Slate"]

    tab.get_by_role("link", name="Library").click()  # queue from another page: play next, add to queue
    tab.wait_for_url(f"{live_server.url}/songs/")
    row = tab.locator("tr", has_text="Late Set")
    row.get_by_label("More for Late Set").click()
    row.get_by_role("button", name="Add to queue").click()
    row = tab.locator("tr", has_text="Blue Hour")
    row.get_by_label("More for Blue Hour").click()
    row.get_by_role("button", name="Play next").click()
    assert queue_titles(tab) == ["Granite", "Blue Hour", "Slate", "Late Set"]
    assert "Blue Hour plays next." in tab.locator("#player-status").inner_text()

    tab.locator("#player-next").click()
    wait_playing(tab, "Blue Hour")
    tab.wait_for_function(f"{AUDIO}.currentTime > 2")
    tab.locator("#player-toggle").click()
    tab.wait_for_function(f"{AUDIO}.paused")
    paused_at = position(tab)

    tab.reload()  # a real reload: the queue and the place in it come back
    tab.wait_for_selector("#player:not([hidden])")
    assert now_playing(tab) == "Blue Hour"
    tab.wait_for_function(f"Math.abs({AUDIO}.currentTime - {paused_at}) < 0.5")
    tab.locator("#player-queue-toggle").click()
    assert queue_titles(tab) == ["Granite", "Blue Hour", "Slate", "Late Set"]
    assert tab.locator("#queue-list .is-current .queue-title").inner_text() == "Blue Hour"
    tab.locator("#player-toggle").click()
    wait_playing(tab, "Blue Hour")
    tab.wait_for_function(f"{AUDIO}.currentTime > {paused_at + 0.5}")
    tab.locator("#player-toggle").click()
    tab.wait_for_function(f"{AUDIO}.paused")
    # The resumed play went on with the same listening event: one per song played.
    blue_hour = ListeningEvent.objects.filter(user=user, song=songs["Blue Hour"])
    eventually(lambda: blue_hour.filter(seconds_listened__gt=paused_at).exists())
    assert blue_hour.count() == 1

    tab.locator("#player-shuffle").click()
    assert tab.locator("#player-shuffle").get_attribute("aria-pressed") == "true"
    assert queue_titles(tab)[:2] == ["Granite", "Blue Hour"]
    assert sorted(queue_titles(tab)[2:]) == ["Late Set", "Slate"]
    tab.locator("#player-shuffle").click()
    assert queue_titles(tab) == ["Granite", "Blue Hour", "Slate", "Late Set"]
    for mode in ("all", "one", "off"):
        tab.locator("#player-repeat").click()
        assert tab.locator("#player-repeat").get_attribute("aria-label") == f"Repeat: {mode}"


def test_media_session_shows_the_song_and_its_buttons_drive_the_queue(tab, live_server, user, songs):
    tab.add_init_script(CAPTURE_MEDIA_HANDLERS)
    log_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/genres/rock/")
    tab.get_by_role("button", name="Play all").click()
    wait_playing(tab, "Granite")
    metadata = tab.evaluate("""(() => { const m = navigator.mediaSession.metadata;
        return {title: m.title, artist: m.artist, album: m.album, artwork: m.artwork.map((a) => a.src.slice(0, 22)),
                state: navigator.mediaSession.playbackState}; })()""")
    assert metadata == {"title": "Granite", "artist": "The Testers", "album": "Tones",
                        "artwork": ["data:image/png;base64,"], "state": "playing"}
    assert set(tab.evaluate("Object.keys(window.__mediaHandlers)")) >= {
        "play", "pause", "previoustrack", "nexttrack", "seekto", "seekbackward", "seekforward"}

    tab.evaluate("window.__mediaHandlers.nexttrack()")
    wait_playing(tab, "Basalt")
    assert tab.evaluate("navigator.mediaSession.metadata.title") == "Basalt"
    tab.evaluate("window.__mediaHandlers.seekto({action: 'seekto', seekTime: 20})")
    assert position(tab) >= 20
    tab.evaluate("window.__mediaHandlers.pause()")
    tab.wait_for_function(f"{AUDIO}.paused && navigator.mediaSession.playbackState === 'paused'")
    tab.evaluate("window.__mediaHandlers.play()")
    tab.wait_for_function(f"!{AUDIO}.paused")
    tab.evaluate("window.__mediaHandlers.previoustrack()")  # past 3 s: back to the start of the song
    tab.wait_for_function(f"{AUDIO}.currentTime < 3")
    assert now_playing(tab) == "Basalt"
    tab.evaluate("window.__mediaHandlers.previoustrack()")
    wait_playing(tab, "Granite")


@pytest.mark.parametrize("width,height", PHONES)
def test_pages_with_songs_fit_a_phone(player_browser, live_server, user, songs, width, height, tmp_path):
    context = player_browser.new_context(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        log_in(tab, live_server, user)
        tab.goto(f"{live_server.url}/genres/rock/")
        tab.get_by_role("button", name="Play all").tap()
        wait_playing(tab, "Granite")
        for path in ["/", "/songs/", "/songs/?q=late", "/genres/", "/genres/rock/", songs["Slate"].get_absolute_url(),
                     "/history/", "/moods/", "/moods/radio/?mood=calm"]:
            tab.goto(f"{live_server.url}{path}")
            tab.wait_for_selector("#player:not([hidden])")
            sizes = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert sizes[0] <= sizes[1], f"{path} is {sizes[0]} px wide at {width} px"
            small = tab.evaluate("""Array.from(document.querySelectorAll(
                    '[data-play], .song-menu summary, #player button, .nav-toggle-label, .btn'))
                .filter((el) => el.offsetParent !== null)
                .map((el) => [el.getAttribute('aria-label') || el.textContent.trim(), el.getBoundingClientRect()])
                .filter(([, box]) => box.width < 44 || box.height < 44).map(([name]) => name)""")
            assert small == [], f"touch targets under 44 px on {path}: {small}"
        tab.locator("#player-queue-toggle").tap()  # the open queue fits too
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert tab.locator("#queue-panel").bounding_box()["width"] <= width
        tab.screenshot(path=str(tmp_path / f"radio-{width}.png"))
    finally:
        close_page(tab)


def test_player_works_with_the_keyboard_and_speaks_to_screen_readers(tab, live_server, user, songs):
    log_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/songs/")
    tab.get_by_role("button", name="Play Slate").focus()
    tab.keyboard.press("Enter")
    wait_playing(tab, "Slate")
    assert tab.locator("#player-now").get_attribute("aria-live") == "polite"
    assert tab.locator("#player-now").inner_text() == "Now playing: Slate by The Testers"
    tab.locator("#player-toggle").focus()
    tab.keyboard.press("Space")
    tab.wait_for_function(f"{AUDIO}.paused")
    tab.wait_for_function("document.getElementById('player-toggle').getAttribute('aria-label') === 'Play'",
                          timeout=5_000)  # the label follows the audio's "pause" event
    tab.locator("#player-seek").focus()
    tab.keyboard.press("ArrowRight")
    assert position(tab) > 0
    tab.locator("#player-queue-toggle").focus()
    tab.keyboard.press("Enter")
    assert tab.locator("#player-queue-toggle").get_attribute("aria-expanded") == "true"
    assert tab.evaluate("document.getElementById('queue-panel').contains(document.activeElement)")
    tab.keyboard.press("Escape")
    assert tab.locator("#queue-panel").is_hidden()
    assert tab.evaluate("document.activeElement.id") == "player-queue-toggle"
    unnamed = tab.evaluate("""Array.from(document.querySelectorAll('#player button, #player input'))
        .filter((el) => !(el.getAttribute('aria-label') || el.textContent.trim())).map((el) => el.outerHTML)""")
    assert unnamed == []
    tab.get_by_role("link", name="History").click()  # a swapped page takes the focus, as a new page would
    tab.wait_for_url(f"{live_server.url}/history/")  # the URL changes before the swapped content settles
    tab.wait_for_function("document.activeElement.tagName === 'H1'", timeout=10_000)


def test_pages_work_without_javascript(player_browser, live_server, user, songs):
    context = player_browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    try:
        log_in(tab, live_server, user)
        tab.goto(f"{live_server.url}/songs/")
        assert tab.locator("[data-play]").first.is_hidden()  # nothing that needs JavaScript shows
        tab.get_by_role("link", name="Basalt").click()
        tab.wait_for_url(f"{live_server.url}{songs['Basalt'].get_absolute_url()}")
        assert tab.locator("audio.song-audio[controls]").get_attribute("src").endswith("/stream")
        tab.get_by_role("link", name="Browse").click()
        tab.wait_for_url(f"{live_server.url}/genres/")
    finally:
        context.close()


def test_service_worker_keeps_the_app_shell_only(tab, live_server, user, songs):
    log_in(tab, live_server, user)
    tab.goto(f"{live_server.url}/songs/")
    tab.wait_for_function("navigator.serviceWorker.controller !== null")  # installed, and controls the page
    tab.get_by_role("button", name="Play Granite").click()
    wait_playing(tab, "Granite")
    tab.evaluate("fetch('/api/songs/').then((r) => r.json())")
    tab.get_by_role("link", name="History").click()
    tab.wait_for_url(f"{live_server.url}/history/")
    cached = tab.evaluate("""caches.keys().then((names) => Promise.all(names.map((name) =>
        caches.open(name).then((cache) => cache.keys()).then((requests) => requests.map((r) => new URL(r.url).pathname)))))
        .then((lists) => lists.flat())""")
    assert "/offline/" in cached and any(path.endswith("player.js") for path in cached)
    assert all(path.startswith("/static/") or path == "/offline/" for path in cached), cached
    assert not [path for path in cached if re.search(r"/stream|/api/|/songs/|/history/", path)]

    tab.context.set_offline(True)
    tab.goto(f"{live_server.url}/genres/")
    assert "You are offline" in tab.locator("h1").inner_text()
    tab.context.set_offline(False)


def test_chromium_finds_the_app_installable(browser, live_server, tmp_path):
    """What Chrome checks before it offers "Install SKYBEAT": manifest, icons, a controlling service worker."""
    # A profile on disk: an incognito context is never installable.
    context = browser.browser_type.launch_persistent_context(tmp_path / "profile", executable_path=CHROMIUM,
                                                             headless=True, args=CHROMIUM_ARGS)
    try:
        tab = context.new_page()
        tab.goto(live_server.url)
        tab.wait_for_function("navigator.serviceWorker.controller !== null")
        devtools = context.new_cdp_session(tab)
        assert devtools.send("Page.getAppManifest")["errors"] == []
        assert devtools.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        context.close()
