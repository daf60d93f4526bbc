import pytest
from django.test import override_settings

from config.celery_app import app

pytestmark = pytest.mark.django_db


def test_health_reports_database_and_broker(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_503_when_the_broker_is_down(client, monkeypatch):
    # Nothing listens on port 1: connection refused, quickly.  Celery lets the
    # CELERY_BROKER_URL environment variable win over configuration, so set both.
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    with override_settings():
        response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


def test_health_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db import OperationalError

    from core import health

    def broken():
        raise OperationalError("could not connect to server")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["error"].startswith("OperationalError")


def test_health_only_answers_get(client):
    assert client.post("/health/").status_code == 405
