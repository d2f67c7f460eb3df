"""The tools layer: the ``smalldata`` command and what it runs (the console, reports, previews,
the demo, the benchmark). Nothing a served page needs imports from here. See docs/architecture.md.
"""
