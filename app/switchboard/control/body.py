"""Reading a control-API request body (shared by ``control/api.py`` and the auth
package's control routes; imports nothing of the engine, so auth may use it)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from switchboard.core.errors import ValidationError


async def read_json(request: Request) -> Any:
    """The JSON body, or ValidationError (a 400 through the control API's error handler)."""
    try:
        return json.loads(await request.body())
    except ValueError:
        raise ValidationError("The request body is not valid JSON.", hint="Send JSON.") from None


__all__ = ["read_json"]
