"""The kit's APIRoute: refuses request bodies in a media type the route cannot read (415)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi import params as fastapi_params
from fastapi.routing import APIRoute
from pydantic import BaseModel

from rapport.errors import UnsupportedMediaType


def is_json_media_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def model_response(model: BaseModel, *, headers: Mapping[str, str] | None = None) -> Response:
    """`model` as an application/json response, serialised once. A hot route returns this to skip FastAPI's
    second validation of its answer against `response_model` (which stays, for the OpenAPI document)."""
    return Response(model.model_dump_json(by_alias=True), media_type="application/json", headers=headers)


class KitRoute(APIRoute):
    """Routes with a JSON body answer 415 problem+json to any other media type.

    FastAPI alone treats a non-JSON body as raw bytes and fails later with a confusing 422.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        body_field = self.body_field
        if body_field is None or isinstance(body_field.field_info, fastapi_params.Form):
            return handler

        async def json_only_handler(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
            if has_body and not is_json_media_type(content_type):
                raise UnsupportedMediaType(
                    f"This route reads application/json; got {content_type or 'no Content-Type'}.",
                    headers={"Accept": "application/json"},
                )
            return await handler(request)

        return json_only_handler
