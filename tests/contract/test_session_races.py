"""Ending a login while it is being refreshed, on every store (separate connections on
PostgreSQL): whichever comes first, the login ends and no token of it refreshes again."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.logins import RefreshCommand, RefreshSession, SessionIssuer, TokenPair
from application.ports.common import UnitOfWorkFactory
from application.sessions import ClientInfo, EndSession, ListSessions
from domain.errors import InvalidCredentials
from tests.contract.test_concurrent_writes import add_account, shuffled
from tests.unit.doubles import LookupTokens, SteppingClock

ROUNDS = 12


async def test_a_login_ended_while_it_refreshes_never_refreshes_again(
    uow_factory: UnitOfWorkFactory,
) -> None:
    clock = SteppingClock()
    tokens = LookupTokens()
    issuer = SessionIssuer(tokens, clock, timedelta(days=14))
    refresh = RefreshSession(uow_factory, issuer, clock)
    end = EndSession(uow_factory, clock)
    user = await add_account(uow_factory, "ann@example.com")

    for round_ in range(ROUNDS):
        async with uow_factory() as uow:
            pair = await issuer.start(uow, user, ClientInfo(address="192.0.2.1"))
            await uow.commit()
        session_id = tokens.read_access_token(pair.access_token).session_id
        assert session_id is not None

        results = await shuffled(
            end.execute(user.id, session_id),
            refresh.execute(RefreshCommand(pair.refresh_token)),
            seed=round_,
        )

        assert None in results, results  # the ending always succeeds
        results.remove(None)
        (refreshed,) = results
        if isinstance(refreshed, TokenPair):
            with pytest.raises(InvalidCredentials):
                await refresh.execute(RefreshCommand(refreshed.refresh_token))
        else:
            assert isinstance(refreshed, InvalidCredentials), refreshed
        with pytest.raises(InvalidCredentials):
            await refresh.execute(RefreshCommand(pair.refresh_token))

    listed = await ListSessions(uow_factory, tokens, clock).execute(user.id, "none")
    assert listed == []
