"""``smalldata console``: the merchandiser's rule workflow in a browser.

A small local web application over the same rules folder, settings and events
file as the shop: the rules in plain words with every check problem at its line,
an imagined visitor's decision beside its trace (and a day's timeline), a rule file
editor that checks as one types and saves only what checks, the rule tests, signed
preview links, and the experiments' figures with a chart. Every page works without
JavaScript; two small scripts add the live check and the time slider.

It is a tool on top of the library (the library never imports it) and reuses its
loader, engine, imagined visitor, catalogue, preview signer, report and rule tests::

    from smalldata.tools.console import create_app
    app = create_app(rules="rules/", config="smalldata.yaml")   # serve with uvicorn on 127.0.0.1
"""

from __future__ import annotations

from smalldata.tools.console.app import DEFAULT_PORT, create_app, run
from smalldata.tools.console.guard import is_loopback

__all__ = ["DEFAULT_PORT", "create_app", "is_loopback", "run"]
