"""The bare framework's one hop, the ceiling the lab's pipeline is measured against: a Starlette app on uvicorn
(the lab's server stack, same interpreter and libraries) that answers the lab's item with the lab's JSON reply, and
does nothing else. Run by bench/one_hop.py: python -m bench.bare_server PORT"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def process(request: Request) -> Response:
    item = json.loads(await request.body())
    reply = {"status": "processed", "id": item["id"], "processing_time_ms": 0.0}
    return Response(json.dumps(reply), media_type="application/json")


app = Starlette(routes=[Route("/process", process, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
