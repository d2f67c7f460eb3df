"""The console script's verbs that are more than a few lines (``smalldata.cli`` parses and dispatches)."""
