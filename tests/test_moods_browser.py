"""The mood dashboard and radio in Chromium: the charts are drawn by our own SVG library."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from .moods_factories import classified_song, history, seeded_moods  # noqa: F401  (seeded_moods is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_moods")]


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])


def test_dashboard_draws_its_charts(page, live_server, user, tmp_path):
    now = timezone.now()
    history(user, classified_song({"metal": 1.0}, title="Old Riff"), now - timedelta(days=20), plays=8)
    history(user, classified_song({"folk": 0.7, "jazz": 0.3}, title="Porch Song"), now, plays=15)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}/moods/")
    page.wait_for_selector("#chart-genres svg path.sc-slice")
    assert page.locator("#chart-genres svg path.sc-slice").count() >= 3
    assert page.locator("#chart-plane svg circle.sc-point").count() == 1
    assert page.locator("#chart-plane svg circle.sc-trail-dot").count() >= 2
    assert page.locator("#chart-moods svg rect.sc-bar").count() == 6
    assert page.locator("#chart-weeks svg rect.sc-stack").count() >= 2
    box = page.locator("#chart-genres svg").bounding_box()
    assert box["width"] > 200 and box["height"] > 100
    assert "mostly reflective" in page.locator("#mood-sentence").inner_text()
    assert page.locator("#top-songs").inner_text().count("Porch Song") == 1
    page.screenshot(path=str(tmp_path / "moods-dashboard.png"), full_page=True)
    assert (tmp_path / "moods-dashboard.png").stat().st_size > 10_000
    assert errors == []


def test_radio_picks_a_point_and_queues_songs(page, live_server, user, tmp_path):
    classified_song({"ambient": 1.0}, title="Still Water")
    classified_song({"punk": 1.0}, title="Fast Fury")
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}/moods/radio/")
    page.wait_for_selector("#radio-plane svg")
    plane = page.locator("#radio-plane svg rect.sc-plane").bounding_box()
    # Top-left of the plane: unpleasant and energetic.
    page.mouse.click(plane["x"] + plane["width"] * 0.3, plane["y"] + plane["height"] * 0.15)
    page.wait_for_url("**/moods/radio/?mood=*")
    first = page.locator("#radio-queue li").first
    assert "Fast Fury" in first.inner_text()
    expect(page.locator("#radio-plane svg circle.sc-point")).to_have_count(1)  # drawn after the queue arrives
    assert page.locator("#radio-queue [data-play]").first.get_attribute("data-src").endswith("/stream")
    assert page.get_by_role("button", name="Play the radio").is_visible()
    page.get_by_role("button", name="Calm").click()
    page.wait_for_url("**/moods/radio/?mood=calm")
    assert "Still Water" in page.locator("#radio-queue li").first.inner_text()
    page.screenshot(path=str(tmp_path / "moods-radio.png"), full_page=True)
