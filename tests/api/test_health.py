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


async def test_health_answers_head_probes(client: httpx.AsyncClient) -> None:
    response = await client.head("/health")

    assert response.status_code == 200
    assert response.content == b""


async def test_index_points_to_the_docs_and_the_health_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert response.json()["docs"] == "/docs"
    assert (await client.get(response.json()["docs"])).status_code == 200
    assert (await client.get(response.json()["health"])).status_code == 200
