"""RFC 9457 problem+json errors: typed exceptions for domain and store code, one renderer for all.

Domain and store code raise `NotFound`, `Conflict`, `Invalid`, ...; `install_error_handlers` turns
those, FastAPI's validation errors and Starlette's HTTP errors into `application/problem+json`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:rapport:problem:"

log = logging.getLogger("rapport.errors")


class ProblemError(Exception):
    """Base of all errors rendered as problem+json. Subclasses fix the status and slug."""

    status: int = 500
    slug: str = "internal-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers
        self.extensions = extensions


class BadRequest(ProblemError):
    status, slug = 400, "bad-request"


class Unauthorized(ProblemError):
    status, slug = 401, "unauthorized"


class Forbidden(ProblemError):
    status, slug = 403, "forbidden"


class NotFound(ProblemError):
    status, slug = 404, "not-found"


class Conflict(ProblemError):
    status, slug = 409, "conflict"


class Gone(ProblemError):
    status, slug = 410, "gone"


class PreconditionFailed(ProblemError):
    status, slug = 412, "precondition-failed"


class PayloadTooLarge(ProblemError):
    status, slug = 413, "payload-too-large"


class UnsupportedMediaType(ProblemError):
    status, slug = 415, "unsupported-media-type"


class Invalid(ProblemError):
    status, slug = 422, "validation-error"


class PreconditionRequired(ProblemError):
    status, slug = 428, "precondition-required"


class TooManyRequests(ProblemError):
    status, slug = 429, "rate-limited"


class ServiceUnavailable(ProblemError):
    status, slug = 503, "service-unavailable"


_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    412: "precondition-failed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    428: "precondition-required",
    429: "rate-limited",
    500: "internal-error",
    503: "service-unavailable",
}


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str,
    slug: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> JSONResponse:
    """Build an `application/problem+json` response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or _SLUGS.get(status, "error")),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extensions:
        body.update(extensions)
    return JSONResponse(
        body, status_code=status, headers=dict(headers) if headers else None, media_type=PROBLEM_MEDIA_TYPE
    )


def _loc(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI error dicts -> `[{loc, msg, type}]` with a dotted loc."""
    return [{"loc": _loc(err.get("loc", ())), "msg": str(err.get("msg")), "type": err.get("type")} for err in raw]


def _validation_detail(raw: Sequence[Any]) -> str:
    for err in raw:
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            position = err.get("loc", ("body", "?"))[-1]
            return f"The request body is not valid JSON ({reason} at character {position}); send a JSON document."
    first = raw[0] if raw else {}
    more = f" (and {len(raw) - 1} more)" if len(raw) > 1 else ""
    return f"Invalid request: {_loc(first.get('loc', ()))}: {first.get('msg', 'invalid')}{more}. See errors[]."


async def _problem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.status,
        exc.detail,
        instance=request.url.path,
        slug=exc.slug,
        errors=exc.errors,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    return problem_response(422, _validation_detail(raw), instance=request.url.path, errors=validation_errors(raw))


_HTTP_DETAILS = {
    404: "No resource at this path; see /docs for the routes of this service.",
    405: "This method is not allowed on this path; see the Allow header.",
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    default = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if exc.detail and exc.detail != default else _HTTP_DETAILS.get(exc.status_code, default)
    return problem_response(exc.status_code, str(detail), instance=request.url.path, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # Unique keys are checked before writing; reaching here means a concurrent writer won the race.
    log.warning("integrity error", extra={"path": request.url.path, "error": str(exc).splitlines()[0]})
    return problem_response(
        409, "A concurrent request changed the same records; retry the request.", instance=request.url.path
    )


# PostgreSQL's serialization failure and deadlock: the transaction was rolled back and may simply be retried.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


async def _operational_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OperationalError)
    log.warning("database operational error", extra={"path": request.url.path, "error": str(exc).splitlines()[0]})
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return problem_response(
            409, "A concurrent request changed the same records; retry the request.", instance=request.url.path
        )
    return problem_response(
        503,
        "The database is busy or unavailable; retry shortly.",
        instance=request.url.path,
        headers={"Retry-After": "1"},
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(500, "Internal error; it has been logged.", instance=request.url.path)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error FastAPI can raise as problem+json."""
    app.add_exception_handler(ProblemError, _problem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(Exception, _unhandled)
