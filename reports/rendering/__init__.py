"""Renderers for ``reports.data.ReportData``: charts (SVG/PNG), HTML pages and files.

``charts`` draws a ``Chart`` from its ``Table`` with matplotlib (no pyplot, so it is
thread-safe), ``html`` renders the report page (inline SVG, or ``cid:`` images for
email), ``exports`` writes CSV and XLSX.
"""
