"""Each built-in signal is declared once, in its namespace module: the catalogue, the providers, the
page's Vary and the rules reference all follow the declaration."""

from __future__ import annotations

import pytest

from smalldata.settings import Settings
from smalldata.signals import device, page
from smalldata.signals.catalog import BUILT_IN_NAMESPACES, SIGNALS
from smalldata.signals.providers import build
from smalldata.signals.spec import Group, Namespace, signal
from tests.docs.helpers import REFERENCE, cells, code


def test_the_catalogue_holds_exactly_the_declared_signals() -> None:
    declared = [spec for namespace in BUILT_IN_NAMESPACES for spec in namespace.signals]

    assert list(SIGNALS.values()) == declared


def test_every_declared_signal_has_the_provider_its_namespace_names() -> None:
    providers = build(Settings()).map

    for namespace in BUILT_IN_NAMESPACES:
        for group in namespace.groups:
            answering = {providers.by_name[name] for name in group.names}
            assert len(answering) == 1, group.names
            assert providers.group(answering.pop()) == namespace.name
    assert set(providers.by_name) == {name for name in SIGNALS if name.count(".") == 1}


def test_a_page_varies_on_the_headers_a_signal_group_declares() -> None:
    providers = build(Settings()).map

    assert providers.vary({"device.os"}) == ("User-Agent",)
    assert providers.vary({"device.type", "page.language"}) == ("User-Agent", "Sec-CH-UA-Mobile", "Accept-Language")
    assert providers.vary({"page.path", "time.hour", "geo.country"}) == ()


@pytest.mark.parametrize("group", [group for namespace in BUILT_IN_NAMESPACES for group in namespace.groups
                                   if group.vary], ids=lambda group: group.names[0])  # fmt: skip
def test_reading_any_name_of_a_group_varies_on_its_headers(group: Group) -> None:
    providers = build(Settings()).map

    for name in group.names:
        assert providers.vary({name}) == group.vary


def test_the_stored_namespaces_are_the_ones_declared_stored() -> None:
    providers = build(Settings()).map

    assert providers.stored == {"visitor", "history", "campaign", "consent"}


def test_the_reference_describes_each_signal_with_its_declared_docs_line() -> None:
    described = {code(row[0]): row[1] for row in cells(REFERENCE, "3. Every signal") if len(row) == 4}

    for name, spec in SIGNALS.items():
        assert described[name].startswith(spec.doc), name


def test_a_namespace_refuses_a_group_answering_a_name_it_does_not_declare() -> None:
    with pytest.raises(ValueError, match=r"declared and answered names differ: page.colour"):
        Namespace("page", signals=(signal("page.path", "text", "the path"),),
                  groups=(Group(("page.path", "page.colour"), lambda parts: page.request_signals),))


def test_a_namespace_refuses_a_signal_of_another_namespace() -> None:
    with pytest.raises(ValueError, match=r"page.type is not in it"):
        Namespace("device", signals=(signal("page.type", "text", "kind"),),
                  groups=(Group(("page.type",), lambda parts: device.TYPES),))
