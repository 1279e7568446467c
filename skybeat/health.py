"""What /healthz reports: database, broker and classifier model, each with a reason when down."""

import os

from django.conf import settings
from django.db import connection

from classifier.health import active_model_status

from .celery import app as celery_app
from .queue import run_with_watchdog


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down", with its message
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "vendor": connection.vendor}


def broker_status() -> dict:
    """Up when the broker connects and answers within SKYBEAT_BROKER_HEALTH_TIMEOUT, hung or not."""
    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    timeout_s = settings.SKYBEAT_BROKER_HEALTH_TIMEOUT

    def probe() -> None:
        with celery_app.connection_for_write(url, connect_timeout=timeout_s) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout_s)
            if transport == "filesystem":
                folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
                conn.default_channel  # the filesystem transport opens its folders here
                if not os.access(folder, os.W_OK):
                    raise OSError(f"broker folder {folder} is not writable")

    try:
        run_with_watchdog(probe, timeout_s)
    except Exception as exc:
        return {"ok": False, "transport": transport, "error": str(exc)}
    return {"ok": True, "transport": transport}


def health_report() -> dict:
    database = database_status()
    broker = broker_status()
    model = active_model_status() if database["ok"] else {"loaded": False, "error": "database unreachable"}
    return {"ok": database["ok"] and broker["ok"], "database": database, "broker": broker, "model": model}
