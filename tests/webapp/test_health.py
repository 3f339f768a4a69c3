from webapp import create_app


def test_healthz_reports_postgis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["postgis"].startswith("3.")


def test_healthz_is_503_without_a_database(tmp_path):
    url = f"postgresql+psycopg://nobody@/nowhere?host={tmp_path}&port=1"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url, "DB_CONNECT_TIMEOUT": 1})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
