"""Render the year's AI carbon report as one self-contained HTML file.

``python -m transform.report --year 2025`` writes
``<AI_CARBON_REPORTS>/ai_carbon_2025.html`` (default ``reports/``) and prints
its path. The file opens offline: styles inline, charts drawn here as inline
SVG, no script, no font, image or stylesheet fetched from anywhere. Every value
that comes from the warehouse or a manifest is escaped.

Sections: headline figures; emissions by category and month (stacked), by
scope and method, top systems; the five hidden drivers; inference intensity;
maturity with next steps; the four artifacts (inventory, measurement plan,
first-cut estimate, gap analysis); the annual disclosure with its frozen
versions and restatements; methodology and factor sources. A section whose
reporting view does not exist yet says so and the report still renders.

Reads the published warehouse read-only and the frozen versions' manifests;
never writes either. Never imports Airflow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.settings import PROJECT_ROOT
from transform import disclosure
from transform.build import published_path

# Colours that stay apart for the common colour-vision deficiencies (Okabe-Ito).
CATEGORY_COLOURS = {
    "training": "#0072B2",
    "inference": "#E69F00",
    "data_infrastructure": "#009E73",
    "embodied": "#CC79A7",
    "unattributed": "#999999",
}
SERIES_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
METHOD_COLOURS = {"location": "#0072B2", "market": "#E69F00"}
GHG_INVENTORY = "accounting_basis in ('activity', 'acquisition')"
PER_SYSTEM = "accounting_basis in ('activity', 'amortised')"
MAX_TABLE_ROWS = 200


def reports_path() -> Path:
    value = Path(os.environ.get("AI_CARBON_REPORTS") or "reports")
    return value if value.is_absolute() else PROJECT_ROOT / value


def report_file(year: int) -> Path:
    return reports_path() / f"ai_carbon_{year}.html"


# --------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def number(value: Any) -> str:
    """A figure as people read it: thousands separators, sensible decimals."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        # years and small counts as written; separators from five digits
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        magnitude = abs(value)
        if magnitude >= 100:
            return f"{value:,.0f}"
        if magnitude >= 1:
            return f"{value:,.2f}"
        if magnitude == 0:
            return "0"
        return f"{value:,.3f}" if magnitude >= 0.001 else f"{value:.2e}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: bool = True) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for value in row:
            is_number = isinstance(value, int | float | dt.date) and not isinstance(value, bool)
            is_number = is_number and numeric
            cells.append(
                f'<td class="num">{esc(number(value))}</td>'
                if is_number
                else f"<td>{esc(number(value))}</td>"
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}" class="empty">no rows</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def not_available(view: str, what: str) -> str:
    return (
        f'<p class="na">Not available yet: <code>{esc(view)}</code> does not exist in this '
        f"warehouse. {esc(what)}</p>"
    )


# --------------------------------------------------------------------------
# Charts: inline SVG, drawn here (no script)
# --------------------------------------------------------------------------


@dataclass
class Frame:
    """Plot area inside an SVG of width x height with margins for axes and legend."""

    width: int = 980
    height: int = 330
    left: int = 70
    right: int = 20
    top: int = 34
    bottom: int = 60

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** int(f"{value:e}".split("e")[1])
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _y_axis(frame: Frame, top_value: float, unit: str) -> list[str]:
    parts = []
    for index in range(5):
        value = top_value * index / 4
        y = frame.top + frame.plot_height * (1 - index / 4)
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{esc(number(float(value)))}</text>"
        )
    parts.append(f'<text class="unit" x="{frame.left}" y="{frame.top - 16}">{esc(unit)}</text>')
    return parts


def _legend(frame: Frame, names: Sequence[str], colours: Sequence[str]) -> list[str]:
    parts, x = [], frame.left
    y = frame.height - 14
    for name, colour in zip(names, colours, strict=True):
        parts.append(
            f'<rect class="key" x="{x}" y="{y - 9}" width="10" height="10" fill="{esc(colour)}"/>'
            f'<text class="legend" x="{x + 14}" y="{y}">{esc(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return parts


def _svg(frame: Frame, title: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title>{''.join(parts)}</svg>"
    )


def stacked_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    colours: Sequence[str],
    unit: str,
) -> str:
    """Vertical bars, one per label, each stacked from the series (negative parts as 0)."""
    frame = Frame()
    totals = [sum(max(values[i], 0) for _, values in series) for i in range(len(labels))]
    top_value = _nice_max(max(totals, default=0))
    slot = frame.plot_width / max(len(labels), 1)
    bar = slot * 0.7
    parts = _y_axis(frame, top_value, unit)
    for index, label in enumerate(labels):
        x = frame.left + slot * index + (slot - bar) / 2
        base = frame.top + frame.plot_height
        for (name, values), colour in zip(series, colours, strict=True):
            value = max(values[index], 0)
            if value <= 0:
                continue
            height = frame.plot_height * value / top_value
            base -= height
            parts.append(
                f'<rect class="mark" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{esc(colour)}"><title>{esc(label)} · {esc(name)}: '
                f"{esc(number(value))} {esc(unit)}</title></rect>"
            )
        parts.append(
            f'<text class="tick" x="{x + bar / 2:.1f}" '
            f'y="{frame.top + frame.plot_height + 16:.1f}" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
    parts += _legend(frame, [name for name, _ in series], colours)
    return _svg(frame, title, parts)


def grouped_bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    colours: Sequence[str],
    unit: str,
) -> str:
    """Vertical bars side by side per label, one per series."""
    frame = Frame(bottom=70)
    top_value = _nice_max(max((max(v, default=0) for _, v in series), default=0))
    slot = frame.plot_width / max(len(labels), 1)
    bar = slot * 0.7 / max(len(series), 1)
    parts = _y_axis(frame, top_value, unit)
    for index, label in enumerate(labels):
        x0 = frame.left + slot * index + slot * 0.15
        for offset, ((name, values), colour) in enumerate(zip(series, colours, strict=True)):
            value = max(values[index] or 0, 0)
            height = frame.plot_height * value / top_value
            parts.append(
                f'<rect class="mark" x="{x0 + offset * bar:.1f}" '
                f'y="{frame.top + frame.plot_height - height:.1f}" width="{bar * 0.95:.1f}" '
                f'height="{height:.1f}" fill="{esc(colour)}"><title>{esc(label)} · {esc(name)}: '
                f"{esc(number(value))} {esc(unit)}</title></rect>"
            )
        parts.append(
            f'<text class="tick" x="{x0 + slot * 0.35:.1f}" '
            f'y="{frame.top + frame.plot_height + 16:.1f}" '
            f'text-anchor="middle">{esc(label)}</text>'
        )
    parts += _legend(frame, [name for name, _ in series], colours)
    return _svg(frame, title, parts)


def horizontal_bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    """One bar per label, longest first as given."""
    row = 26
    frame = Frame(height=40 + row * len(labels) + 30, left=250, bottom=30, top=30)
    top_value = _nice_max(max(values, default=0))
    parts = []
    for index in range(5):
        x = frame.left + frame.plot_width * index / 4
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{frame.top}" '
            f'y2="{frame.height - frame.bottom}"/><text class="tick" x="{x:.1f}" '
            f'y="{frame.top - 8}" text-anchor="middle">'
            f"{esc(number(float(top_value * index / 4)))}</text>"
        )
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = frame.top + 6 + row * index
        width = frame.plot_width * max(value, 0) / top_value
        parts.append(
            f'<text class="tick" x="{frame.left - 8}" y="{y + 14}" '
            f'text-anchor="end">{esc(shorten(label, 36))}</text>'
            f'<rect class="mark" x="{frame.left}" y="{y}" width="{width:.1f}" height="{row - 8}" '
            f'fill="{SERIES_COLOURS[0]}"><title>{esc(label)}: {esc(number(value))} '
            f"{esc(unit)}</title></rect>"
            f'<text class="value" x="{frame.left + width + 6:.1f}" y="{y + 14}">'
            f"{esc(number(value))}</text>"
        )
    parts.append(
        f'<text class="unit" x="{frame.width - frame.right}" y="{frame.height - 8}" '
        f'text-anchor="end">{esc(unit)}</text>'
    )
    return _svg(frame, title, parts)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    colours: Sequence[str],
    unit: str,
) -> str:
    """One line with points per series over the labels; gaps where a value is missing."""
    frame = Frame()
    top_value = _nice_max(max((v for _, vs in series for v in vs if v is not None), default=0))
    slot = frame.plot_width / max(len(labels), 1)
    parts = _y_axis(frame, top_value, unit)
    for index, label in enumerate(labels):
        parts.append(
            f'<text class="tick" x="{frame.left + slot * (index + 0.5):.1f}" '
            f'y="{frame.top + frame.plot_height + 16:.1f}" text-anchor="middle">{esc(label)}</text>'
        )
    for (name, values), colour in zip(series, colours, strict=True):
        points = [
            (
                frame.left + slot * (i + 0.5),
                frame.top + frame.plot_height * (1 - v / top_value),
                v,
                i,
            )
            for i, v in enumerate(values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(
                f"{'M' if n == 0 else 'L'}{x:.1f},{y:.1f}" for n, (x, y, _, _) in enumerate(points)
            )
            parts.append(
                f'<path class="mark" d="{path}" fill="none" stroke="{esc(colour)}" '
                f'stroke-width="2"/>'
            )
        for x, y, value, i in points:
            parts.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{esc(colour)}">'
                f"<title>{esc(name)} {esc(labels[i])}: {esc(number(value))} {esc(unit)}</title>"
                "</circle>"
            )
    parts += _legend(frame, [name for name, _ in series], colours)
    return _svg(frame, title, parts)


# --------------------------------------------------------------------------
# Reading the warehouse
# --------------------------------------------------------------------------


class Warehouse:
    """A read-only connection with the few helpers the sections need."""

    def __init__(self, path: Path) -> None:
        import duckdb

        self.path = path
        self.con = duckdb.connect(str(path), read_only=True)

    def close(self) -> None:
        self.con.close()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def columns(self, schema: str, name: str) -> list[str]:
        return [
            r[0]
            for r in self.rows(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            )
        ]

    def organisation_name(self) -> str | None:
        """From the settings table the build keeps (not a staging view: those read landing)."""
        if "organisation_name" not in self.columns("main", "int_settings_pivoted"):
            return None
        rows = self.rows("select max(organisation_name) from main.int_settings_pivoted")
        return rows[0][0] if rows else None

    def has(self, schema: str, name: str) -> bool:
        return bool(self.columns(schema, name))

    def view_for_year(self, schema: str, name: str, year: int) -> tuple[list[str], list[tuple]]:
        """Every column of a view, the year's rows when it has a year or month column."""
        columns = self.columns(schema, name)
        relation = f'"{schema}"."{name}"'
        if "year" in columns:
            where, params = ' where "year" = ?', [year]
        elif "reporting_year" in columns:
            where, params = ' where "reporting_year" = ?', [year]
        elif "month" in columns:
            where, params = ' where extract(year from "month") = ?', [year]
        else:
            where, params = "", []
        rows = self.rows(f"select * from {relation}{where} limit {MAX_TABLE_ROWS + 1}", params)
        return columns, rows


def view_section(db: Warehouse, name: str, year: int, what: str) -> str:
    """A later reporting view as a table, or a note that it is not there yet."""
    if not db.has("reporting", name):
        return not_available(f"reporting.{name}", what)
    columns, rows = db.view_for_year("reporting", name, year)
    note = (
        f'<p class="note">First {MAX_TABLE_ROWS} rows; query '
        f"<code>reporting.{esc(name)}</code> for all.</p>"
        if len(rows) > MAX_TABLE_ROWS
        else ""
    )
    return f'<div class="scroll">{table(columns, rows[:MAX_TABLE_ROWS])}</div>{note}'


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------


def _headline(db: Warehouse, year: int) -> tuple[str, dict[str, Any]]:
    [(location, market, energy, estimated, unattributed, months)] = db.rows(
        f"""
        select
            sum(case when method = 'location' then kg_co2e end) / 1000,
            sum(case when method = 'market' then kg_co2e end) / 1000,
            sum(case when method = 'location' then energy_kwh end) / 1000,
            sum(case when method = 'location' and tier in ('estimated', 'assumed') then kg_co2e end)
                / nullif(sum(case when method = 'location' then kg_co2e end), 0),
            sum(case when method = 'location' and emission_category = 'unattributed'
                     then kg_co2e end)
                / nullif(sum(case when method = 'location' then kg_co2e end), 0),
            count(distinct month) filter (where accounting_basis = 'activity')
        from main.fct_emissions
        where reporting_year = ? and {GHG_INVENTORY}
        """,
        [year],
    )
    facts = {"location": location, "months": months}
    cards = [
        (
            "Location-based",
            f"{number(location)} tCO2e",
            "grid average of where the energy was used",
        ),
        ("Market-based", f"{number(market)} tCO2e", "after contractual instruments"),
        ("Energy", f"{number(energy)} MWh", "IT energy and facility overhead"),
        ("Estimated", share(estimated), "of location-based tCO2e, from a power model"),
        ("Unattributed", share(unattributed), "usage no rule assigns to an AI system"),
        ("Months with data", f"{months or 0}", f"of {year}"),
    ]
    body = "".join(
        f'<div class="card"><div class="label">{esc(label)}</div>'
        f'<div class="figure">{esc(value)}</div>'
        f'<div class="hint">{esc(hint)}</div></div>'
        for label, value, hint in cards
    )
    return f'<div class="cards">{body}</div>', facts


def _by_category_and_month(db: Warehouse, year: int) -> str:
    rows = db.rows(
        f"""
        select month, emission_category, sum(kg_co2e) / 1000
        from main.fct_emissions
        where reporting_year = ? and method = 'location' and {GHG_INVENTORY}
        group by all order by all
        """,
        [year],
    )
    if not rows:
        return '<p class="na">No emissions recorded for this year.</p>'
    months = sorted({r[0] for r in rows})
    categories = [c for c in CATEGORY_COLOURS if any(r[1] == c for r in rows)]
    categories += sorted({r[1] for r in rows} - set(categories))
    values = {(r[0], r[1]): r[2] or 0.0 for r in rows}
    series = [
        (c.replace("_", " & "), [values.get((m, c), 0.0) for m in months]) for c in categories
    ]
    colours = [CATEGORY_COLOURS.get(c, "#333333") for c in categories]
    chart = stacked_bars(
        f"Location-based emissions {year} by category and month",
        [m.strftime("%b") for m in months],
        series,
        colours,
        "tCO2e",
    )
    data = table(
        ["month", *[c.replace("_", " & ") for c in categories], "total"],
        [
            [
                m.strftime("%Y-%m"),
                *[values.get((m, c), 0.0) for c in categories],
                sum(values.get((m, c), 0.0) for c in categories),
            ]
            for m in months
        ],
    )
    return (
        f"{chart}<p class='note'>GHG inventory basis: hardware is booked in its month of "
        f"acquisition (category embodied).</p><details><summary>Figures</summary>{data}</details>"
    )


def _by_scope_and_method(db: Warehouse, year: int) -> str:
    rows = db.rows(
        "select ghg_scope, scope3_category, scope_label, location_based_tco2e, market_based_tco2e, "
        "market_fallback_to_location from reporting.annual_disclosure where year = ? "
        "order by ghg_scope, scope3_category nulls first",
        [year],
    )
    if not rows:
        return '<p class="na">No disclosure lines for this year.</p>'
    labels = [f"Scope {r[0]}" + (f" cat {r[1]}" if r[1] else "") for r in rows]
    chart = grouped_bars(
        f"Emissions {year} by GHG scope and method",
        labels,
        [
            ("location-based", [r[3] or 0.0 for r in rows]),
            ("market-based", [r[4] or 0.0 for r in rows]),
        ],
        [METHOD_COLOURS["location"], METHOD_COLOURS["market"]],
        "tCO2e",
    )
    data = table(
        ["line", "location tCO2e", "market tCO2e", "market falls back to location"],
        [[r[2], r[3], r[4], r[5]] for r in rows],
    )
    return f"{chart}{data}"


def _top_systems(db: Warehouse, year: int) -> str:
    rows = db.rows(
        f"""
        select coalesce(systems.system_name, emissions.system_id), sum(emissions.kg_co2e) / 1000
        from main.fct_emissions as emissions
        left join main.dim_ai_system as systems on emissions.system_id = systems.system_id
        where emissions.reporting_year = ? and emissions.method = 'location'
          and emissions.{PER_SYSTEM}
        group by all order by 2 desc limit 10
        """,
        [year],
    )
    if not rows:
        return '<p class="na">No emissions recorded for this year.</p>'
    chart = horizontal_bars(
        f"Top systems {year}, location-based",
        [r[0] for r in rows],
        [r[1] or 0.0 for r in rows],
        "tCO2e",
    )
    return (
        f"{chart}<p class='note'>Per-system view: embodied emissions amortised over the "
        f"hardware's use, as in <code>reporting.inventory</code>.</p>"
    )


def _colours(count: int) -> list[str]:
    return [SERIES_COLOURS[index % len(SERIES_COLOURS)] for index in range(count)]


def _view_records(db: Warehouse, name: str, year: int) -> list[dict[str, Any]]:
    """The year's rows of a reporting view as dicts (all of them, for charts)."""
    columns = db.columns("reporting", name)
    rows = db.rows(
        f'select * from reporting."{name}" where extract(year from "month") = ? '
        "order by month, system_id",
        [year],
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _monthly_sums(
    records: list[dict[str, Any]], fields: Sequence[str]
) -> tuple[list[dt.date], list[list[float]]]:
    """Per month, the sum of each field over the records where it is not null."""
    months = sorted({r["month"] for r in records if any(r[f] is not None for f in fields)})
    sums = [[sum(r[f] or 0.0 for r in records if r["month"] == m) for m in months] for f in fields]
    return months, sums


def _per_system_lines(
    records: list[dict[str, Any]], field: str, scale: float = 1.0
) -> tuple[list[dt.date], list[tuple[str, list[float | None]]]]:
    """Months and one series per system of ``field`` x ``scale`` (gaps where null)."""
    present = [r for r in records if r[field] is not None]
    months = sorted({r["month"] for r in present})
    systems = sorted({r["system_id"] for r in present})
    values = {(r["system_id"], r["month"]): r[field] * scale for r in present}
    return months, [(s, [values.get((s, m)) for m in months]) for s in systems]


def _no_marks(what: str) -> str:
    return f'<p class="note">{esc(what)}</p>'


def _hidden_drivers(db: Warehouse, year: int) -> str:
    """The five drivers of reporting.hidden_drivers as charts, the view's rows below."""
    if not db.has("reporting", "hidden_drivers"):
        return view_section(
            db,
            "hidden_drivers",
            year,
            "It will give idle capacity, data movement, failed runs, retraining cadence "
            "and embodied refresh per system and month.",
        )
    records = _view_records(db, "hidden_drivers", year)
    parts = []

    months, (active, idle) = _monthly_sums(records, ["inference_active_kwh", "inference_idle_kwh"])
    parts.append("<h3>1. Idle capacity</h3>")
    if sum(active) + sum(idle) > 0:
        parts.append(
            stacked_bars(
                f"Idle capacity {year}: inference GPU energy, active and idle (warm pool)",
                [m.strftime("%b") for m in months],
                [("active serving", active), ("idle / warm pool", idle)],
                [CATEGORY_COLOURS["inference"], CATEGORY_COLOURS["unattributed"]],
                "kWh",
            )
        )
    else:
        parts.append(_no_marks("No production inference energy this year."))

    months, lines = _per_system_lines(records, "data_movement_share", 100.0)
    parts.append("<h3>2. Data movement</h3>")
    if any(v for _, values in lines for v in values):
        parts.append(
            line_chart(
                f"Data movement {year}: network energy as a share of compute energy",
                [m.strftime("%b") for m in months],
                lines,
                _colours(len(lines)),
                "% of compute energy",
            )
        )
    else:
        parts.append(_no_marks("No network usage recorded this year."))

    months, (runs_kg, failed_kg) = _monthly_sums(records, ["runs_kg_co2e", "failed_runs_kg_co2e"])
    parts.append("<h3>3. Failed runs</h3>")
    if sum(runs_kg) > 0:
        parts.append(
            stacked_bars(
                f"Failed runs {year}: training runs' emissions by outcome",
                [m.strftime("%b") for m in months],
                [
                    (
                        "succeeded or running",
                        [t - f for t, f in zip(runs_kg, failed_kg, strict=True)],
                    ),
                    ("failed or killed", failed_kg),
                ],
                [CATEGORY_COLOURS["training"], "#D55E00"],
                "kgCO2e",
            )
        )
    else:
        parts.append(_no_marks("No training runs with emissions this year."))

    months, lines = _per_system_lines(records, "retraining_to_first_run_ratio")
    parts.append("<h3>4. Retraining cadence</h3>")
    if any(v for _, values in lines for v in values):
        parts.append(
            line_chart(
                f"Retraining {year}: emissions beyond the first successful run, cumulative",
                [m.strftime("%b") for m in months],
                lines,
                _colours(len(lines)),
                "x the first successful run",
            )
        )
    else:
        parts.append(_no_marks("No retraining after a first successful run this year."))

    # a yearly figure, repeated on the month rows: one value per system
    yearly = {r["system_id"]: r for r in records if r["year_embodied_added_kg_co2e"] is not None}
    parts.append("<h3>5. Embodied refresh</h3>")
    if any(r["year_embodied_added_kg_co2e"] > 0 for r in yearly.values()):
        systems = sorted(yearly)
        labels, values = [], []
        for system in systems:
            added = yearly[system]["year_embodied_added_kg_co2e"]
            replaced = added * (yearly[system]["year_replacement_share"] or 0.0)
            labels += [f"{system}: grows the fleet", f"{system}: replaces retired GPUs"]
            values += [added - replaced, replaced]
        parts.append(
            horizontal_bars(
                f"Embodied refresh {year}: hardware bought at the owned sites each system used",
                labels,
                values,
                "kgCO2e booked at acquisition",
            )
        )
        parts.append(
            table(
                [
                    "system",
                    "embodied added kgCO2e",
                    "GPUs added",
                    "GPUs retired",
                    "fleet growth (GPUs)",
                    "kgCO2e per GPU of growth",
                ],
                [
                    [
                        s,
                        yearly[s]["year_embodied_added_kg_co2e"],
                        yearly[s]["year_gpus_added"],
                        yearly[s]["year_gpus_retired"],
                        yearly[s]["year_fleet_gpu_growth"],
                        yearly[s]["year_embodied_kg_co2e_per_gpu_of_growth"],
                    ]
                    for s in systems
                ],
            )
        )
    else:
        parts.append(_no_marks("No owned hardware bought this year at the sites AI systems used."))

    parts.append("<h3>Per system and month</h3>")
    parts.append(view_section(db, "hidden_drivers", year, ""))
    return "".join(parts)


def _inference_intensity(db: Warehouse, year: int) -> str:
    if not db.has("reporting", "inference_intensity"):
        return not_available(
            "reporting.inference_intensity",
            "It will give gCO2e per 1,000 requests and per 1,000,000 tokens per system and "
            "month, idle capacity and amortised embodied included.",
        )
    records = _view_records(db, "inference_intensity", year)
    months, location = _per_system_lines(records, "g_co2e_per_1k_requests")
    if not months:
        return '<p class="na">No inference traffic recorded for this year.</p>'
    _, market = _per_system_lines(records, "market_g_co2e_per_1k_requests")
    series = [(f"{s} location-based", v) for s, v in location]
    series += [(f"{s} market-based", v) for s, v in market]
    chart = line_chart(
        f"Inference intensity {year}, SCI-style (idle and embodied included)",
        [m.strftime("%b") for m in months],
        series,
        _colours(len(series)),
        "gCO2e / 1,000 requests",
    )
    data = table(
        [
            "system",
            "month",
            "requests",
            "tokens",
            "idle share",
            "gCO2e / 1,000 requests",
            "of which idle",
            "market-based",
            "gCO2e / 1M tokens",
            "market-based",
        ],
        [
            [
                r["system_id"],
                r["month"].strftime("%Y-%m"),
                r["requests"],
                r["tokens"],
                share(r["idle_share"]),
                r["g_co2e_per_1k_requests"],
                r["idle_g_co2e_per_1k_requests"],
                r["market_g_co2e_per_1k_requests"],
                r["g_co2e_per_1m_tokens"],
                r["market_g_co2e_per_1m_tokens"],
            ]
            for r in records
        ],
    )
    return (
        f"{chart}<p class='note'>Location-based (the SCI's grid intensity) with the market-based "
        f"figure beside it; <code>reporting.inference_intensity</code>.</p>"
        f"<div class='scroll'>{data}</div>"
    )


MATURITY_LEVELS = {
    1: "nothing measured",
    2: "largest runs measured, first estimate",
    3: "every system tracked monthly",
    4: "disclosure complete",
    5: "targets tracked",
}


def maturity_block(organisation: Sequence[Any] | None, systems: Sequence[Sequence[Any]]) -> str:
    """The organisation's level large (level, reason, next step), then one row per system.

    ``organisation`` is (level, reason, next_step); each system row is
    (system_id, kind, level, reason, next_step).
    """
    parts = []
    if organisation is not None:
        level, reason, next_step = organisation
        steps = "".join(
            f'<li class="{"on" if number == level else "off"}"><b>L{number}</b> {esc(label)}</li>'
            for number, label in MATURITY_LEVELS.items()
        )
        parts.append(
            '<div class="maturity"><div class="level">'
            f'<span class="figure">L{esc(level)}</span>'
            f'<span class="label">{esc(MATURITY_LEVELS.get(level, ""))}</span></div>'
            f"<div><p><strong>Why:</strong> {esc(reason)}</p>"
            f"<p><strong>Next:</strong> {esc(next_step or 'nothing: the top of the rubric')}</p>"
            f'<ol class="rubric">{steps}</ol></div></div>'
        )
    parts.append(
        '<div class="scroll">'
        + table(
            ["system", "kind", "level", "why", "next step"],
            [
                (system, kind, f"L{level}", reason, next_step)
                for system, kind, level, reason, next_step in systems
            ],
            numeric=False,
        )
        + "</div>"
    )
    return "".join(parts)


def _maturity(db: Warehouse) -> str:
    if not db.has("reporting", "maturity"):
        return not_available(
            "reporting.maturity",
            "It will place the organisation on the 1–5 rubric (L1 nothing measured … "
            "L5 targets tracked against the measured trend) with the next steps.",
        )
    organisation = db.rows(
        "select maturity_level, reason, next_step from reporting.maturity "
        "where maturity_scope = 'organisation'"
    )
    systems = db.rows(
        "select system_id, system_kind, maturity_level, reason, next_step "
        "from reporting.maturity where maturity_scope = 'system' "
        "order by maturity_level, system_id"
    )
    return (
        maturity_block(organisation[0] if organisation else None, systems)
        + '<p class="note">Levels hold in order; the rubric and each criterion are in '
        "<code>reporting.maturity</code> and docs/methodology.md.</p>"
    )


def _disclosure(db: Warehouse, year: int, root: Path | None) -> str:
    rows = db.rows(
        "select scope_label, location_based_tco2e, market_based_tco2e, "
        "ai_attributed_location_based_tco2e, unattributed_location_based_tco2e, energy_mwh, "
        "provider_reported_share, factor_sets, methodology_version, data_as_of, is_restatement "
        "from reporting.annual_disclosure where year = ? "
        "order by ghg_scope, scope3_category nulls first",
        [year],
    )
    parts = [
        table(
            [
                "line",
                "location tCO2e",
                "market tCO2e",
                "AI-attributed (location)",
                "unattributed (location)",
                "MWh",
                "provider-reported share",
                "factor sets",
                "methodology",
                "data as of",
                "restated",
            ],
            rows,
        )
    ]
    manifests = [m for m in disclosure.all_manifests(root) if m["year"] == year]
    if manifests:
        parts.append("<h3>Frozen versions</h3>")
        parts.append(
            table(
                [
                    "version",
                    "frozen at",
                    "data as of",
                    "methodology",
                    "location tCO2e",
                    "market tCO2e",
                    "sha256 of annual_disclosure.parquet",
                ],
                [
                    [
                        f"v{m['version']}",
                        m["frozen_at"],
                        m["data_as_of"],
                        ", ".join(m["methodology_version"]),
                        m["totals_tco2e"]["location_based"],
                        m["totals_tco2e"]["market_based"],
                        m["files"][disclosure.ANNUAL_FILE]["sha256"][:16] + "…",
                    ]
                    for m in manifests
                ],
            )
        )
    else:
        parts.append(
            f'<p class="note">No frozen version of {year} yet: '
            f"<code>python -m transform.disclosure freeze --year {year}</code> or the "
            f"<code>ai_carbon_disclosure</code> DAG freezes one.</p>"
        )
    if db.has("reporting", "restatements"):
        restated = db.rows(
            "select disclosure_version, ghg_scope, scope3_category, method, "
            "frozen_tco2e, current_tco2e, "
            "difference_tco2e, reasons, moved_months from reporting.restatements "
            "where year = ? and is_restated order by 1, 2, 3 nulls first, 4",
            [year],
        )
        parts.append("<h3>Restatements</h3>")
        if restated:
            parts.append(
                table(
                    [
                        "version",
                        "scope",
                        "scope 3 cat",
                        "method",
                        "frozen tCO2e",
                        "current tCO2e",
                        "difference",
                        "why",
                        "months",
                    ],
                    restated,
                )
            )
        else:
            parts.append(
                '<p class="note">No figure of a frozen version has moved.</p>'
                if manifests
                else '<p class="note">Nothing frozen, nothing restated.</p>'
            )
    return "".join(parts)


def _methodology(db: Warehouse, year: int) -> str:
    used = db.rows(
        f"""
        select factor_set, factor_year, count(*) as fact_rows, sum(kg_co2e) / 1000 as tco2e
        from main.fct_emissions
        where reporting_year = ? and method = 'location' and {GHG_INVENTORY}
        group by all order by tco2e desc nulls last
        """,
        [year],
    )
    sources = []
    for (name,) in db.rows(
        "select table_name from information_schema.columns where table_schema = 'main' "
        "and column_name = 'source_url' order by table_name"
    ):
        columns = db.columns("main", name)
        if {"source", "vintage", "licence"} <= set(columns):
            sources += [
                (name, *r)
                for r in db.rows(
                    "select distinct source, vintage, licence, source_url "
                    f'from main."{name}" order by 1, 2'
                )
            ]
    [(version,)] = db.rows(
        "select coalesce(max(methodology_version), '–') from main.fct_emissions "
        "where reporting_year = ?",
        [year],
    )
    per_seed: dict[str, list[tuple]] = {}
    for seed, *source in sources:
        per_seed.setdefault(seed, []).append(tuple(source))
    summary = table(
        ["seed", "sources", "vintages", "licences"],
        [
            [
                seed,
                len({r[0] for r in rows}),
                ", ".join(sorted({str(r[1]) for r in rows if r[1]})),
                ", ".join(sorted({str(r[2]) for r in rows if r[2]})),
            ]
            for seed, rows in per_seed.items()
        ],
    )
    source_rows = "".join(
        f"<tr><td>{esc(seed)}</td><td>{esc(source)}</td><td>{esc(vintage)}</td>"
        f'<td>{esc(licence)}</td><td><a href="{esc(url)}">{esc(url)}</a></td></tr>'
        for seed, source, vintage, licence, url in sources
    )
    return (
        f"<p>Methodology version <strong>{esc(version)}</strong>: activity → energy "
        f"(measured, provider-reported, estimated or assumed, each row says which) → facility "
        f"energy with PUE → location-based emissions from the grid factor of the zone and year, "
        f"market-based after contractual instruments and residual mixes; cloud providers' own "
        f"figures allocated to systems by cost; embodied hardware booked in its year of "
        f"acquisition. The formulas are in <code>docs/methodology.md</code>; every factor is a "
        f"seed row that names its source, vintage and licence.</p>"
        f"<h3>Factor sets used in {year}</h3>"
        + table(["factor set", "factor year", "fact rows", "location tCO2e"], used)
        + "<h3>Factor sources</h3>"
        + summary
        + f"<details><summary>All {len(sources)} sources</summary><div class='scroll'>"
        "<table><thead><tr><th>seed</th><th>source</th><th>vintage</th><th>licence</th>"
        "<th>link</th></tr></thead><tbody>"
        + (source_rows or '<tr><td colspan="5" class="empty">no rows</td></tr>')
        + "</tbody></table></div></details>"
    )


STYLE = """
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1d2430; background: #f6f7f9; }
header { background: #14324a; color: #fff; padding: 28px 40px; }
header h1 { margin: 0 0 6px; font-size: 28px; }
header p { margin: 2px 0; color: #cfe0ee; }
nav { padding: 10px 40px; background: #e8edf2; font-size: 14px; }
nav a { margin-right: 14px; color: #14324a; }
main { padding: 8px 40px 40px; max-width: 1180px; }
section { background: #fff; border-radius: 8px; padding: 18px 24px; margin: 18px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.08); }
h2 { margin-top: 0; font-size: 20px; color: #14324a; }
h3 { font-size: 16px; margin: 18px 0 8px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: #f0f3f6; }
td:first-child { min-width: 9em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.empty, p.na { color: #6b7280; font-style: italic; }
p.na { background: #fbf7e9; border-left: 4px solid #E69F00; padding: 8px 12px; font-style: normal; }
p.note { color: #4b5563; font-size: 13px; }
.scroll { overflow-x: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.card { border: 1px solid #e3e6ea; border-radius: 8px; padding: 12px 14px; }
.card .label { font-size: 13px; color: #4b5563; }
.card .figure { font-size: 20px; font-weight: 600; color: #14324a; white-space: nowrap; }
.card .hint { font-size: 12px; color: #6b7280; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 8px 0; }
svg .grid { stroke: #e3e6ea; stroke-width: 1; }
svg text { font: 12px system-ui, sans-serif; fill: #374151; }
svg .unit { fill: #6b7280; }
.maturity { display: flex; gap: 24px; align-items: flex-start; margin: 8px 0 12px; }
.maturity .level { min-width: 150px; border: 2px solid #14324a; border-radius: 10px;
                   padding: 10px 14px; text-align: center; }
.maturity .level .figure { display: block; font-size: 44px; font-weight: 700; color: #14324a; }
.maturity .level .label { font-size: 13px; color: #4b5563; }
.maturity p { margin: 4px 0; }
ol.rubric { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap;
            gap: 6px; }
ol.rubric li { font-size: 12px; padding: 3px 8px; border-radius: 12px; background: #eef1f4;
               color: #6b7280; }
ol.rubric li.on { background: #14324a; color: #fff; }
footer { padding: 0 40px 30px; color: #6b7280; font-size: 12px; }
"""


def render(year: int, warehouse: Path | None = None, root: Path | None = None) -> str:
    """The report of ``year`` as one HTML string."""
    path = warehouse or published_path()
    if not path.exists():
        raise FileNotFoundError(f"no published warehouse at {path}: run `make demo` first")
    db = Warehouse(path)
    try:
        organisation = db.organisation_name() or "the organisation"
        [(data_as_of,)] = db.rows("select max(loaded_at) from main.fct_landing_loads")
        headline, facts = _headline(db, year)
        sections = [
            ("headline", "In short", headline),
            ("category-month", "Emissions by category and month", _by_category_and_month(db, year)),
            ("scope-method", "By GHG scope and method", _by_scope_and_method(db, year)),
            ("top-systems", "Top systems", _top_systems(db, year)),
            ("hidden-drivers", "The five hidden drivers", _hidden_drivers(db, year)),
            ("inference-intensity", "Inference intensity", _inference_intensity(db, year)),
            ("maturity", "Maturity and next steps", _maturity(db)),
            (
                "artifacts",
                "The four artifacts",
                "".join(
                    [
                        "<h3>Inventory</h3>",
                        view_section(
                            db, "inventory", year, "Every AI system, where it runs, when seen."
                        ),
                        "<h3>Measurement plan</h3>",
                        view_section(
                            db,
                            "measurement_plan",
                            year,
                            "Per system and category: measured or not, by what, at what cadence.",
                        ),
                        "<h3>First-cut estimate</h3>",
                        view_section(
                            db,
                            "first_cut_estimate",
                            year,
                            "Baseline footprint per system and category, tCO2e per year.",
                        ),
                        "<h3>Gap analysis</h3>",
                        view_section(
                            db,
                            "gap_analysis",
                            year,
                            "Per category: measured, provider-reported, estimated or missing.",
                        ),
                    ]
                ),
            ),
            ("disclosure", f"Annual disclosure {year}", _disclosure(db, year, root)),
            (
                "model-disclosure",
                "Model disclosure",
                view_section(
                    db,
                    "model_disclosure",
                    year,
                    "Per trained model: GPU-hours, hardware, energy, location, emissions.",
                ),
            ),
            ("methodology", "Methodology and factor sources", _methodology(db, year)),
        ]
    finally:
        db.close()
    nav = "".join(f'<a href="#{esc(anchor)}">{esc(title)}</a>' for anchor, title, _ in sections)
    body = "".join(
        f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{content}</section>'
        for anchor, title, content in sections
    )
    coverage = "no activity data" if not facts["months"] else f"{facts['months']} month(s) of data"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>AI carbon report {year} · {esc(organisation)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>AI emissions {year}</h1><p>{esc(organisation)} · {esc(coverage)} · "
        f"data as of {esc(number(data_as_of))} UTC</p></header><nav>{nav}</nav><main>{body}</main>"
        f"<footer>Rendered by transform/report.py from {esc(path.name)}; every figure comes from "
        f"the warehouse's marts and reporting views.</footer></body></html>"
    )


def write_report(
    year: int,
    out: Path | None = None,
    warehouse: Path | None = None,
    root: Path | None = None,
) -> Path:
    """Render the report and write it atomically; return its path."""
    target = out or report_file(year)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    temporary.write_text(render(year, warehouse, root), encoding="utf-8")
    os.replace(temporary, target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the year's AI carbon report (one HTML file)."
    )
    parser.add_argument("--year", type=int, required=True)
    parser.add_argument(
        "--out", type=Path, help="file to write (default reports/ai_carbon_<year>.html)"
    )
    args = parser.parse_args(argv)
    try:
        print(write_report(args.year, args.out))
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
