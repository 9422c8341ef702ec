"""The composition root: settings in, adapters chosen, use cases wired.

It fills the :class:`~entrypoints.container.Container` with use cases built on the
adapters ``infrastructure.py`` picks from the settings; with those two, the only module
that names concrete adapters. The production container runs on SQL (``DATABASE_URL``);
tests build the very same use cases on the in-memory adapters through
:func:`build_memory_container`, so both go through :func:`_wire`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import SystemClock
from adapters.passwords import Argon2PasswordHasher
from application.auth import Authenticate, LogIn, LogOutEverywhere, RegisterUser
from application.catalogue import (
    CreateProduct,
    DeleteProduct,
    GetProduct,
    GetProductBySlug,
    ListProducts,
    ReplaceProduct,
    UpdateProduct,
)
from application.email_tokens import PurgeEmailTokens
from application.email_verification import ResendVerification, VerifyEmail
from application.erasure import EraseAccount
from application.logins import LogOut, PurgeRefreshTokens, RefreshSession, SessionIssuer
from application.notifications import CountOutboxMessages, DeliverOutbox, PurgeOutbox
from application.order_listing import ListOrders
from application.orders import CancelOrder, GetOrder, PlaceOrder
from application.password_reset import ForgotPassword, ResetPassword
from application.ports.accounts import LoginThrottle, PasswordHasher, TokenService
from application.ports.common import Clock, UnitOfWorkFactory
from application.ports.notifications import Mailer
from application.sessions import EndSession, ListSessions
from application.users import (
    AdminUpdateUser,
    CreateSuperuser,
    DeactivateUser,
    GetUser,
    GetUserStats,
    ListUsers,
    UpdateProfile,
)
from entrypoints.container import Container
from entrypoints.infrastructure import (
    OUTBOX_BATCH_SIZE,
    SMTP_TIMEOUT_SECONDS,
    Closer,
    ReadinessChecks,
    chosen_mailer,
    closer_for_hasher,
    email_links,
    login_throttle,
    message_domain,
    readiness_checks,
    token_service,
)
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from adapters.memory.store import InMemoryStore
    from entrypoints.tracing import Tracing


async def _always_ready() -> None:
    return None


def _wire(
    settings: Settings,
    *,
    uow: UnitOfWorkFactory,
    hasher: PasswordHasher,
    tokens: TokenService,
    clock: Clock,
    throttle: LoginThrottle,
    mailer: Mailer,
    engine: AsyncEngine | None,
    readiness: ReadinessChecks,
    closers: tuple[Closer, ...],
) -> Container:
    refresh_ttl = timedelta(days=settings.refresh_token_expire_days)
    sessions = SessionIssuer(tokens, clock, refresh_ttl)
    return Container(
        settings=settings,
        tokens=tokens,
        hasher=hasher,
        clock=clock,
        uow=uow,
        engine=engine,
        readiness=readiness,
        closers=closers,
        register_user=RegisterUser(uow, hasher, clock),
        log_in=LogIn(uow, hasher, sessions, throttle, clock),
        refresh_session=RefreshSession(uow, sessions, clock),
        log_out=LogOut(uow, clock),
        log_out_everywhere=LogOutEverywhere(uow, clock),
        authenticate=Authenticate(uow, tokens),
        purge_refresh_tokens=PurgeRefreshTokens(uow, clock),
        verify_email=VerifyEmail(uow, clock),
        resend_verification=ResendVerification(uow, throttle),
        forgot_password=ForgotPassword(uow, throttle),
        reset_password=ResetPassword(uow, hasher, clock, throttle),
        purge_email_tokens=PurgeEmailTokens(uow, clock),
        list_sessions=ListSessions(uow, tokens, clock),
        erase_account=EraseAccount(uow, hasher, clock, throttle),
        end_session=EndSession(uow, clock),
        update_profile=UpdateProfile(uow, hasher, clock, throttle),
        get_user_stats=GetUserStats(uow),
        list_users=ListUsers(uow),
        get_user=GetUser(uow),
        admin_update_user=AdminUpdateUser(uow, clock),
        deactivate_user=DeactivateUser(uow, clock),
        create_superuser=CreateSuperuser(uow, hasher, clock),
        create_product=CreateProduct(uow, clock),
        replace_product=ReplaceProduct(uow, clock),
        update_product=UpdateProduct(uow, clock),
        delete_product=DeleteProduct(uow, clock),
        get_product=GetProduct(uow),
        get_product_by_slug=GetProductBySlug(uow),
        list_products=ListProducts(uow),
        place_order=PlaceOrder(
            uow, clock, require_verified_email=settings.orders_require_verified_email
        ),
        cancel_order=CancelOrder(uow, clock),
        list_orders=ListOrders(uow),
        get_order=GetOrder(uow),
        deliver_outbox=DeliverOutbox(
            uow,
            mailer,
            clock,
            message_domain=message_domain(settings),
            batch_size=OUTBOX_BATCH_SIZE,
            # Longer than a whole batch against a server that hangs until the timeout.
            lease=timedelta(seconds=OUTBOX_BATCH_SIZE * SMTP_TIMEOUT_SECONDS * 2),
            links=email_links(settings),
        ),
        purge_outbox=PurgeOutbox(
            uow, clock, retention=timedelta(days=settings.outbox_retention_days)
        ),
        count_outbox=CountOutboxMessages(uow),
    )


def build_container(
    settings: Settings, *, hasher: PasswordHasher | None = None, tracing: Tracing | None = None
) -> Container:
    """The production wiring: SQL on ``DATABASE_URL``, argon2, JWT, Redis when configured.

    Creating the engine opens no connection; the first request (or the readiness
    check) does.
    """
    from adapters.sql.engine import create_engine_for, ping
    from adapters.sql.unit_of_work import SqlUnitOfWork

    engine = create_engine_for(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pre_ping=settings.database_pool_pre_ping,
        # Reads need no transaction; units of work open one at their first write.
        autocommit=True,
    )
    if tracing is not None:
        tracing.instrument_engine(engine)
    clock = SystemClock()
    hasher = hasher or Argon2PasswordHasher()
    throttle, throttle_closers = login_throttle(settings, clock)

    def unit_of_work() -> SqlUnitOfWork:
        # The outbox is stamped with the same clock the use cases and dispatcher read.
        return SqlUnitOfWork(engine, clock=clock)

    async def database_ready() -> None:
        await ping(engine)

    readiness, readiness_closers = readiness_checks(settings, database_ready)
    return _wire(
        settings,
        uow=unit_of_work,
        hasher=hasher,
        tokens=token_service(settings, clock),
        clock=clock,
        throttle=throttle,
        mailer=tracing.mailer(chosen_mailer(settings)) if tracing else chosen_mailer(settings),
        engine=engine,
        readiness=readiness,
        closers=(
            *throttle_closers,
            *readiness_closers,
            *closer_for_hasher(hasher),
            engine.dispose,
        ),
    )


def build_memory_container(
    settings: Settings,
    *,
    hasher: PasswordHasher | None = None,
    clock: Clock | None = None,
    store: InMemoryStore | None = None,
) -> Container:
    """The same use cases on the in-memory adapters (tests, demos); nothing to connect to.

    Only the login throttle follows the settings: with ``REDIS_URL`` it is the shared
    Redis one, so several in-memory apps can stand for several API processes.
    """
    from adapters.memory.store import InMemoryStore
    from adapters.memory.unit_of_work import InMemoryUnitOfWork

    memory = store if store is not None else InMemoryStore()
    clock = clock or SystemClock()
    hasher = hasher or Argon2PasswordHasher()
    throttle, throttle_closers = login_throttle(settings, clock)
    readiness, readiness_closers = readiness_checks(settings, _always_ready)

    def unit_of_work() -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(memory, clock=clock)

    return _wire(
        settings,
        uow=unit_of_work,
        hasher=hasher,
        tokens=token_service(settings, clock),
        clock=clock,
        throttle=throttle,
        mailer=chosen_mailer(settings),
        engine=None,
        readiness=readiness,
        closers=(*throttle_closers, *readiness_closers, *closer_for_hasher(hasher)),
    )
