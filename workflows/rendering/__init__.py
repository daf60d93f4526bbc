"""Server-side pictures of workflows for the admin: the graph, the span tree, the Gantt chart.

Plain SVG and HTML built from data (no JavaScript, no external assets), every piece of
text escaped, so the pages work under a strict Content-Security-Policy.
"""
