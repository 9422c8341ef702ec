"""Registering, logging in, refreshing, logging out and authenticating."""

from __future__ import annotations

import pytest

from application.logins import LogOutCommand, RefreshCommand, hash_refresh_token
from application.users import (
    AdminUpdateUser,
    AdminUpdateUserCommand,
    DeactivateUser,
    UpdateProfile,
    UpdateProfileCommand,
)
from domain.errors import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    PermissionDenied,
    TooManyAttempts,
)
from domain.events import UserRegistered
from tests.unit.conftest import World


async def test_registering_stores_a_normalised_email_and_a_hash_not_the_password(
    world: World,
) -> None:
    user = await world.register(email="  Alice@Example.COM ", password="s3cret-pass")
    assert user.email == "alice@example.com"
    assert user.hashed_password == "hashed:s3cret-pass"
    assert user.is_active
    assert not user.is_superuser


async def test_registering_records_a_user_registered_event(world: World) -> None:
    user = await world.register()
    assert world.store.events == [UserRegistered(user_id=user.id, email=user.email, full_name=None)]


async def test_registering_a_taken_email_in_another_case_is_a_conflict(world: World) -> None:
    await world.register(email="alice@example.com")
    with pytest.raises(Conflict):
        await world.register(email="ALICE@example.com")


@pytest.mark.parametrize("password", ["short", "x" * 129])
async def test_registering_refuses_passwords_outside_8_to_128_characters(
    world: World, password: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await world.register(password=password)
    assert refused.value.field == "password"


async def test_registering_refuses_a_malformed_email(world: World) -> None:
    with pytest.raises(InvalidInput):
        await world.register(email="not-an-email")


async def test_logging_in_returns_a_bearer_pair_whose_access_token_authenticates(
    world: World,
) -> None:
    user = await world.register()
    pair = await world.log_in()
    assert pair.token_type == "bearer"
    assert pair.expires_in == 900
    assert len(pair.refresh_token) >= 43  # 256 bits, URL-safe base64
    assert (await world.authenticate().execute(pair.access_token)).id == user.id


async def test_refresh_tokens_are_stored_only_as_a_digest(world: World) -> None:
    await world.register()
    pair = await world.log_in()
    assert pair.refresh_token not in world.store.refresh_tokens
    assert hash_refresh_token(pair.refresh_token) in world.store.refresh_tokens


async def test_a_wrong_password_and_an_unknown_email_fail_alike(world: World) -> None:
    await world.register()
    with pytest.raises(InvalidCredentials) as wrong_password:
        await world.log_in(password="wrong-password")
    with pytest.raises(InvalidCredentials) as unknown_email:
        await world.log_in(email="nobody@example.com")
    assert wrong_password.value.detail == unknown_email.value.detail


async def test_an_unknown_email_still_spends_a_password_verification(world: World) -> None:
    with pytest.raises(InvalidCredentials):
        await world.log_in(email="nobody@example.com")
    assert world.hasher.dummy_verifications == 1


async def test_repeated_failures_are_throttled_even_with_the_right_password(world: World) -> None:
    await world.register()
    for _ in range(world.throttle.limit):
        with pytest.raises(InvalidCredentials):
            await world.log_in(password="wrong-password")
    with pytest.raises(TooManyAttempts) as throttled:
        await world.log_in()
    assert throttled.value.retry_after_seconds > 0


async def test_a_successful_login_clears_the_email_failures(world: World) -> None:
    await world.register()
    with pytest.raises(InvalidCredentials):
        await world.log_in(password="wrong-password")
    await world.log_in()
    assert world.throttle.failures["email:alice@example.com"] == 0


async def test_an_inactive_account_cannot_log_in(world: World) -> None:
    user = await world.register()
    await DeactivateUser(world.uow, world.clock).execute(user.id)
    with pytest.raises(PermissionDenied):
        await world.log_in()


async def test_logging_in_upgrades_a_hash_made_with_outdated_parameters(world: World) -> None:
    user = await world.register()
    world.store.users[user.id].hashed_password = "old:s3cret-pass"
    await world.log_in()
    assert world.store.users[user.id].hashed_password == "hashed:s3cret-pass"


async def test_refreshing_spends_the_token_and_issues_a_new_pair(world: World) -> None:
    await world.register()
    first = await world.log_in()
    second = await world.refresh().execute(RefreshCommand(first.refresh_token))
    assert second.refresh_token != first.refresh_token
    third = await world.refresh().execute(RefreshCommand(second.refresh_token))
    assert third.access_token


async def test_presenting_a_spent_refresh_token_revokes_its_whole_family(world: World) -> None:
    await world.register()
    first = await world.log_in()
    second = await world.refresh().execute(RefreshCommand(first.refresh_token))
    with pytest.raises(InvalidCredentials):
        await world.refresh().execute(RefreshCommand(first.refresh_token))
    with pytest.raises(InvalidCredentials):
        await world.refresh().execute(RefreshCommand(second.refresh_token))


async def test_reuse_revokes_only_the_family_of_that_login(world: World) -> None:
    await world.register()
    phone = await world.log_in()
    laptop = await world.log_in()
    await world.refresh().execute(RefreshCommand(phone.refresh_token))
    with pytest.raises(InvalidCredentials):
        await world.refresh().execute(RefreshCommand(phone.refresh_token))
    assert await world.refresh().execute(RefreshCommand(laptop.refresh_token))


async def test_an_expired_refresh_token_is_refused(world: World) -> None:
    await world.register()
    pair = await world.log_in()
    world.clock.advance(days=15)
    with pytest.raises(InvalidCredentials):
        await world.refresh().execute(RefreshCommand(pair.refresh_token))


async def test_an_unknown_refresh_token_is_refused(world: World) -> None:
    with pytest.raises(InvalidCredentials):
        await world.refresh().execute(RefreshCommand("made-up"))


async def test_logging_out_ends_that_logins_refresh_tokens(world: World) -> None:
    user = await world.register()
    pair = await world.log_in()
    await world.log_out().execute(LogOutCommand(user_id=user.id, refresh_token=pair.refresh_token))
    with pytest.raises(InvalidCredentials):
        await world.refresh().execute(RefreshCommand(pair.refresh_token))


async def test_logging_out_with_someone_elses_refresh_token_changes_nothing(world: World) -> None:
    await world.register()
    mallory = await world.register(email="mallory@example.com")
    pair = await world.log_in()
    await world.log_out().execute(
        LogOutCommand(user_id=mallory.id, refresh_token=pair.refresh_token)
    )
    assert await world.refresh().execute(RefreshCommand(pair.refresh_token))


async def test_deactivating_a_user_stops_their_access_tokens_at_once(world: World) -> None:
    user = await world.register()
    pair = await world.log_in()
    await DeactivateUser(world.uow, world.clock).execute(user.id)
    with pytest.raises(InvalidCredentials):
        await world.authenticate().execute(pair.access_token)


async def test_promoting_a_user_stops_their_old_access_tokens(world: World) -> None:
    user = await world.register()
    pair = await world.log_in()
    await AdminUpdateUser(world.uow, world.clock).execute(
        AdminUpdateUserCommand(user_id=user.id, is_superuser=True)
    )
    with pytest.raises(InvalidCredentials):
        await world.authenticate().execute(pair.access_token)


async def test_changing_the_password_needs_the_current_one(world: World) -> None:
    user = await world.register()
    update = UpdateProfile(world.uow, world.hasher, world.clock, world.throttle)
    with pytest.raises(InvalidInput):
        await update.execute(UpdateProfileCommand(user_id=user.id, password="new-password"))
    with pytest.raises(PermissionDenied):
        await update.execute(
            UpdateProfileCommand(
                user_id=user.id, password="new-password", current_password="wrong-password"
            )
        )
    await update.execute(
        UpdateProfileCommand(
            user_id=user.id, password="new-password", current_password="s3cret-pass"
        )
    )
    assert await world.log_in(password="new-password")


async def test_changing_the_password_stops_outstanding_access_tokens(world: World) -> None:
    user = await world.register()
    pair = await world.log_in()
    await UpdateProfile(world.uow, world.hasher, world.clock, world.throttle).execute(
        UpdateProfileCommand(
            user_id=user.id, password="new-password", current_password="s3cret-pass"
        )
    )
    with pytest.raises(InvalidCredentials):
        await world.authenticate().execute(pair.access_token)


async def test_changing_the_name_needs_no_password(world: World) -> None:
    user = await world.register()
    updated = await UpdateProfile(world.uow, world.hasher, world.clock, world.throttle).execute(
        UpdateProfileCommand(user_id=user.id, full_name="Alice Liddell")
    )
    assert updated.full_name == "Alice Liddell"


async def test_changing_the_email_to_a_taken_one_is_a_conflict(world: World) -> None:
    user = await world.register()
    await world.register(email="bob@example.com")
    with pytest.raises(Conflict):
        await UpdateProfile(world.uow, world.hasher, world.clock, world.throttle).execute(
            UpdateProfileCommand(
                user_id=user.id, email="BOB@example.com", current_password="s3cret-pass"
            )
        )
