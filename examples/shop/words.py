"""The example shop's own words in Danish; English is what the templates are written in.

Each page is in one language: the one the personalisation chose for the visitor
(``page.language``: the browser's preferred language among the shop's, else the
shop's default), so a Danish greeting never sits on an English page. Templates
write ``{{ _("Your basket") }}``; a text missing here is shown in English.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context

DANISH: dict[str, str] = {
    # the frame of every page
    "Business": "Erhverv", "Stores": "Butikker", "FAQ": "Spørgsmål", "Log in": "Log ind",
    "Log out {name}": "Log {name} ud", "Basket ({count})": "Kurv ({count})", "Picked for you": "Udvalgt til dig",
    "smalldata demo shop": "smalldata-demobutik", "personalised by rules in": "personaliseret af reglerne i",
    "health": "status", "Main menu": "Hovedmenu",
    # categories
    "Textiles": "Tekstiler", "Kitchen": "Køkken", "Coffee & Tea": "Kaffe og te", "Tableware": "Service",
    "Candles & Light": "Lys og lamper",
    # home, category, product
    "Calm, warm things for a Nordic home — delivered tomorrow.":
        "Rolige, varme ting til et nordisk hjem — leveret i morgen.",
    "Bestsellers": "Mest solgte", "Add to basket": "Læg i kurven",
    # basket
    "Basket": "Kurv", "Your basket": "Din kurv", "Remove": "Fjern", "Total": "I alt", "Go to checkout": "Gå til kassen",
    "Your basket is empty.": "Din kurv er tom.", "Find something nice": "Find noget godt",
    "Product": "Vare", "Quantity": "Antal", "Price": "Pris",
    # checkout, thanks
    "Checkout": "Kassen", "and we fill in your details.": "så udfylder vi dine oplysninger.",
    "E-mail": "E-mail", "Name": "Navn", "Phone": "Telefon", "Address": "Adresse", "Total:": "I alt:",
    "Place order": "Afgiv ordre", "Thank you": "Tak", "Your order": "Din ordre", "is on its way.": "er på vej.",
    # log-in
    "This is a fake log-in: pick a demo customer.": "Dette er et falsk log ind: vælg en demokunde.",
    "Customer": "Kunde", "Call me (optional)": "Kald mig (valgfrit)",
    # business
    "For business": "Til erhverv", "Nordisk Hjem for offices and cafés": "Nordisk Hjem til kontorer og caféer",
    "Textiles, tableware and light for your workplace, with a designer visit and replacements included.":
        "Tekstiler, service og lys til jeres arbejdsplads, med besøg af en designer og udskiftning inkluderet.",
    "Café": "Café", "Office": "Kontor", "Headquarters": "Hovedkontor", "/ month": "/ måned", "Ask us": "Spørg os",
    "Up to 40 seats · tableware and textiles": "Op til 40 pladser · service og tekstiler",
    "Up to 80 people · lighting included": "Op til 80 personer · lys inkluderet",
    "Any size · a designer on call": "Alle størrelser · en designer til rådighed",
    # stores
    "Our stores": "Vores butikker",
    "Open Monday–Friday 09:00–17:00 (Friday until 16:00) and Saturday 10:00–14:00.":
        "Åbent mandag–fredag 9–17 (fredag til 16) og lørdag 10–14.",
    # FAQ
    "Frequently asked questions": "Ofte stillede spørgsmål",
    "When will my order arrive?": "Hvornår kommer min ordre?",
    "Orders placed before 14:00 on a weekday ship the same day.":
        "Ordrer afgivet før kl. 14 på en hverdag sendes samme dag.",
    "Is shipping free?": "Er fragten gratis?",
    "Shipping is free on orders of {amount} or more.": "Fragten er gratis ved ordrer på {amount} eller mere.",
    "Can I return an item?": "Kan jeg returnere en vare?",
    "Unopened items can be returned within 30 days.": "Uåbnede varer kan returneres inden for 30 dage.",
    "Do you gift-wrap?": "Pakker I gaver ind?",
    "Yes — tick \"gift\" at checkout and we wrap it in paper and linen ribbon.":
        "Ja — sæt kryds ved \"gave\" i kassen, så pakker vi den ind i papir og hørbånd.",
}  # fmt: skip

LANGUAGES = {"da": DANISH}


@pass_context
def translate(context: Any, text: str, **values: Any) -> str:
    """``text`` in the page's language (``lang`` in the template's context), its ``{names}`` filled."""
    words = LANGUAGES.get(context.get("lang", ""), {})
    chosen = words.get(text, text)
    return chosen.format(**values) if values else chosen
