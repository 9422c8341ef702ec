"""The caller's sessions: one per login, listed and ended one at a time."""

from __future__ import annotations

from litestar import Controller, delete, get
from litestar.params import FromPath

from application.sessions import EndSession, ListSessions
from entrypoints.http.problems import problem_responses
from entrypoints.http.provided import Provided
from entrypoints.http.schemas.sessions import SessionResponse, session_response
from entrypoints.http.security import AuthenticatedRequest


class SessionController(Controller):
    """Logins of the authenticated account; someone else's session is a 404."""

    path = "/api/v1/users/me/sessions"
    tags = ["users"]

    @get(
        "/",
        operation_id="list_my_sessions",
        summary="My active logins, newest first",
        description="One entry per login (refresh-token family) neither ended nor expired. "
        "`current` marks the login the bearer token of this request belongs to.",
        responses=problem_responses(401),
    )
    async def list_sessions(
        self, request: AuthenticatedRequest, list_sessions: Provided[ListSessions]
    ) -> list[SessionResponse]:
        found = await list_sessions.execute(request.user.id, request.auth)
        return [session_response(listed) for listed in found]

    @delete(
        "/{session_id:int}",
        operation_id="end_my_session",
        summary="End one of my logins",
        description="Its refresh token stops working at once; access tokens already issued "
        "for it expire on their own (`POST /auth/logout-all` ends those too).",
        responses=problem_responses(401, 404),
    )
    async def end_session(
        self,
        request: AuthenticatedRequest,
        session_id: FromPath[int],
        end_session: Provided[EndSession],
    ) -> None:
        await end_session.execute(request.user.id, session_id)
