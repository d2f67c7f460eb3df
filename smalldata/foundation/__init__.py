"""The foundation layer: what every other layer may use, and which uses nothing of theirs.

Problems with positions in YAML (``problems``, ``yamlpos``, ``validation``), the ASGI and HTTP
basics (``asgi``, ``remote``), the shop's code called safely (``guest``), and small helpers
(``dotted``, ``dates``, ``jsonfast``). See docs/architecture.md.
"""
