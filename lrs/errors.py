"""The XapiError family: every rule violation maps to one status and one JSON error body."""

from __future__ import annotations


class XapiError(Exception):
    """An error the client caused or must know about; rendered as JSON with its status."""

    status = 400

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def __reduce__(self) -> tuple[type[XapiError], tuple[str, list[str]]]:
        # Refusals cross from the writer process to the workers (lrs.ops.writer) whole.
        return (type(self), (self.message, self.errors))

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"error": type(self).__name__, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class BadRequest(XapiError):
    status = 400


class Unauthorized(XapiError):
    status = 401


class Forbidden(XapiError):
    status = 403


class NotFound(XapiError):
    status = 404


class MethodNotAllowed(XapiError):
    status = 405


class Conflict(XapiError):
    status = 409


class PreconditionFailed(XapiError):
    status = 412


class PayloadTooLarge(XapiError):
    status = 413


class UnsupportedMediaType(XapiError):
    status = 415


class ServiceUnavailable(XapiError):
    status = 503


def invalid(errors: list[str]) -> BadRequest:
    """A 400 whose message is the first problem and whose body lists them all."""
    first = errors[0] if errors else "invalid request"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return BadRequest(first + more, errors)
