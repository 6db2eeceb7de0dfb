"""What the workflow needs to know of a shop to remind its party and escalate: a `ShopCard`.

Shops come from the config (small deployments, tests) or from the district register in the store; the
workflow takes a lookup for the latter, so dispatch never imports the register that sits beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from frontage.config import Party, Shop


@dataclass(frozen=True)
class ShopCard:
    id: str
    name: str
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    party_kind: str = "merchant"
    party_name: str = ""
    webhook: str = ""
    mqtt_topic: str = ""
    party_id: str = ""  # the register's responsible party; "" when only the config knows the shop

    @classmethod
    def of(cls, shop: Shop) -> ShopCard:
        party = shop.responsible
        return cls(
            id=shop.id,
            name=shop.name,
            address=shop.address,
            lat=shop.lat,
            lon=shop.lon,
            party_kind=party.kind.value,
            party_name=party.name,
            webhook=party.contact.webhook,
            mqtt_topic=party.contact.mqtt_topic,
        )


ShopLookup = Callable[[str], ShopCard | None]


@dataclass(frozen=True)
class PartyCard:
    """A party a routing rule sends cases to (a bike operator, a delivery company): who is reminded instead of the
    shop's responsible party."""

    id: str
    name: str
    kind: str = ""
    webhook: str = ""
    mqtt_topic: str = ""

    @classmethod
    def of_party(cls, party: Party) -> PartyCard:
        c = party.contact
        return cls(party.id, party.name, party.kind.value, c.webhook, c.mqtt_topic)
