"""The report renderers on a hand-made ReportData: SVG and PNG charts, HTML, CSV, XLSX.

No database: the renderers only read the dataclasses of ``reports.data``.
"""

import csv
import io
import re
import struct
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from reports.data import Chart, Column, ReportData, ReportParameters, Table
from reports.rendering.charts import chart_png, chart_svg, has_data
from reports.rendering.exports import csv_files, table_csv, xlsx
from reports.rendering.html import email_images, format_value, render_html

GENERATED = datetime(2025, 4, 2, 9, 30, tzinfo=UTC)
MALICIOUS = "<script>alert(1)</script>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sample_report(*, state_label: str = "PR") -> ReportData:
    """Two tables and three charts (bar, line, stacked): what a query module hands over."""
    weight, share = Column("weight_t", "Weight", "t"), Column("share_pct", "Share", "%")
    by_state = Table(
        "sales_by_state", "Weight by state", [Column("state", "State"), weight, share],
        [(state_label, Decimal("1234.500"), Decimal("45.2")),
         ("SP", Decimal("987654.321"), Decimal("40.1")),
         ("SC", Decimal("0.125"), None)],
    )
    months = Table(
        "state_month_pivot", "Weight per month by state",
        [Column("month", "Month"), Column("st_pr", "PR", "t"), Column("st_sp", "SP", "t"),
         Column("total", "Total", "t")],
        [("2025-01", Decimal("10.000"), Decimal("5.500"), Decimal("15.500")),
         ("2025-02", None, Decimal("7.250"), Decimal("7.250")),
         ("2025-03", Decimal("12.000"), Decimal("8.000"), Decimal("20.000"))],
    )
    return ReportData(
        kind="regional_sales",
        title="Regional sales analysis",
        parameters=ReportParameters(date_from=date(2025, 1, 1), date_to=date(2025, 3, 31),
                                    states=("PR", "SP")),
        summary=[("Total weight (t)", Decimal("988888.946")), ("States", 3)],
        tables=[by_state, months],
        charts=[
            Chart("state_chart", "Weight by state", "sales_by_state", x="state",
                  series=("weight_t",), x_label="State"),
            Chart("monthly_chart", "Monthly weight per state", "state_month_pivot",
                  x="month", series=("st_pr", "st_sp"), kind="line", x_label="Month"),
            Chart("stacked_chart", "Monthly weight, stacked", "state_month_pivot",
                  x="month", series=("st_pr", "st_sp"), kind="stacked", x_label="Month"),
        ],
        notes=["Shares are of the total weight in the selection."],
    )


def empty_report() -> ReportData:
    data = sample_report()
    for table in data.tables:
        table.rows = []
    return data


def png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk follows the magic
    return width, height


# --- charts ------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1, 2])
def test_svg_is_inline_markup_with_the_title_and_axis_labels(index):
    data = sample_report()
    chart = data.charts[index]
    svg = chart_svg(data, chart)
    assert svg.startswith("<svg")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert svg.rstrip().endswith("</svg>")
    assert f">{chart.title}</title>" in svg  # the accessible name
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    assert chart.title in texts  # drawn as text, not glyph paths
    assert "Weight (t)" in texts
    assert chart.x_label in texts


def test_svg_ids_are_unique_per_chart():
    data = sample_report()
    first, second = (chart_svg(data, chart) for chart in data.charts[1:])
    ids = set(re.findall(r'\bid="([^"]+)"', first))
    assert ids
    assert not ids & set(re.findall(r'\bid="([^"]+)"', second))


def test_multi_series_chart_has_a_legend_with_the_column_labels():
    data = sample_report()
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", chart_svg(data, data.charts[1]))
    assert {"PR", "SP"} <= set(texts)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_png_is_a_png_of_a_plausible_size(index):
    data = sample_report()
    png = chart_png(data, data.charts[index])
    assert png.startswith(PNG_MAGIC)
    assert png_size(png) == (800, 400)
    assert 5_000 < len(png) < 500_000


def test_barh_and_dollar_signs_and_many_categories():
    rows = [(f"Client $ {i} with a rather long trading name", Decimal(i)) for i in range(60)]
    table = Table("clients", "Clients", [Column("client", "Client"), Column("w", "Weight", "t")],
                  rows)
    chart = Chart("top", "Top $clients$", "clients", x="client", series=("w",), kind="barh")
    data = ReportData("client_sales", "Clients", ReportParameters(), tables=[table],
                      charts=[chart])
    svg = chart_svg(data, chart)
    texts = re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)
    assert "Top $clients$ (first 25 of 60)" in texts  # literal dollars, not mathtext
    assert any(text.startswith("Client $ 0 ") and text.endswith("…") for text in texts)
    assert chart_png(data, chart).startswith(PNG_MAGIC)


def test_a_chart_over_an_empty_table_is_not_drawn():
    data = empty_report()
    chart = data.charts[0]
    assert chart_svg(data, chart) is None
    assert chart_png(data, chart) is None
    assert not has_data(data, chart)


def test_a_chart_naming_a_missing_column_is_an_error():
    data = sample_report()
    data.charts = [Chart("bad", "Bad", "sales_by_state", x="state", series=("nope",))]
    with pytest.raises(ValueError, match="nope"):
        chart_svg(data, data.charts[0])


# --- HTML --------------------------------------------------------------------------------


def test_html_has_one_figure_per_chart_with_inline_svg():
    data = sample_report()
    html = render_html(data, generated_at=GENERATED)
    figures = re.findall(r'<figure class="report-chart" data-chart="([^"]+)">(.*?)</figure>',
                         html, re.S)
    assert [key for key, _ in figures] == [chart.key for chart in data.charts]
    for (_, body), chart in zip(figures, data.charts, strict=True):
        assert body.count("<svg") == 1
        assert f"<figcaption>{chart.title}</figcaption>" in body
    assert html.startswith("<!DOCTYPE html>")
    assert "<h1>Regional sales analysis</h1>" in html
    assert "2025-04-02 09:30" in html
    assert "2025-01-01 to 2025-03-31" in html  # parameters used
    assert "PR, SP" in html


def test_html_tables_format_numbers_with_units_in_headers():
    html = render_html(sample_report(), generated_at=GENERATED)
    assert '<th scope="col" class="num">Weight (t)</th>' in html
    assert '<th scope="col" class="num">Share (%)</th>' in html
    assert re.search(r'<td class="num"[^>]*>1,234\.500</td>', html)
    assert re.search(r'<td class="num"[^>]*>987,654\.321</td>', html)
    assert re.search(r'<td class="num"[^>]*>0\.125</td>', html)
    assert re.search(r'<td class="num"[^>]*>45\.2</td>', html)
    assert re.search(r'<td class="num"[^>]*>—</td>', html)  # None
    assert "988,888.946" in html  # the summary figure
    assert "Shares are of the total weight in the selection." in html


def test_format_value():
    assert format_value(Decimal("1234567.5"), "t") == "1,234,567.500"
    assert format_value(1500, "t") == "1,500.000"
    assert format_value(Decimal("12.34"), "%") == "12.3"
    assert format_value(1234567) == "1,234,567"
    assert format_value(Decimal("2.5")) == "2.5"
    assert format_value(Decimal("1E+3")) == "1,000"
    assert format_value(None) == "—"
    assert format_value(date(2025, 1, 31)) == "2025-01-31"


def test_html_escapes_everything_from_the_data():
    data = sample_report(state_label=MALICIOUS)
    data.title = MALICIOUS
    data.summary.append((MALICIOUS, MALICIOUS))
    data.notes.append(MALICIOUS)
    data.tables[0].columns[0] = Column("state", MALICIOUS)
    data.charts[0] = Chart("state_chart", MALICIOUS, "sales_by_state", x="state",
                           series=("weight_t",), x_label=MALICIOUS)
    for mode in ("svg", "cid"):
        html = render_html(data, generated_at=GENERATED, image_mode=mode)
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_for_email_refers_to_cid_images():
    data = sample_report()
    html = render_html(data, generated_at=GENERATED, image_mode="cid")
    assert "<svg" not in html
    images = email_images(data)
    assert [cid for cid, _ in images] == [f"chart-{chart.key}.png" for chart in data.charts]
    for cid, png in images:
        assert f'src="cid:{cid}"' in html
        assert png.startswith(PNG_MAGIC)
    assert html.count('<figure class="report-chart"') == len(data.charts)


def test_html_skips_the_chart_of_an_empty_table():
    data = sample_report()
    data.tables[1].rows = []
    html = render_html(data, generated_at=GENERATED)
    assert re.findall(r'data-chart="([^"]+)"', html) == ["state_chart"]
    assert "No rows." in html
    assert [cid for cid, _ in email_images(data)] == ["chart-state_chart.png"]


def test_empty_report_says_so_and_has_no_figures():
    data = empty_report()
    for mode in ("svg", "cid"):
        html = render_html(data, generated_at=GENERATED, image_mode=mode)
        assert "No data for these parameters." in html
        assert "<figure" not in html
        assert "<table" not in html
    assert email_images(data) == []


def test_unknown_image_mode_is_refused():
    with pytest.raises(ValueError, match="image_mode"):
        render_html(sample_report(), image_mode="png")


# --- CSV and XLSX ------------------------------------------------------------------------


def test_csv_round_trips_through_csv_reader():
    data = sample_report(state_label='Paraná, "PR"')
    rows = list(csv.reader(io.StringIO(table_csv(data.tables[0]).decode("utf-8"))))
    assert rows == [
        ["State", "Weight (t)", "Share (%)"],
        ['Paraná, "PR"', "1234.500", "45.2"],
        ["SP", "987654.321", "40.1"],
        ["SC", "0.125", ""],
    ]


def test_csv_numbers_are_plain_strings():
    table = Table("t", "T", [Column("a", "A"), Column("b", "B", "t")],
                  [(Decimal("1E+3"), 0.5), (date(2025, 1, 1), 7)])
    rows = list(csv.reader(io.StringIO(table_csv(table).decode("utf-8"))))
    assert rows[1:] == [["1000", "0.5"], ["2025-01-01", "7"]]


def test_csv_files_one_per_table():
    data = sample_report()
    files = csv_files(data)
    assert [name for name, _ in files] == ["sales_by_state.csv", "state_month_pivot.csv"]
    pivot = list(csv.reader(io.StringIO(files[1][1].decode("utf-8"))))
    assert pivot[0] == ["Month", "PR (t)", "SP (t)", "Total (t)"]
    assert pivot[2] == ["2025-02", "", "7.250", "7.250"]


def test_xlsx_has_a_summary_and_one_sheet_per_table():
    data = sample_report()
    book = load_workbook(io.BytesIO(xlsx(data, generated_at=GENERATED)))
    assert book.sheetnames == ["Summary", "sales_by_state", "state_month_pivot"]

    summary = book["Summary"]
    cells = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row[0]}
    assert summary["A1"].value == "Regional sales analysis"
    assert summary["A1"].font.bold
    assert cells["Period"] == "2025-01-01 to 2025-03-31"
    assert cells["States"] == 3  # the summary figure (after the "States" parameter)
    assert float(cells["Total weight (t)"]) == pytest.approx(988888.946)
    assert cells["Generated"] == datetime(2025, 4, 2, 9, 30)

    sheet = book["sales_by_state"]
    assert [cell.value for cell in sheet[1]] == ["State", "Weight (t)", "Share (%)"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet["A2"].value == "PR"
    assert sheet["B2"].value == pytest.approx(1234.5)
    assert sheet["B2"].number_format == "#,##0.000"
    assert sheet["C2"].value == pytest.approx(45.2)
    assert sheet["C2"].number_format == '0.0"%"'
    assert sheet["C4"].value is None
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= len("987,654.321")


def test_xlsx_sheet_titles_are_short_unique_and_legal():
    long_key = "a_very_long_table_key_that_excel_would_refuse_as_a_title"
    tables = [Table(key, key, [Column("x", "X")], [(1,)])
              for key in (long_key, long_key, "summary", "odd[chars]?")]
    data = ReportData("k", "T", ReportParameters(), tables=tables)
    names = load_workbook(io.BytesIO(xlsx(data))).sheetnames
    assert names[0] == "Summary"
    assert all(len(name) <= 31 for name in names)
    assert len({name.lower() for name in names}) == len(names)
    assert names[1] == long_key[:31]
    assert names[4] == "odd_chars__"


def test_xlsx_of_an_empty_report():
    book = load_workbook(io.BytesIO(xlsx(empty_report())))
    assert book.sheetnames == ["Summary", "sales_by_state", "state_month_pivot"]
    values = [row[0] for row in book["Summary"].iter_rows(values_only=True)]
    assert "No data for these parameters" in values
    assert book["sales_by_state"].max_row == 1  # the header only
