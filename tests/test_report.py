"""The report's building blocks: figures are escaped, charts draw one mark per value.

The whole report is rendered from a real warehouse and opened in Chromium by
tests/e2e/test_disclosure.py.
"""

import datetime as dt
import re

import duckdb
import pytest

import browser
from transform import report

HOSTILE = '<script>alert("x")</script>&'


def test_every_value_in_a_table_is_escaped():
    html = report.table([HOSTILE], [[HOSTILE], [1234.5678], [dt.date(2025, 1, 1)], [None]])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in html
    assert '<td class="num">1,235</td>' in html
    assert '<td class="num">2025-01-01</td>' in html
    assert "<td>–</td>" in html


def test_numbers_read_as_people_write_them():
    assert [report.number(v) for v in (123456.7, 12.345, 0.01234, 0.0, 3, True, None)] == [
        "123,457",
        "12.35",
        "0.012",
        "0",
        "3",
        "yes",
        "–",
    ]
    assert report.share(0.6934) == "69.3 %"


def test_charts_escape_labels_and_draw_one_mark_per_value():
    stacked = report.stacked_bars(
        HOSTILE, ["Jan", HOSTILE], [("training", [1.0, 2.0]), (HOSTILE, [0.5, 0.0])],
        ["#000", "#111"], "tCO2e",
    )  # fmt: skip
    assert "<script>" not in stacked
    assert stacked.count('class="mark"') == 3  # zero parts draw nothing
    assert stacked.startswith('<svg class="chart"')
    grouped = report.grouped_bars(
        "t", ["Scope 2", "Scope 3 cat 1"], [("location", [1.0, 2.0]), ("market", [0.0, 1.5])],
        ["#000", "#111"], "tCO2e",
    )  # fmt: skip
    assert grouped.count('class="mark"') == 4
    bars = report.horizontal_bars("t", [HOSTILE, "b"], [3.0, 1.0], "tCO2e")
    assert "<script>" not in bars and bars.count('class="mark"') == 2
    line = report.line_chart(
        "t", ["Jan", "Feb", "Mar"], [("chat", [1.0, None, 2.0])], ["#000"], "g"
    )
    assert line.count("<circle") == 2 and line.count("<path") == 1


def test_a_missing_view_is_announced_not_an_error():
    html = report.not_available("reporting.maturity", HOSTILE)
    assert "Not available yet" in html and "<script>" not in html


# reporting.hidden_drivers and reporting.inference_intensity, the columns the report reads
DRIVERS = """
create table reporting.hidden_drivers (
    system_id varchar, month date, inference_active_kwh double, inference_idle_kwh double,
    data_movement_share double, runs_kg_co2e double, failed_runs_kg_co2e double,
    retraining_to_first_run_ratio double, year_embodied_added_kg_co2e double,
    year_replacement_share double, year_gpus_added bigint, year_gpus_retired bigint,
    year_fleet_gpu_growth bigint, year_embodied_kg_co2e_per_gpu_of_growth double
);
insert into reporting.hidden_drivers values
    ('chat', '2025-01-01', 30, 10, 0.10, null, null, null, null, null, null, null, null, null),
    ('chat', '2025-02-01', 20, 20, 0.12, null, null, null, null, null, null, null, null, null),
    ('lm', '2025-01-01', null, null, null, 40, 10, 1.0, 20000, 0.75, 40, 30, 10, 2000),
    ('lm', '2025-02-01', null, null, null, 30, 0, 1.5, 20000, 0.75, 40, 30, 10, 2000),
    ('lm', '2024-12-01', null, null, null, 777, 777, 777, 777, 0.0, 1, 0, 1, 777);
"""
INTENSITY = """
create table reporting.inference_intensity (
    system_id varchar, month date, requests bigint, tokens bigint, idle_share double,
    g_co2e_per_1k_requests double, idle_g_co2e_per_1k_requests double,
    market_g_co2e_per_1k_requests double, g_co2e_per_1m_tokens double,
    market_g_co2e_per_1m_tokens double
);
insert into reporting.inference_intensity values
    ('chat', '2025-01-01', 2000000, 50000000, 0.25, 25, 5, 19, 1000, 760),
    ('chat', '2025-02-01', 1000000, null, 0.5, 30, 15, 20, null, null);
"""
# marks each chart must draw (a zero part draws nothing): idle 2 months x active, idle;
# data movement chat's 2 points + its line; failed runs Jan 30 + 10 kg, Feb 30 kg (0
# failed); retraining lm's 2 points + line; embodied 20,000 kg as 5,000 growth + 15,000
# replacement; intensity 2 points + line, location and market
EXPECTED_MARKS = [4, 3, 3, 3, 2, 6]


@pytest.fixture
def drivers_sections(tmp_path) -> str:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema reporting")
        con.execute(DRIVERS)
        con.execute(INTENSITY)
    db = report.Warehouse(path)
    try:
        return report._hidden_drivers(db, 2025) + report._inference_intensity(db, 2025)
    finally:
        db.close()


def test_the_five_drivers_and_the_intensity_trend_are_drawn_from_the_views(drivers_sections):
    charts = re.findall(r'<svg class="chart".*?</svg>', drivers_sections, flags=re.S)
    titles = [re.search(r"<title>(.*?)</title>", chart).group(1) for chart in charts]
    assert [title.split(" 2025")[0] for title in titles] == [
        "Idle capacity",
        "Data movement",
        "Failed runs",
        "Retraining",
        "Embodied refresh",
        "Inference intensity",
    ]
    assert [chart.count('class="mark"') for chart in charts] == EXPECTED_MARKS
    # the 2024 row stays out; the view's rows follow the charts as a table
    assert "777" not in "".join(charts)
    assert drivers_sections.index("Per system and month") > drivers_sections.index(charts[4])
    # January's runs: 40 kg, of which 10 kg failed or killed
    assert "Jan · succeeded or running: 30.00 kgCO2e" in charts[2]
    assert "Jan · failed or killed: 10.00 kgCO2e" in charts[2]
    # the embodied refresh: 20,000 kg bought, 0.75 of it replacing retired GPUs
    assert "lm: grows the fleet: 5,000" in charts[4]
    assert "lm: replaces retired GPUs: 15,000" in charts[4]
    assert "chat market-based Jan: 19.00" in charts[5]
    assert "Not available yet" not in drivers_sections


def test_the_new_charts_have_drawn_marks_in_chromium(drivers_sections, tmp_path):
    if browser.chromium() is None:
        pytest.skip(
            "chromium is not installed (Debian: apt-get install chromium): the charts were "
            "not checked in a browser"
        )
    page = tmp_path / "drivers.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{report.STYLE}</style>"
        f"</head><body>{drivers_sections}</body></html>"
    )
    loaded = browser.load(page.as_uri(), tmp_path / "drivers.png")
    assert loaded.console_errors == []
    assert [chart["marks"] for chart in loaded.charts] == EXPECTED_MARKS


def test_sections_without_their_views_say_so(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    db = report.Warehouse(path)
    try:
        drivers, intensity = report._hidden_drivers(db, 2025), report._inference_intensity(db, 2025)
    finally:
        db.close()
    assert "Not available yet: <code>reporting.hidden_drivers</code>" in drivers
    assert "Not available yet: <code>reporting.inference_intensity</code>" in intensity


def test_maturity_shows_the_organisations_level_large_and_each_system_below():
    # GIVEN the organisation at L2 and two systems, one with a hostile reason
    html = report.maturity_block(
        (2, "the largest training runs are measured", "L3: bring every system to L3"),
        [
            ("chat", "production_inference", 2, HOSTILE, "L3: connect aws_carbon"),
            ("lm", "training_pipeline", 3, "tracked", None),
        ],
    )
    # THEN the level is the big figure, with its reason, next step and the rubric marked
    assert '<span class="figure">L2</span>' in html
    assert "<strong>Why:</strong> the largest training runs are measured" in html
    assert "<strong>Next:</strong> L3: bring every system to L3" in html
    assert '<li class="on"><b>L2</b>' in html and html.count('<li class="off">') == 4
    # AND one table row per system, every value escaped
    assert html.count("<tr>") == 3 and "<td>L3</td>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_maturity_without_an_organisation_row_still_lists_the_systems():
    html = report.maturity_block(None, [])
    assert 'class="maturity"' not in html and "no rows" in html
