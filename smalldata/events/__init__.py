"""Measurable experiments: exposures and client events, written to a sink.

::

    from smalldata.events import EventLog, EventSettings, make_sink
    log = EventLog(make_sink(settings.events))
    log.exposures(new_exposures, visitor_id=state.id, ruleset_version=decision.ruleset_version, path="/")
    log.client_event(client_event, visitor_id=state.id)       # chat_shown/accepted/dismissed, conversion
    await log.aclose()                                        # on shutdown: flush
"""

from __future__ import annotations

from smalldata.events.config import EventSettings, make_sink
from smalldata.events.log import CLIENT_TYPES, EventLog, EventType
from smalldata.events.sinks import (
    BatchingSink,
    CallableSink,
    Event,
    EventSink,
    HttpSink,
    JsonLinesSink,
    LoggerSink,
    NullSink,
    dumps,
)
from smalldata.foundation.dotted import import_function

__all__ = [
    "CLIENT_TYPES",
    "BatchingSink",
    "CallableSink",
    "Event",
    "EventLog",
    "EventSettings",
    "EventSink",
    "EventType",
    "HttpSink",
    "JsonLinesSink",
    "LoggerSink",
    "NullSink",
    "dumps",
    "import_function",
    "make_sink",
]
