"""``recommender:`` in ``smalldata.yaml``: the HTTP recommender behind ``strategy: remote``.

Example::

    recommender:
      url: https://reco.internal/recommend
      timeout_ms: 80          # a page waits this long; a later answer is cached for the next page
      cache_seconds: 60
      fallback: bestsellers   # used on timeout, error, non-200 or bad JSON
      headers: {Authorization: "Bearer ..."}
"""

from __future__ import annotations

from pydantic import field_validator

from smalldata.decision import Strategy
from smalldata.foundation.remote import HttpURL, RemoteSettings


class RecommenderSettings(RemoteSettings):
    """How to call the remote recommender, and what to show when it fails."""

    url: HttpURL | None = None
    fallback: Strategy = "bestsellers"


    @field_validator("fallback")
    @classmethod
    def _local(cls, value: Strategy) -> Strategy:
        if value == "remote":
            raise ValueError("the fallback must be a local strategy, not remote")
        return value
