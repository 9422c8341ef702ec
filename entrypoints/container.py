"""The container: every use case the entrypoints drive, and what the process must close.

Built by the composition root (``bootstrap.py``); the HTTP app hands each controller
only its part of it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.catalogue_loader import SqlCatalogueLoader
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
from application.logins import LogOut, PurgeRefreshTokens, RefreshSession
from application.notifications import CountOutboxMessages, DeliverOutbox, PurgeOutbox
from application.order_listing import ListOrders
from application.orders import CancelOrder, GetOrder, PlaceOrder
from application.password_reset import ForgotPassword, ResetPassword
from application.ports.accounts import PasswordHasher, TokenService
from application.ports.common import Clock, UnitOfWorkFactory
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
from entrypoints.infrastructure import (
    Closer,
    ReadinessChecks,
)
from entrypoints.maintenance import PeriodicPurge
from entrypoints.outbox_dispatcher import OutboxDispatcher
from entrypoints.settings import Settings
from entrypoints.shutdown import background_stop_seconds

if TYPE_CHECKING:
    from adapters.sql.connection_gate import ConnectionGate


logger = logging.getLogger(__name__)


REFRESH_TOKEN_PURGE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    """Everything the entrypoints drive: use cases, and what the process must close."""

    settings: Settings
    tokens: TokenService
    hasher: PasswordHasher
    clock: Clock
    uow: UnitOfWorkFactory
    engine: AsyncEngine | None
    readiness: ReadinessChecks

    register_user: RegisterUser
    log_in: LogIn
    refresh_session: RefreshSession
    log_out: LogOut
    log_out_everywhere: LogOutEverywhere
    authenticate: Authenticate
    purge_refresh_tokens: PurgeRefreshTokens
    list_sessions: ListSessions
    erase_account: EraseAccount
    end_session: EndSession

    verify_email: VerifyEmail
    resend_verification: ResendVerification
    forgot_password: ForgotPassword
    reset_password: ResetPassword
    purge_email_tokens: PurgeEmailTokens

    update_profile: UpdateProfile
    get_user_stats: GetUserStats
    list_users: ListUsers
    get_user: GetUser
    admin_update_user: AdminUpdateUser
    deactivate_user: DeactivateUser
    create_superuser: CreateSuperuser

    create_product: CreateProduct
    replace_product: ReplaceProduct
    update_product: UpdateProduct
    delete_product: DeleteProduct
    get_product: GetProduct
    get_product_by_slug: GetProductBySlug
    list_products: ListProducts

    place_order: PlaceOrder
    cancel_order: CancelOrder
    list_orders: ListOrders
    get_order: GetOrder

    deliver_outbox: DeliverOutbox
    purge_outbox: PurgeOutbox
    count_outbox: CountOutboxMessages

    closers: tuple[Closer, ...] = field(default=())

    def refresh_token_purge(self, every: float = REFRESH_TOKEN_PURGE_SECONDS) -> PeriodicPurge:
        """A background purge of dead refresh and e-mail tokens (started by its owner)."""

        async def purge_tokens() -> int:
            return (
                await self.purge_refresh_tokens.execute() + await self.purge_email_tokens.execute()
            )

        return PeriodicPurge(purge_tokens, what="dead refresh and e-mail tokens", every=every)

    def catalogue_loader(self) -> SqlCatalogueLoader:
        """Bulk-loads new products (demo data, benchmarks); needs a database."""
        if self.engine is None:
            raise RuntimeError("bulk loading needs a database engine")
        return SqlCatalogueLoader(self.engine)

    def connection_gate(self) -> ConnectionGate | None:
        """The gate in front of the database pool, when there is a bounded one."""
        if self.engine is None:
            return None
        from adapters.sql.connection_gate import connection_gate

        return connection_gate(self.engine)

    def outbox_dispatcher(self) -> OutboxDispatcher:
        """A dispatcher delivering this container's outbox (started by its owner)."""
        return OutboxDispatcher(
            self.deliver_outbox,
            self.purge_outbox,
            stop_timeout=background_stop_seconds(self.settings.shutdown_timeout_seconds),
        )

    async def close(self) -> None:
        """Release pools and connections (the app's lifespan calls this on shutdown)."""
        for closer in self.closers:
            try:
                await closer()
            except Exception:
                logger.exception("Error while closing a resource")
