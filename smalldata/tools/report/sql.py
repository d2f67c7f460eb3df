"""``smalldata report --sql``: the report's counting as SQL over an ``events`` table.

The table (docs/events-table.md documents it; the event log's files, the HTTP sink's
``{"events": [...]}`` batches and Parquet exports all load into it, one row per event):

======================  ==========================  ==============================================
column                  type                        what it holds
======================  ==========================  ==============================================
``type``                VARCHAR                     exposure, conversion, chat_shown, chat_accepted,
                                                    chat_dismissed
``at``                  TIMESTAMP WITH TIME ZONE    when it happened (written in UTC)
``visitor``             VARCHAR                     the pseudonymous visitor id (never an IP address)
``experiment``          VARCHAR                     exposure: the experiment's key
``variant``             VARCHAR                     exposure: the variant shown (``control`` too)
``rule``                VARCHAR                     the rule that decided it
``version``             VARCHAR                     exposure: the ruleset's version
``forced``              BOOLEAN                     exposure: a preview's, left out of reports
``value``               DOUBLE                      conversion: the order's value
``currency``            VARCHAR                     conversion: its currency
``order_id``            VARCHAR                     conversion: the order (a re-sent order counts once)
``source``              VARCHAR                     conversion: ``server`` or ``browser`` (browser when
                                                    missing); a browser's conversion of an order the
                                                    server recorded is left out
``path``                VARCHAR                     the page's path
======================  ==========================  ==============================================

The query returns one row per experiment and variant: ``visitors`` (distinct, first exposure
counts; ties go to the variant first by name), ``conversions`` (visitors with a conversion at or
after it), ``value`` and ``value_squares`` (the sum of each visitor's value and of its square:
revenue per visitor and its spread). The statistics follow from these counts (docs/events-table.md
gives the formulas); ``smalldata report`` runs this very query on DuckDB.
"""

from __future__ import annotations

__all__ = ["ANALYSIS", "COLUMNS", "TOTALS", "analysis_sql"]

#: The events table's columns and their SQL types, in order.
COLUMNS: dict[str, str] = {
    "type": "VARCHAR",
    "at": "TIMESTAMP WITH TIME ZONE",
    "visitor": "VARCHAR",
    "experiment": "VARCHAR",
    "variant": "VARCHAR",
    "rule": "VARCHAR",
    "version": "VARCHAR",
    "forced": "BOOLEAN",
    "value": "DOUBLE",
    "currency": "VARCHAR",
    "order_id": "VARCHAR",
    "source": "VARCHAR",
    "path": "VARCHAR",
}

_COUNTED = """
WITH first_exposure AS (
  SELECT experiment, visitor, variant, "at" AS exposed_at
  FROM (
    SELECT experiment, visitor, variant, "at",
           ROW_NUMBER() OVER (PARTITION BY experiment, visitor ORDER BY "at", variant) AS nth
    FROM {table}
    WHERE "type" = 'exposure' AND visitor <> '' AND forced IS NOT TRUE
      AND experiment IS NOT NULL AND variant IS NOT NULL AND "at" IS NOT NULL
  ) ranked
  WHERE nth = 1
),
server_order AS (
  SELECT DISTINCT order_id FROM {table}
  WHERE "type" = 'conversion' AND source = 'server' AND order_id IS NOT NULL
),
conversion AS (
  SELECT c.visitor, c."at", COALESCE(c."value", 0) AS "value", c.order_id
  FROM {table} c
  WHERE c."type" = 'conversion' AND c.visitor <> '' AND c."at" IS NOT NULL
    AND (c.source = 'server' OR c.order_id IS NULL
         OR c.order_id NOT IN (SELECT order_id FROM server_order))
)"""

#: One row per experiment and variant: visitors, conversions, value, value_squares.
ANALYSIS = _COUNTED + """,
after_exposure AS (
  SELECT f.experiment, f.variant, f.visitor, c.order_id, c."value"
  FROM first_exposure f JOIN conversion c ON c.visitor = f.visitor AND c."at" >= f.exposed_at
),
visitor_value AS (
  SELECT experiment, variant, visitor, SUM("value") AS "value"
  FROM (
    SELECT experiment, variant, visitor, MAX("value") AS "value"
    FROM after_exposure WHERE order_id IS NOT NULL
    GROUP BY experiment, variant, visitor, order_id
    UNION ALL
    SELECT experiment, variant, visitor, "value" FROM after_exposure WHERE order_id IS NULL
  ) orders
  GROUP BY experiment, variant, visitor
)
SELECT f.experiment, f.variant,
       COUNT(*) AS visitors,
       COUNT(v.visitor) AS conversions,
       COALESCE(SUM(v."value"), 0) AS "value",
       COALESCE(SUM(v."value" * v."value"), 0) AS value_squares
FROM first_exposure f
LEFT JOIN visitor_value v
  ON v.experiment = f.experiment AND v.variant = f.variant AND v.visitor = f.visitor
GROUP BY f.experiment, f.variant
ORDER BY f.experiment, f.variant
"""

#: One row: events, forced_left_out, undated_left_out, conversions_without_exposure, server_conversions,
#: browser_conversions.
TOTALS = _COUNTED + """
SELECT
  (SELECT COUNT(*) FROM {table}) AS events,
  (SELECT COUNT(*) FROM {table} WHERE "type" = 'exposure' AND visitor <> '' AND forced IS TRUE) AS forced_left_out,
  (SELECT COUNT(*) FROM {table}
    WHERE visitor <> '' AND "at" IS NULL
      AND (("type" = 'exposure' AND forced IS NOT TRUE AND experiment IS NOT NULL AND variant IS NOT NULL)
           OR "type" = 'conversion')) AS undated_left_out,
  (SELECT COUNT(*) FROM conversion
    WHERE visitor NOT IN (SELECT visitor FROM {table}
                          WHERE "type" = 'exposure' AND visitor <> '' AND forced IS NOT TRUE
                            AND experiment IS NOT NULL AND variant IS NOT NULL AND "at" IS NOT NULL)
  ) AS conversions_without_exposure,
  (SELECT COUNT(*) FROM {table} WHERE "type" = 'conversion' AND source = 'server') AS server_conversions,
  (SELECT COUNT(*) FROM {table}
    WHERE "type" = 'conversion' AND source IS DISTINCT FROM 'server') AS browser_conversions
"""


def analysis_sql(table: str = "events") -> str:
    """The per-variant counting query over ``table`` (a name or a quoted, qualified one)."""
    return "-- smalldata report: per experiment and variant (docs/events-table.md)" + ANALYSIS.format(table=table)
