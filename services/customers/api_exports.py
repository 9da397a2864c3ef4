"""Routes of the customers service: exports (see the module of the same domain for the logic)."""

from __future__ import annotations

from fastapi import APIRouter

from rapport.auth import ServiceAuth
from rapport.routing import KitRoute

router = APIRouter(prefix="/v1", route_class=KitRoute, dependencies=[ServiceAuth], tags=["exports"])
