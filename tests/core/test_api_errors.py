"""One error shape everywhere under /api/, HTML elsewhere."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_api_path_is_json_404(staff_client):
    response = staff_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_unknown_page_outside_the_api_is_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_bad_cursor_is_a_clear_error(staff_client):
    response = staff_client.get("/api/v1/users/", {"cursor": "garbage"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_unsupported_media_type(staff_client):
    response = staff_client.post("/api/v1/users/", "<x/>", content_type="application/xml")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_docs_and_schema_are_served_offline(client):
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(page).content.decode()
        assert "/static/drf_spectacular_sidecar/" in html
        assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
