from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.memory.store import InMemoryStore
from adapters.memory.unit_of_work import InMemoryUnitOfWork
from application.auth import Authenticate, LogIn, LogInCommand, RegisterCommand, RegisterUser
from application.catalogue import CreateProduct
from application.logins import LogOut, RefreshSession, SessionIssuer, TokenPair
from application.ports.common import UnitOfWork
from domain.products import Product, ProductDetails
from domain.users import User
from tests.unit.doubles import CountingThrottle, LookupTokens, ReversibleHasher, SteppingClock


@dataclass
class World:
    """The use cases wired on the in-memory adapters, as the composition root wires them."""

    store: InMemoryStore
    clock: SteppingClock
    hasher: ReversibleHasher
    tokens: LookupTokens
    throttle: CountingThrottle

    def uow(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self.store)

    @property
    def sessions(self) -> SessionIssuer:
        return SessionIssuer(self.tokens, self.clock, timedelta(days=14))

    async def register(
        self, email: str = "alice@example.com", password: str = "s3cret-pass"
    ) -> User:
        return await RegisterUser(self.uow, self.hasher, self.clock).execute(
            RegisterCommand(email=email, password=password)
        )

    async def log_in(
        self, email: str = "alice@example.com", password: str = "s3cret-pass"
    ) -> TokenPair:
        return await LogIn(self.uow, self.hasher, self.sessions, self.throttle, self.clock).execute(
            LogInCommand(email=email, password=password, client_address="203.0.113.9")
        )

    def refresh(self) -> RefreshSession:
        return RefreshSession(self.uow, self.sessions, self.clock)

    def log_out(self) -> LogOut:
        return LogOut(self.uow, self.clock)

    def authenticate(self) -> Authenticate:
        return Authenticate(self.uow, self.tokens)

    async def product(
        self,
        name: str = "Red Shirt",
        price: str = "19.99",
        stock: int = 10,
        category: str = "shirts",
    ) -> Product:
        return await CreateProduct(self.uow, self.clock).execute(
            ProductDetails.checked(
                name=name,
                description=None,
                price=Decimal(price),
                stock=stock,
                category=category,
                image_url=None,
            )
        )

    async def stock_of(self, product_id: int) -> int:
        async with self.uow() as uow:
            found = await uow.products.get(product_id)
        assert found is not None
        return found.stock


@pytest.fixture
def world() -> World:
    return World(
        store=InMemoryStore(),
        clock=SteppingClock(),
        hasher=ReversibleHasher(),
        tokens=LookupTokens(),
        throttle=CountingThrottle(),
    )
