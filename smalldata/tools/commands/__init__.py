"""The console script's verbs that are more than a few lines (``smalldata.tools.cli`` parses and dispatches)."""
