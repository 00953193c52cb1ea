"""The core's errors as HTTP answers: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from agent.conversation.service import ConversationError
from agent.conversation.state import InvalidTransition
from agent.language.normalize import clean_text

STATUS = {
    "unknown_conversation": 404,
    "unknown_customer": 404,
    "not_yours": 403,
    "not_claimable": 409,
    "not_with_a_person": 409,
    "conversation_closed": 409,
    "invalid_transition": 409,
}


class ApiError(Exception):
    """An HTTP error of the web layer itself (authentication, CSRF, demo-only...)."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code, self.code = status_code, code
        self.headers = headers


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, str(exc)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(ConversationError)
    async def conversation_error(_: Request, exc: ConversationError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, str(exc)), status_code=STATUS.get(exc.code, 422))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the input (a password; text that cannot even be encoded as UTF-8).
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
        message = clean_text(f"{where}: {first.get('msg', 'invalid request')}")[:300]
        return JSONResponse(error_body("invalid_request", message), status_code=422)

    @app.exception_handler(InvalidTransition)
    async def invalid_transition(_: Request, exc: InvalidTransition) -> JSONResponse:
        return JSONResponse(error_body("invalid_transition", str(exc)), status_code=409)
