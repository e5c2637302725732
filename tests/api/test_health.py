import httpx


async def test_health_reports_a_connected_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"] == "connected"
    assert body["environment"] == "test"
    assert set(body) >= {"status", "timestamp", "environment", "database", "version", "uptime"}
    assert body["timestamp"].endswith("+00:00")
