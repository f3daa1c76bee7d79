"""The report's building blocks: figures are escaped, charts draw one mark per value.

The whole report is rendered from a real warehouse and opened in Chromium by
tests/e2e/test_disclosure.py.
"""

import datetime as dt

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
