"""The installable app: the manifest and its icons, the service worker's shell list, the offline page."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from PIL import Image

from skybeat.pwa import SHELL_FILES

pytestmark = pytest.mark.unit


def static_file(url: str) -> str:
    assert url.startswith(settings.STATIC_URL), url
    path = finders.find(url.removeprefix(settings.STATIC_URL))
    assert path, f"{url} is not a static file"
    return path


def test_manifest_makes_the_site_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["name"] == "SKYBEAT" and manifest["theme_color"] == manifest["background_color"]
    purposes = set()
    for icon in manifest["icons"]:
        with Image.open(static_file(icon["src"])) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"] and image.format == "PNG"
        purposes.add(icon["purpose"])
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
    assert purposes == {"any", "maskable"}


def test_service_worker_caches_the_app_shell_only(client):
    response = client.get("/sw.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/" and "no-cache" in response["Cache-Control"]
    script = response.content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", script).group(1))
    assert len(shell) == len(SHELL_FILES)
    for url in shell:
        static_file(url)
    assert json.loads(re.search(r"const OFFLINE_URL = (\".*?\");", script).group(1)) == "/offline/"
    assert re.search(r'const CACHE = "skybeat-shell-[0-9a-f]{16}";', script)


def test_offline_page_is_the_same_for_everyone(client, user):
    anonymous = client.get("/offline/")
    client.force_login(user)
    signed_in = client.get("/offline/")
    assert anonymous.status_code == signed_in.status_code == 200
    assert "You are offline" in signed_in.content.decode() and user.username not in signed_in.content.decode()


def test_pages_load_the_player_and_htmx_from_installed_packages(client, db):
    page = client.get("/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<script src="/static/js/player.js" defer></script>' in page
    assert static_file(re.search(r'src="([^"]*htmx-2\.min\.js)"', page).group(1)).endswith("django_htmx/htmx-2.min.js")
    assert 'id="player"' in page and 'hx-boost="true"' in page and '<div id="app" hx-history-elt' in page
