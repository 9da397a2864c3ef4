"""Internal service authentication: every `/v1` call between Rapport processes carries the token.

End-user API keys and roles live in the gateway; services trust only the gateway and each other.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request
from pydantic import SecretStr

from rapport.errors import Unauthorized

SERVICE_TOKEN_HEADER = "X-Service-Token"


def token_matches(presented: str | None, expected: SecretStr) -> bool:
    """Constant-time comparison, so the token cannot be guessed byte by byte from timings."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.get_secret_value().encode())


async def require_service_token(
    request: Request,
    x_service_token: Annotated[str | None, Header(alias=SERVICE_TOKEN_HEADER)] = None,
) -> None:
    """FastAPI dependency: 401 problem+json unless the caller presents the internal token."""
    expected: SecretStr = request.app.state.settings.service_token
    if not token_matches(x_service_token, expected):
        raise Unauthorized(
            f"This route is internal: send the service token in the {SERVICE_TOKEN_HEADER} header.",
            headers={"WWW-Authenticate": f'Token header="{SERVICE_TOKEN_HEADER}"'},
        )


ServiceAuth = Depends(require_service_token)
