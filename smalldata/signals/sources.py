"""The sources of one shop's signals shared by its requests: the profile/CRM service, the basket service,
declared ``url``s, and the threads the shop's own functions run in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from smalldata.foundation.guest import GuestPool
from smalldata.foundation.remote import RemoteSource
from smalldata.signals.declared import URL_KEY, NamespaceSettings

if TYPE_CHECKING:
    from smalldata.signals.config import BasketSettings, UserSettings

__all__ = ["Sources"]


@dataclass
class Sources:
    """The remote sources configured in settings, shared by every request of one app, and ``pool``:
    the threads of the shop's own functions (:mod:`smalldata.foundation.guest`)."""

    profile: RemoteSource | None = None
    basket: RemoteSource | None = None
    declared: dict[str, RemoteSource] = field(default_factory=dict)  # by namespace (``signals:`` with a url)
    pool: GuestPool = field(default_factory=GuestPool)

    @classmethod
    def configured(cls, user: UserSettings, basket: BasketSettings,
                   declared: Mapping[str, NamespaceSettings], *, threads: int = 4) -> Sources:
        """A source per configured URL (``user.profile_url``, ``basket.service_url``, ``signals.*.url``),
        and ``threads`` for the shop's functions (``shop_code.threads``)."""
        return cls(
            pool=GuestPool(threads),
            profile=RemoteSource("profile", user.profile_url, user) if user.profile_url else None,
            basket=RemoteSource("basket", basket.service_url, basket) if basket.service_url else None,
            declared={
                namespace: RemoteSource(namespace, namespace_settings.url.replace(URL_KEY, "{id}"), namespace_settings)
                for namespace, namespace_settings in declared.items() if namespace_settings.url
            },
        )

    @property
    def all(self) -> list[RemoteSource]:
        return [source for source in (self.profile, self.basket, *self.declared.values()) if source is not None]

    async def start(self) -> None:
        """Make the HTTP clients (at application start-up, so no visitor waits for it); take the shop's calls."""
        self.pool.open()
        for source in self.all:
            await source.start()

    async def aclose(self) -> None:
        """Close the HTTP clients and the shop's threads (on application shutdown)."""
        self.pool.close()
        for source in self.all:
            await source.aclose()
