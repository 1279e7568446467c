"""The project skeleton: settings, accounts, health, a real worker, a real browser."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from skybeat.celery import app as celery_app

MANAGE = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]


def run_manage(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run(MANAGE + args, env={**clean, **env}, capture_output=True, text=True, timeout=300)


def test_defaults_give_a_working_app(tmp_path):
    migrated = run_manage(["migrate", "--noinput"], SKYBEAT_VAR_DIR=str(tmp_path))
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "skybeat.sqlite3").stat().st_size > 0
    assert len((tmp_path / "secret_key").read_text()) >= 50
    assert (tmp_path / "broker" / "queue").is_dir()
    served = run_manage(
        ["shell", "-c", "from django.test import Client; r = Client(HTTP_HOST='localhost').get('/'); print(r.status_code, b'SKYBEAT' in r.content)"],
        SKYBEAT_VAR_DIR=str(tmp_path),
    )
    assert served.stdout.split()[-2:] == ["200", "True"], served.stderr


def test_debug_is_off_unless_the_environment_turns_it_on(tmp_path):
    show_debug = ["shell", "-c", "from django.conf import settings; print(settings.DEBUG)"]
    for env, expected in (({}, "False"), ({"DEBUG": "1"}, "True")):  # `make run` sets DEBUG=1
        result = run_manage(show_debug, SKYBEAT_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="skybeat.settings", **env)
        assert result.stdout.split()[-1:] == [expected], result.stderr


def test_secret_key_is_generated_once(tmp_path):
    for _ in range(2):
        assert run_manage(["check"], SKYBEAT_VAR_DIR=str(tmp_path)).returncode == 0
    first = (tmp_path / "secret_key").read_text()
    run_manage(["check"], SKYBEAT_VAR_DIR=str(tmp_path))
    assert (tmp_path / "secret_key").read_text() == first


def test_bad_database_url_names_the_variable(tmp_path):
    result = run_manage(["check"], SKYBEAT_VAR_DIR=str(tmp_path), DATABASE_URL="nosuchdb://what")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_manage(
        ["check", "--deploy", "--fail-level", "WARNING"],
        SKYBEAT_VAR_DIR=str(tmp_path), DEBUG="0", ALLOWED_HOSTS="music.example.org", CACHE_URL="redis://redis:6379/1",
        SECRET_KEY="p" * 20 + "-production-secret-key-that-is-long-enough-123456",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_sign_up_log_in_see_name_log_out(client, django_user_model):
    response = client.post(
        reverse("signup"),
        {"username": "carol", "password1": "tune-Long-phrase-77", "password2": "tune-Long-phrase-77"},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("home"), 302)]
    assert "Welcome to SKYBEAT, carol" in response.content.decode()
    assert django_user_model.objects.filter(username="carol").exists()
    client.post(reverse("logout"))
    assert "carol" not in client.get(reverse("home")).content.decode()

    response = client.post(reverse("login"), {"username": "carol", "password": "tune-Long-phrase-77"}, follow=True)
    assert response.context["user"].username == "carol"
    assert "carol" in response.content.decode()

    client.post(reverse("logout"))
    home = client.get(reverse("home"))
    assert not home.context["user"].is_authenticated
    assert "Log in" in home.content.decode()


@pytest.mark.django_db
def test_password_change(client, user):
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "a-Long-pass-phrase-1", "new_password1": "n3w-Long-phrase-x", "new_password2": "n3w-Long-phrase-x"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("n3w-Long-phrase-x")


@pytest.mark.django_db
def test_failed_logins_are_limited(client, user):
    for _ in range(settings.SKYBEAT_LOGIN_FAILURE_LIMIT - 1):
        assert client.post(reverse("login"), {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post(reverse("login"), {"username": "alice", "password": "wrong"}).status_code == 429
    blocked = client.post(reverse("login"), {"username": "alice", "password": "a-Long-pass-phrase-1"})
    assert blocked.status_code == 429
    assert "Too many failed log-in attempts" in blocked.content.decode()


@pytest.mark.django_db
def test_healthz_ok_on_working_services(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert "loaded" in body["model"]


@pytest.mark.django_db
def test_healthz_503_when_broker_port_is_closed(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["ok"] is False and body["broker"]["error"]
    assert body["database"]["ok"] is True


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task(celery_worker_process):
    result = celery_app.send_task("skybeat.ping", args=[41])
    reply = result.get(timeout=60)
    assert reply["pong"] == 42
    assert reply["pid"] != os.getpid()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_sign_up_lands_on_home(live_server, page, tmp_path, django_user_model):
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("#id_username", "dave")
    page.fill("#id_password1", "rhythm-Long-phrase-9")
    page.fill("#id_password2", "rhythm-Long-phrase-9")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator(".user-name").inner_text() == "dave"
    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5000
    assert django_user_model.objects.filter(username="dave").exists()
