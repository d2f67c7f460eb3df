"""The remote sources of one shop's signals: the profile/CRM service, the basket service, declared ``url``s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from smalldata.remote import RemoteSource
from smalldata.signals.declared import URL_KEY, NamespaceSettings

if TYPE_CHECKING:
    from smalldata.signals.config import BasketSettings, UserSettings

__all__ = ["Sources"]


@dataclass
class Sources:
    """The remote sources configured in settings, shared by every request of one app."""

    profile: RemoteSource | None = None
    basket: RemoteSource | None = None
    declared: dict[str, RemoteSource] = field(default_factory=dict)  # by namespace (``signals:`` with a url)

    @classmethod
    def configured(cls, user: UserSettings, basket: BasketSettings,
                   declared: Mapping[str, NamespaceSettings]) -> Sources:
        """A source per configured URL (``user.profile_url``, ``basket.service_url``, ``signals.*.url``)."""
        return cls(
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
        """Make the HTTP clients (at application start-up, so no visitor waits for it)."""
        for source in self.all:
            await source.start()

    async def aclose(self) -> None:
        """Close the HTTP clients (on application shutdown)."""
        for source in self.all:
            await source.aclose()
