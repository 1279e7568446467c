"""In a real browser: staff labels songs on their pages, trains a model in the admin, watches its progress reach
100 %, reads its metrics and activates it; the training runs on the real worker."""

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from catalog.models import Genre, GenreLabel
from classifier.models import ModelVersion, TrainingJob
from tests.training_helpers import library_song

PASSWORD = "s-Long-pass-phrase-3"


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_staff_labels_trains_watches_progress_and_activates(celery_worker_process, page, live_server, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    needed = settings.SKYBEAT_MIN_LABELS_PER_GENRE
    for slug in ("drone", "pulse"):
        Genre.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    songs = [library_song(staff_user, kind, 6.0, seed=500 + i) for kind in ("drone", "pulse") for i in range(needed)]

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", staff_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(staff_user.username)

    for song in songs:  # label each song on its own page, with the catalog's "confirm or pick genre" form
        kind = song.title.split()[0]
        page.goto(f"{live_server.url}{song.get_absolute_url()}")
        page.select_option("select[name=genre]", kind)
        page.locator("form[action$='/label'] button[type=submit]").click()
        expect(page.locator("body")).to_contain_text(f"set to {kind.title()}")
    assert GenreLabel.objects.filter(genre__slug="drone").count() == needed

    page.goto(f"{live_server.url}/admin/classifier/trainingjob/")
    page.get_by_role("link", name="Train a new model").click()
    page.select_option("#id_mode", "feature-extractor")
    page.get_by_label(re.compile(r"Drone — \d+ labelled")).check()
    page.get_by_label(re.compile(r"Pulse — \d+ labelled")).check()
    page.fill("#id_epochs", "3")
    page.click("input[name=_save]")

    panel = page.locator("#training-progress")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-field=percent]")).to_have_text("100", timeout=240_000)  # updated by polling
    expect(panel.locator("[data-field=status_label]")).to_have_text("Succeeded")
    expect(panel.locator(".tp-bar")).to_have_attribute("aria-valuenow", "100")
    job = TrainingJob.objects.get()
    assert job.status == "succeeded" and job.history and job.model_version is not None
    version = job.model_version
    assert not version.active

    panel.get_by_role("link", name=version.name).click()
    expect(page.locator(".model-metrics")).to_contain_text("Song-level accuracy")
    image = page.locator(".model-metrics img")
    expect(image).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) > 100  # the PNG was served

    page.goto(f"{live_server.url}/admin/classifier/modelversion/")
    page.locator(f"input[name=_selected_action][value='{version.pk}']").check()
    page.select_option("select[name=action]", "activate_selected")
    page.click("button[name=index]")
    expect(page.locator("#content")).to_contain_text("reclassify")
    page.get_by_role("button", name="Activate only").click()
    expect(page.locator(".messagelist")).to_contain_text(f"“{version.name}” is now the active model.")
    assert ModelVersion.get_active() == version

    shutil.rmtree(Path(settings.SKYBEAT_MODELS_DIR) / version.artefact_path)
