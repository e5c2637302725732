"""/metrics: the service's figures for Prometheus, added up across worker processes. Needs a key
with the metrics scope (it shows every project's traffic together); not in the public schema."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.api.deps import RequireScope
from app.observability import metrics
from app.services.access.keys import Caller, Scope

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics_exposition(
    caller: Annotated[Caller, Depends(RequireScope(Scope.METRICS))],
) -> Response:
    # This worker's latest requests first; the others write theirs every second.
    metrics.request_series.flush()
    body = await asyncio.to_thread(metrics.exposition)
    return Response(content=body, media_type=metrics.EXPOSITION_CONTENT_TYPE)
