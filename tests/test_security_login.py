"""The log-in limit: one counter per account and client, whatever spelling of the name, on every log-in path,
with the client read through the trusted proxies, in a cache every web server shares; sign-ups per address."""

import re

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client

from skybeat.throttle import client_address, login_locked, record_login_failure, record_login_success
from tests import web_servers
from tests.catalog_factories import fast_passwords  # noqa: F401
from tests.test_reliability_faults import PrivateRedis

pytestmark = pytest.mark.usefixtures("fast_passwords")

PASSWORD = "tune-Long-phrase-77"
LIMIT = django_settings.SKYBEAT_LOGIN_FAILURE_LIMIT
LOCKED = "Too many failed log-in attempts"


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user(username="carol", password=PASSWORD, is_staff=True)


def log_in(username: str, password: str, address: str = "192.0.2.10", path: str = "/accounts/login/",
           **headers: str):
    return Client(REMOTE_ADDR=address, **headers).post(path, {"username": username, "password": password})


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


@pytest.mark.django_db
@pytest.mark.parametrize("variant", ["ｃarol", "𝐜arol", " carol"])
def test_another_spelling_of_the_name_shares_the_accounts_counter(carol, variant):
    assert logged_in(log_in(variant, PASSWORD)), "Django logs this spelling in as carol"
    spellings = ["carol", "ｃarol", "𝐜arol", "CAROL", "Carol"]
    for attempt in range(LIMIT):
        response = log_in(spellings[attempt % len(spellings)], "wrong")
        assert response.status_code == (429 if attempt == LIMIT - 1 else 200)
    refused = log_in(variant, PASSWORD)
    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    assert not logged_in(refused)


@pytest.mark.django_db
def test_the_admin_log_in_is_limited_and_shares_the_sites_counter(carol):
    for attempt in range(LIMIT - 1):
        path = "/admin/login/" if attempt % 2 else "/accounts/login/"
        assert log_in("carol", "wrong", path=path).status_code == 200
    assert log_in("carol", "wrong", path="/admin/login/").status_code == 429
    for path in ("/admin/login/", "/accounts/login/"):
        refused = log_in("carol", PASSWORD, path=path)
        assert refused.status_code == 429 and not logged_in(refused), path
    assert logged_in(log_in("carol", PASSWORD, address="198.51.100.7", path="/admin/login/?next=/admin/"))


@pytest.mark.django_db
def test_behind_a_trusted_proxy_one_clients_failures_lock_only_that_client(carol, settings):
    settings.SKYBEAT_TRUSTED_PROXIES = 1
    proxy = "10.0.0.1"  # every request arrives from the reverse proxy, which appends the client's address

    def through_proxy(password: str, forwarded: str):
        return log_in("carol", password, address=proxy, HTTP_X_FORWARDED_FOR=forwarded)

    for _ in range(LIMIT):
        through_proxy("wrong", "203.0.113.5")
    assert through_proxy(PASSWORD, "203.0.113.5").status_code == 429
    # What the attacker writes into the header itself, left of the proxy's entry, changes nothing.
    assert through_proxy(PASSWORD, "198.51.100.7, 203.0.113.5").status_code == 429
    # Carol, from her own address behind the same proxy, logs in.
    assert logged_in(through_proxy(PASSWORD, "198.51.100.7"))


@pytest.mark.django_db
def test_without_trusted_proxies_a_forged_header_changes_nothing(carol):
    for n in range(LIMIT):
        log_in("carol", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert log_in("carol", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


@pytest.mark.django_db
def test_one_ipv6_subscriber_is_one_client(carol):
    for n in range(LIMIT):
        log_in("carol", "wrong", address=f"2001:db8:1:2::{n + 1:x}")
    assert log_in("carol", PASSWORD, address="2001:db8:1:2:ffff::9").status_code == 429
    assert logged_in(log_in("carol", PASSWORD, address="2001:db8:1:3::1"))


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "client"), [
    (0, "192.0.2.1", "203.0.113.5", "192.0.2.1"),
    (1, "10.0.0.1", "203.0.113.5", "203.0.113.5"),
    (1, "10.0.0.1", "1.1.1.1, 203.0.113.5", "203.0.113.5"),
    (2, "10.0.0.1", "1.1.1.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
    (1, "10.0.0.1", "", "10.0.0.1"),
    (1, "10.0.0.1", "not an address", "10.0.0.1"),
    (0, "::ffff:192.0.2.1", "", "192.0.2.1"),
    (0, "2001:db8::1", "", "2001:db8::/64"),
])
def test_client_address(rf, settings, proxies, remote, forwarded, client):
    settings.SKYBEAT_TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR=remote, **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}))
    assert client_address(request) == client


@pytest.mark.django_db
def test_a_log_in_path_outside_django_auth_counts_with_the_service_functions(carol, rf):
    """What the Subsonic API does with its own password checks: the same counter as the site's log-in page."""
    request = rf.get("/rest/ping", REMOTE_ADDR="192.0.2.10")
    for _ in range(LIMIT - 1):
        record_login_failure(request, "Carol")
    assert not login_locked(request, "carol")
    assert log_in("ｃarol", "wrong").status_code == 429  # the fifth failure, on the site
    assert login_locked(rf.get("/rest/ping", REMOTE_ADDR="192.0.2.10"), "CAROL")
    assert not login_locked(rf.get("/rest/ping", REMOTE_ADDR="198.51.100.7"), "carol")
    record_login_success(rf.get("/rest/ping", REMOTE_ADDR="192.0.2.10"), "carol")
    assert not login_locked(rf.get("/rest/ping", REMOTE_ADDR="192.0.2.10"), "carol")
    assert logged_in(log_in("carol", PASSWORD))


@pytest.mark.django_db
def test_sign_ups_are_limited_per_address(django_user_model, settings):
    settings.SKYBEAT_TRUSTED_PROXIES = 1

    def sign_up(name: str, client_ip: str):
        return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=client_ip).post(
            "/accounts/signup/", {"username": name, "password1": PASSWORD, "password2": PASSWORD})

    for n in range(settings.SKYBEAT_SIGNUPS_PER_HOUR):
        assert sign_up(f"flood{n}", "203.0.113.5").status_code == 302
    refused = sign_up("flood-extra", "203.0.113.5")
    assert refused.status_code == 429 and "Too many accounts were created from your address" in refused.content.decode()
    assert not django_user_model.objects.filter(username="flood-extra").exists()
    assert sign_up("neighbour", "198.51.100.7").status_code == 302  # another client behind the same proxy


# --- Two web servers, one Redis -----------------------------------------------------------------------------------

def session_log_in(base_url: str, password: str) -> requests.Response:
    """Log in as a browser does: fetch the form (CSRF cookie and token), post it."""
    session = requests.Session()
    form = session.get(f"{base_url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    return session.post(f"{base_url}/accounts/login/", timeout=30, allow_redirects=False,
                        data={"username": "carol", "password": password, "csrfmiddlewaretoken": token},
                        headers={"Referer": f"{base_url}/accounts/login/"})


@pytest.mark.django_db(transaction=True)
def test_web_servers_sharing_a_redis_cache_share_the_counter(carol, tmp_path):
    cache = PrivateRedis(tmp_path)
    cache.start()
    try:
        with web_servers.gunicorn(tmp_path / "a", CACHE_URL=cache.url) as first, \
                web_servers.gunicorn(tmp_path / "b", CACHE_URL=cache.url) as second:
            for attempt in range(LIMIT - 1):
                assert session_log_in(first if attempt % 2 else second, "wrong").status_code == 200
            assert session_log_in(first, "wrong").status_code == 429
            refused = session_log_in(second, PASSWORD)
            assert refused.status_code == 429 and LOCKED in refused.text
    finally:
        cache.stop()
