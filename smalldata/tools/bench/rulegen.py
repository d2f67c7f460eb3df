"""Realistic rulesets of any size, generated from the kinds of rules a merchandiser writes.

Each template is one rule *shape* seen in the shipped ``rules/`` (category banners,
cross-sells, geo and device banners, time-boxed promotions, greetings for returning
and logged-in visitors, campaign landings, basket nudges, chat invitations, tags,
experiments, scheduled rules, named segments), filled with varied signals,
operators, values, slots and priorities drawn from a seeded random generator. The
result is written as YAML and must pass :func:`smalldata.rules.load_ruleset`.

:func:`to_growthbook` translates the same ``when:`` conditions into GrowthBook's
MongoDB-like condition syntax, for the peer comparison.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

CATEGORIES = ("textiles", "kitchen", "coffee", "tableware", "lighting")
PRODUCTS = (
    "throw-wool", "cushion-linen", "blanket-alpaca", "sheepskin", "table-runner", "tea-towels", "throw-cotton",
    "cushion-boucle", "bread-board", "knife-chef", "cast-iron-pan", "mortar", "salad-servers", "butter-dish",
    "apron-linen", "jar-set", "coffee-house", "coffee-espresso", "pour-over", "filters", "french-press",
    "tea-earl-grey", "teapot", "grinder", "mug-hygge", "plate-stoneware", "bowl-nordic", "glass-tumbler",
    "carafe", "espresso-cups", "cutlery-set", "napkins-linen", "candle-pillar", "candle-holder", "lantern",
    "tealights", "lamp-paper", "lamp-table", "candle-scented", "matches",
)  # fmt: skip
COUNTRIES = ("DK", "SE", "NO", "DE", "GB", "NL", "FI", "FR", "US", "PL")
CITIES = ("Copenhagen", "Aarhus", "Odense", "Malmö", "Stockholm", "Oslo", "Berlin", "Hamburg", "London", "Amsterdam")
OSES = ("iOS", "Android", "Windows", "Mac OS X", "Linux", "Chrome OS")
BROWSERS = ("Chrome", "Mobile Safari", "Firefox", "Edge", "Safari", "Samsung Internet", "Chrome Mobile")
SOURCES = ("newsletter", "google", "facebook", "instagram", "pricerunner", "partner")
TIERS = ("basic", "silver", "gold", "platinum")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PAGES = ("/", "/basket", "/checkout", "/pricing", "/faq", "/stores", "/login")
# Slots a real shop has: a hero, per-category and per-page banners, and a handful of special ones.
BANNER_SLOTS = (
    "hero", "basket", "store", "geo", "app", "campaign", "footer", "checkout", "delivery", "season",
    *(f"cat-{c}" for c in CATEGORIES), *(f"promo-{n}" for n in range(12)),
)  # fmt: skip
RECOMMEND_SLOTS = ("recommendations", "also-bought", "for-you", "recently")

Template = Callable[[random.Random, int], dict[str, Any]]


def _text(rng: random.Random, *options: str) -> dict[str, str]:
    line = rng.choice(options)
    return {"da": line, "en": line.replace("Hej", "Hi")}


def _banner(rng: random.Random, slot: str, *options: str) -> dict[str, Any]:
    return {"banner": {"slot": slot, "text": _text(rng, *options)}}


def category_banner(rng: random.Random, n: int) -> dict[str, Any]:
    category = rng.choice(CATEGORIES)
    return {
        "when": {"page.category": category, f"history.category_views.{category}": {"gte": rng.randint(1, 6)}},
        "then": _banner(rng, f"cat-{category}", f"Nyt i {category}", "Udvalgt til dig", f"Mere {category} {n}"),
    }


def cross_sell(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "when": {
            "page.product": {"in": rng.sample(PRODUCTS, rng.randint(2, 6))},
            "basket.skus": {"contains_any": rng.sample(PRODUCTS, rng.randint(1, 4))},
        },
        "then": {
            "recommend": {
                "slot": rng.choice(RECOMMEND_SLOTS),
                "strategy": rng.choice(["complements", "bestsellers", "recently_viewed"]),
                "limit": rng.randint(2, 6),
                "exclude": ["in_basket"],
            }
        },
    }


def geo_banner(rng: random.Random, n: int) -> dict[str, Any]:
    when: dict[str, Any] = {"geo.country": {"in": rng.sample(COUNTRIES, rng.randint(1, 4))}}
    if rng.random() < 0.5:
        when["geo.nearest_store.distance_km"] = {"lte": rng.choice([10, 25, 50, 100])}
        then = _banner(rng, "store", "Besøg {geo.nearest_store.name}", "Din butik: {geo.nearest_store.name}")
    else:
        when["geo.city"] = {"ne": rng.choice(CITIES)}
        then = _banner(rng, "geo", "Levering til {geo.city} i morgen", "Fri fragt til {geo.city}")
    return {"when": when, "then": then}


def device_banner(rng: random.Random, n: int) -> dict[str, Any]:
    when: dict[str, Any] = {"device.type": rng.choice(["mobile", "tablet", "desktop"])}
    if rng.random() < 0.5:
        when["device.os"] = {"in": rng.sample(OSES, 2)}
    else:
        when["device.browser"] = {"starts_with": rng.choice(BROWSERS)[:4]}
    when["device.is_bot"] = False
    return {"when": when, "then": _banner(rng, "app", "Hent vores app", "Handl hurtigere i appen", f"App-tilbud {n}")}


def time_promo(rng: random.Random, n: int) -> dict[str, Any]:
    start = rng.randint(0, 23)
    return {
        "when": {
            "time.hour": {"between": [start, (start + rng.randint(2, 8)) % 24]},
            "time.weekday": rng.sample(WEEKDAYS, rng.randint(1, 5)),
            "page.path": {"starts_with": rng.choice(["/category/", "/products/", "/"])},
        },
        "then": _banner(rng, f"promo-{rng.randrange(12)}", f"Tilbud {n}: 20% på udvalgte varer", "Kun i dag"),
    }


def returning_greeting(rng: random.Random, n: int) -> dict[str, Any]:
    when: dict[str, Any] = {
        "visitor.returning": True,
        "visitor.visits": {"gte": rng.randint(2, 10)},
        "user.logged_in": False,
    }
    if rng.random() < 0.5:
        when["visitor.days_since_last_visit"] = {"gt": rng.choice([1, 7, 14, 30])}
    else:
        when["time.daypart"] = rng.choice(["morning", "afternoon", "evening"])
    greeting = _text(rng, "Velkommen tilbage!", "Godt at se dig igen", f"Hej igen {n}")
    return {"when": when, "then": {"greeting": greeting}}


def member_greeting(rng: random.Random, n: int) -> dict[str, Any]:
    when: dict[str, Any] = {"user.logged_in": True, "user.tier": {"in": rng.sample(TIERS, rng.randint(1, 3))}}
    if rng.random() < 0.4:
        when["user.orders"] = {"gte": rng.randint(1, 10)}
    return {
        "when": when,
        "then": {
            "greeting": _text(rng, "Hej {user.first_name}", "Hej {user.first_name}, tak for sidst"),
            "prefill": {"form": "checkout", "fields": {"email": "{user.email}", "name": "{user.name}"}},
        },
    }


def campaign_landing(rng: random.Random, n: int) -> dict[str, Any]:
    when: dict[str, Any] = {"campaign.source": rng.choice(SOURCES)}
    if rng.random() < 0.5:
        when["campaign.medium"] = {"in": ["email", "cpc", "social"]}
    else:
        when["campaign.name"] = {"matches": rf"^(spring|summer|autumn|winter)-{rng.randint(2024, 2027)}"}
    return {"when": when, "then": _banner(rng, "campaign", f"Velkommen fra kampagne {n}", "Din rabatkode: HYGGE")}


def basket_nudge(rng: random.Random, n: int) -> dict[str, Any]:
    low = rng.choice([0, 100, 200, 300])
    return {
        "when": {
            "basket.empty": False,
            "basket.total": {"between": [low, low + rng.choice([100, 200, 400])]},
            "basket.count": {"gte": rng.randint(1, 3)},
        },
        "then": _banner(rng, "basket", "Kun {basket.free_shipping_gap} kr. til fri fragt", f"Kurv-tip {n}"),
    }


def chat_invite(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "when": {
            "page.path": {"matches": rf"^/({rng.choice(['products', 'category', 'checkout', 'pricing'])})/?"},
            "visitor.pageviews": {"gte": rng.randint(2, 8)},
            "time.open": True,
        },
        "then": {
            "chat": {
                "after_seconds": rng.choice([10, 20, 30, 60]),
                "message": _text(rng, "Kan vi hjælpe?", "Spørgsmål? Skriv til os"),
                "department": rng.choice(["sales", "support"]),
            }
        },
        "cap": {"max": rng.randint(1, 3), "per": rng.choice(["visit", "day", "week"])},
    }


def international(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "when": {
            "any": [
                {"geo.eu": False},
                {"not": {"page.language": "da"}},
                {"geo.continent": {"ne": "EU"}},
            ],
            "consent.personalisation": True,
        },
        "then": _banner(rng, "delivery", "We ship worldwide", f"International delivery {n}"),
    }


def interest_tag(rng: random.Random, n: int) -> dict[str, Any]:
    if rng.random() < 0.5:
        when: dict[str, Any] = {"history.viewed_products": {"contains": rng.choice(PRODUCTS)}}
    else:
        when = {"history.viewed_categories": {"contains_all": rng.sample(CATEGORIES, 2)}}
    return {"when": when, "then": {"tag": f"interest-{n}"}}


def experiment(rng: random.Random, n: int) -> dict[str, Any]:
    slot = f"promo-{rng.randrange(12)}"
    return {
        "when": {"page.path": rng.choice(PAGES), "device.type": {"ne": "bot"}},
        "experiment": {
            "key": f"exp-{n}",
            "variants": [
                {"name": "a", "weight": 45, "then": _banner(rng, slot, "Fri fragt over 499 kr.")},
                {"name": "b", "weight": 45, "then": _banner(rng, slot, "Gratis levering i hele Danmark")},
            ],
        },
    }


def seasonal(rng: random.Random, n: int) -> dict[str, Any]:
    year = rng.choice([2026, 2027])
    month = rng.randint(1, 12)
    return {
        "active": {"from": f"{year}-{month:02d}-01", "until": f"{year}-{month:02d}-28"},
        "when": {"time.month": month, "page.path": {"not_in": ["/checkout", "/login"]}},
        "then": _banner(rng, "season", f"Sæsontilbud {n}", "Nyt til sæsonen"),
    }


def segment_rule(rng: random.Random, n: int) -> dict[str, Any]:
    return {
        "when": {"segment": f"seg-{n % SEGMENTS}", "page.path": {"starts_with": rng.choice(["/", "/category/"])}},
        "then": _banner(rng, rng.choice(BANNER_SLOTS), f"Særligt til dig {n}", "Dine favoritter er tilbage"),
    }


TEMPLATES: tuple[Template, ...] = (
    category_banner, cross_sell, geo_banner, device_banner, time_promo, returning_greeting, member_greeting,
    campaign_landing, basket_nudge, chat_invite, international, interest_tag, experiment, seasonal, segment_rule,
)  # fmt: skip
SEGMENTS = 6


def segments(rng: random.Random) -> dict[str, Any]:
    """Named segments the ``segment_rule`` template refers to."""
    shapes: list[dict[str, Any]] = [
        {"any": [{"user.tier": {"in": ["gold", "platinum"]}}, {"user.orders": {"gte": 5}}]},
        {"basket.total": {"gte": 1000}},
        {"history.category_views.coffee": {"gte": 3}},
        {"all": [{"visitor.returning": True}, {"visitor.visits": {"gte": 5}}]},
        {"geo.country": {"in": ["DK", "SE", "NO"]}},
        {"device.type": "mobile", "time.daypart": "evening"},
    ]
    rng.shuffle(shapes)
    return {f"seg-{i}": shape for i, shape in enumerate(shapes[:SEGMENTS])}


def generate(count: int, seed: int = 7) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``count`` rules (with ids and priorities) and the segments they use."""
    rng = random.Random(seed)
    rules = []
    for n in range(count):
        template = TEMPLATES[n % len(TEMPLATES)]
        body = template(rng, n)
        rule = {"id": f"{template.__name__.replace('_', '-')}-{n}", "priority": rng.randint(1, 100), **body}
        rules.append(rule)
    return segments(random.Random(seed + 1)), rules


def write_ruleset(folder: Path, count: int, seed: int = 7) -> Path:
    """Write ``count`` generated rules into ``folder`` (segments in their own file); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    named, rules = generate(count, seed)
    (folder / "segments.yaml").write_text(yaml.safe_dump({"segments": named}, allow_unicode=True, sort_keys=False))
    per_file = 50
    for start in range(0, len(rules), per_file):
        chunk = rules[start : start + per_file]
        path = folder / f"generated-{start // per_file:03d}.yaml"
        path.write_text(yaml.safe_dump({"rules": chunk}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


# -- GrowthBook ------------------------------------------------------------------------------

_SIMPLE = {"eq": "$eq", "ne": "$ne", "in": "$in", "not_in": "$nin", "gt": "$gt", "gte": "$gte", "lt": "$lt",
           "lte": "$lte", "exists": "$exists", "matches": "$regex", "contains_all": "$all"}  # fmt: skip


def to_growthbook(when: dict[str, Any], named: dict[str, Any]) -> dict[str, Any]:
    """The same condition in GrowthBook's syntax (segments inlined, ``and`` of the mapping's entries)."""
    parts = [_gb_entry(key, value, named) for key, value in when.items()]
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _gb_entry(key: str, value: Any, named: dict[str, Any]) -> dict[str, Any]:
    if key == "all":
        return {"$and": [to_growthbook(item, named) for item in value]}
    if key == "any":
        return {"$or": [to_growthbook(item, named) for item in value]}
    if key == "not":
        return {"$not": to_growthbook(value, named)}
    if key == "segment":
        return to_growthbook(named[value], named)
    if isinstance(value, list):
        return {key: {"$in": value}}
    if not isinstance(value, dict):
        return {key: value}
    between = value.get("between")
    if between is not None and between[0] > between[1]:  # a window that wraps around midnight
        return {"$or": [{key: {"$gte": between[0]}}, {key: {"$lte": between[1]}}]}
    return {key: _gb_operators(value)}


def _gb_operators(ops: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op, arg in ops.items():
        if op in _SIMPLE:
            out[_SIMPLE[op]] = arg
        elif op == "between":
            out["$gte"], out["$lte"] = arg
        elif op == "starts_with":
            out["$regex"] = "^" + re.escape(arg)
        elif op == "contains":
            out["$elemMatch"] = {"$eq": arg}
        elif op == "contains_any":
            out["$elemMatch"] = {"$in": arg}
        else:
            raise ValueError(f"no GrowthBook translation for {op!r}")
    return out
