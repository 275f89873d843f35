"""Apple-shaped errors: SimError carries one ErrorResponse entry; error_response renders it with its status."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web


class SimError(Exception):
    """An ErrorResponse the simulator answers with (status, code, title, detail, optional source)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        extra: list[SimError] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.pointer = pointer
        self.parameter = parameter
        self.extra = extra or []

    def entry(self) -> dict[str, Any]:
        """One item of `errors[]`; `detail` is always present (Apple's docs mark it required)."""
        item: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": str(self.status),
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.pointer is not None:
            item["source"] = {"pointer": self.pointer}
        elif self.parameter is not None:
            item["source"] = {"parameter": self.parameter}
        return item

    def body(self) -> dict[str, Any]:
        return {"errors": [self.entry()] + [e.entry() for e in self.extra]}


def error_response(err: SimError, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(err.body(), status=err.status, headers=headers)


# Constructors for the errors the simulator raises; titles follow Apple's wording where it is known.


def not_authorized(detail: str) -> SimError:
    return SimError(
        401,
        "NOT_AUTHORIZED",
        "Authentication credentials are missing or invalid.",
        "Provide a properly configured and signed bearer token, and make sure that it has not expired. " + detail,
    )


def rate_limited(detail: str) -> SimError:
    return SimError(429, "RATE_LIMIT_EXCEEDED", "The request rate limit has been reached.", detail)


def not_found(kind_type: str, resource_id: str) -> SimError:
    return SimError(
        404,
        "NOT_FOUND",
        "The specified resource does not exist",
        f"There is no resource of type '{kind_type}' with id '{resource_id}'",
    )


def path_error(path: str) -> SimError:
    return SimError(
        404, "PATH_ERROR", "The URL path is not valid", f"The path provided does not match a defined resource type. ({path})"
    )


def method_not_allowed(method: str, path: str) -> SimError:
    return SimError(
        405,
        "METHOD_NOT_ALLOWED",
        "The request method is not valid for the resource path.",
        f"The request method '{method}' is not valid for the resource path '{path}'.",
    )


def parameter_invalid(parameter: str, detail: str) -> SimError:
    return SimError(400, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value", detail, parameter=parameter)


def entity_invalid(detail: str) -> SimError:
    # Observed in the wild [3P]: 400 ENTITY_INVALID "JSON processing failed" for bodies that are not JSON.
    return SimError(400, "ENTITY_INVALID", "The provided entity is invalid", detail)


def unsupported_media_type(content_type: str) -> SimError:
    return SimError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "The request entity has an unsupported media type.",
        f"Content-Type '{content_type}' is not supported; send 'application/json'.",
    )


def attribute_invalid(pointer: str, detail: str, code: str = "ENTITY_ERROR.ATTRIBUTE.INVALID") -> SimError:
    return SimError(409, code, "The provided entity includes an attribute with an invalid value", detail, pointer=pointer)


def attribute_required(pointer: str, detail: str) -> SimError:
    return SimError(
        409,
        "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
        "The provided entity is missing a required attribute",
        detail,
        pointer=pointer,
    )


def relationship_invalid(pointer: str, detail: str, code: str = "ENTITY_ERROR.RELATIONSHIP.INVALID") -> SimError:
    return SimError(409, code, "The provided entity includes a relationship with an invalid value", detail, pointer=pointer)


def duplicate(pointer: str, detail: str) -> SimError:
    return SimError(
        409,
        "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE",
        "The provided entity includes an attribute with a value that has already been used",
        detail,
        pointer=pointer,
    )


def state_invalid(detail: str, pointer: str | None = None) -> SimError:
    return SimError(
        409,
        "STATE_ERROR.ENTITY_STATE_INVALID",
        "The request cannot be fulfilled because of the state of another resource.",
        detail,
        pointer=pointer,
    )


def server_error(status: int = 500) -> SimError:
    if status == 503:
        return SimError(503, "SERVICE_UNAVAILABLE", "Service Unavailable", "The service is temporarily unavailable.")
    return SimError(status, "UNEXPECTED_ERROR", "An unexpected error occurred.", "An unexpected error occurred on the server side.")
