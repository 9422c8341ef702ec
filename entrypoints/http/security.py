"""Bearer authentication at the edge, the superuser guard, and the client's address.

Litestar's ``OAuth2PasswordBearerAuth`` gives the OpenAPI password flow (the
"Authorize" button posts to the login endpoint); its middleware is replaced by
one that hands the raw token to the ``Authenticate`` use case, which verifies it
with the project's ``TokenService`` (issuer, audience, token type, key rotation)
and loads the user: one lookup per authenticated request.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware.authentication import AuthenticationResult
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.security.jwt import JWTCookieAuthenticationMiddleware, OAuth2PasswordBearerAuth

from domain.users import User

if TYPE_CHECKING:
    from litestar.handlers.base import BaseRouteHandler

    from entrypoints.settings import TrustedNetwork

AuthenticatedRequest = Request[User, str, Any]
"""A request that passed bearer authentication: ``request.user`` is the caller."""

SECURITY_SCHEME_NAME = "OAuth2PasswordBearer"
PUBLIC = {"exclude_from_auth": True}
"""Route ``opt`` of endpoints anyone may call."""
PUBLIC_SECURITY: list[dict[str, list[str]]] = [{}]
"""OpenAPI ``security`` of a public operation: no credentials needed."""

_AUTHORIZATION = b"authorization"


class BearerTokenMiddleware(JWTCookieAuthenticationMiddleware):
    """Reads ``Authorization: Bearer <token>`` and asks the use case who it is.

    The token is not decoded here: ``retrieve_user_handler`` (the ``Authenticate``
    use case) verifies it, so one implementation of tokens serves HTTP and tests.
    """

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header: bytes | None = None
        for name, value in connection.scope["headers"]:
            if name == _AUTHORIZATION:
                header = value
                break
        if not header:
            raise NotAuthorizedException("Not authenticated: send Authorization: Bearer <token>")
        scheme, _, token = header.decode("latin-1").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException("Malformed Authorization header: expected Bearer <token>")
        user = await self.retrieve_user_handler(token, connection)  # type: ignore[arg-type]
        return AuthenticationResult(user=user, auth=token)


class PasswordFlowBearerAuth(OAuth2PasswordBearerAuth[User, Any]):
    """Litestar's OAuth2 password bearer config with a security scheme valid in OpenAPI 3.1.

    Litestar's own scheme omits the flow's ``scopes`` map (required by OpenAPI) and mixes
    in the ``name``, ``in``, ``scheme`` and ``bearerFormat`` of other scheme types: strict
    validators and client generators (openapi-python-client) refuse the whole document.
    """

    @property
    def openapi_components(self) -> Components:
        flow = OAuthFlow(token_url=self.token_url, scopes={})
        scheme = SecurityScheme(
            type="oauth2", flows=OAuthFlows(password=flow), description=self.description
        )
        return Components(security_schemes={self.openapi_security_scheme_name: scheme})


def bearer_auth(
    authenticate: Callable[[str], Awaitable[User]],
    *,
    token_url: str,
    secret_key: str,
    exclude: list[str] | None = None,
) -> PasswordFlowBearerAuth:
    """The app's security config; ``authenticate`` raises ``InvalidCredentials`` (401)."""

    async def retrieve_user(token: str, connection: ASGIConnection[Any, Any, Any, Any]) -> User:
        return await authenticate(token)

    return PasswordFlowBearerAuth(
        token_url=token_url,
        # Unused (our middleware does not decode tokens itself) but required by Litestar.
        token_secret=secret_key,
        retrieve_user_handler=retrieve_user,
        authentication_middleware_class=BearerTokenMiddleware,
        # HEAD must not slip past authentication; CORS preflights (OPTIONS) carry no token.
        exclude_http_methods=["OPTIONS"],
        exclude=exclude,
        openapi_security_scheme_name=SECURITY_SCHEME_NAME,
        description="Log in with e-mail (as username) and password to get a bearer access token.",
    )


def superuser_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: 403 unless the authenticated user is a superuser.

    OPTIONS requests (answered by Litestar, carrying no token) are let through.
    """
    if connection.scope.get("method") == "OPTIONS":
        return
    user = connection.scope.get("user")
    if not isinstance(user, User) or not user.is_superuser:
        raise PermissionDeniedException("Superuser privileges are required")


@functools.lru_cache(maxsize=8)
def trusted_networks(entries: tuple[str, ...]) -> tuple[TrustedNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_address(scope: Any, trusted_proxies: tuple[str, ...]) -> str | None:
    """The client's IP address; ``X-Forwarded-For`` counts only when sent by a trusted proxy.

    The header is read right to left, skipping trusted proxies: the first other
    address is the one that reached our outermost proxy, which a client cannot forge.
    """
    client = scope.get("client")
    peer: str | None = client[0] if client else None
    if not trusted_proxies:
        return peer
    trusted = trusted_networks(trusted_proxies)
    if peer is None or not _is_trusted(peer, trusted):
        return peer
    forwarded: list[str] = []
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            forwarded.extend(part.strip() for part in value.decode("latin-1").split(","))
    for address in reversed(forwarded):
        if not address:
            continue
        if not _is_trusted(address, trusted):
            return address if _is_ip(address) else peer
    return peer


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: Sequence[TrustedNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
