"""Structured tool results: every tool answers JSON, success or refusal, and never raises."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

log = logging.getLogger(__name__)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def ok(**data: Any) -> str:
    return json.dumps({"status": "ok", **data}, default=_json_default)


def refused(error: str, message: str, **data: Any) -> str:
    """A refusal the model must explain: ``error`` is a stable code, ``message`` the rule."""
    return json.dumps(
        {"status": "refused", "error": error, "message": message, **data}, default=_json_default
    )


def safe_tool(fn: Callable[..., str]) -> Callable[..., str]:
    """Turn any unexpected exception into a structured error (tools never raise)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        try:
            return fn(*args, **kwargs)
        except Exception:
            log.exception("tool %s failed", fn.__name__)
            return json.dumps(
                {
                    "status": "error",
                    "error": "internal_error",
                    "message": "That could not be done right now.",
                }
            )

    return wrapper
