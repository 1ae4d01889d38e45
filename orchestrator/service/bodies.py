"""Request bodies, read only after the caller is known and only up to a limit.

FastAPI reads a route's declared body (a pydantic parameter) before it runs
the route's dependencies, so an unauthenticated caller could make the
service hold a body of any size before it answers 401. No route here
declares one: each takes `Request`, lets its permission dependency answer
401/403 first, and then reads the body through `read_body` or `read_json`,
which refuse it (413) from its Content-Length before reading a byte, and
while counting the stream when no length is declared or the length lies.
A refusal before the body is read closes the connection, so the server
does not go on receiving what it refused.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

# The service's default for a submission's body; `commander serve --max-body` changes it.
DEFAULT_MAX_BODY_BYTES = 64 << 20
# A sign-off, a denial or a freeze is a few short fields: nothing needs more.
MAX_JSON_BYTES = 64 << 10
# Tells the server to drop the connection rather than drain a body it refused.
CLOSE = {"Connection": "close"}

M = TypeVar("M", bound=BaseModel)


def declares_body(request: Request) -> bool:
    """Whether the request says a body follows (a length above zero, or chunks)."""
    length = request.headers.get("content-length")
    return bool(length and length != "0") or "transfer-encoding" in request.headers


async def read_body(request: Request, limit: int, *, setting: str = "--max-body") -> bytes:
    """The body, refused with 413 as soon as it is known to be over `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, _too_large(int(declared), limit, setting), CLOSE)
    chunks = bytearray()
    async for chunk in request.stream():
        if len(chunks) + len(chunk) > limit:
            size = len(chunks) + len(chunk)
            raise HTTPException(413, _too_large(size, limit, setting, at_least=True), CLOSE)
        chunks += chunk
    if not chunks:
        raise HTTPException(400, "empty body: send the input file as the request body")
    return bytes(chunks)


async def read_json(request: Request, model: type[M]) -> M:
    """A small JSON body as `model`; a field that does not validate is 422 naming it."""
    body = await read_body(request, MAX_JSON_BYTES, setting="a JSON request's")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise RequestValidationError(errors) from None


def _too_large(size: int, limit: int, setting: str, *, at_least: bool = False) -> str:
    over = "at least " if at_least else ""
    return f"body is {over}{size} bytes, over the limit of {limit} bytes ({setting})"


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI `requestBody` of a route that reads `model` with `read_json`."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }
