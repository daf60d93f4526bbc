"""The email of a report run: text, HTML with its charts inline, files attached.

MIME layout (what mail clients expect for inline images plus attachments)::

    multipart/mixed
      multipart/related
        multipart/alternative
          text/plain
          text/html          <img src="cid:chart-<key>.png">
        image/png            Content-ID: <chart-<key>.png>, inline
        ...
      text/csv               one per table (when the definition asks for CSV)
      application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
"""

from __future__ import annotations

from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import SafeMIMEMultipart

from core import live_settings

from ..downloads import XLSX_TYPE
from ..models import ReportRun


class ReportEmail(EmailMultiAlternatives):
    """``EmailMultiAlternatives`` whose HTML part can show images sent with it."""

    def __init__(self, *args, inline_images=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.inline_images = list(inline_images)  # (content id, PNG bytes)

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if not self.inline_images:
            return msg
        related = SafeMIMEMultipart(_subtype="related",
                                    encoding=self.encoding or settings.DEFAULT_CHARSET)
        related.attach(msg)
        for content_id, png in self.inline_images:
            image = MIMEImage(png, "png")
            image.add_header("Content-ID", f"<{content_id}>")
            image.add_header("Content-Disposition", "inline", filename=content_id)
            related.attach(image)
        return related


def one_line(text: str) -> str:
    """Header-safe: a name typed with a line break must not make every send fail."""
    return " ".join(str(text).split())


def run_period(run: ReportRun) -> str:
    date_from, date_to = run.parameters.get("date_from"), run.parameters.get("date_to")
    if not (date_from or date_to):
        return "all dates"
    return f"{date_from or 'start'} to {date_to or 'latest'}"


def report_email(run: ReportRun, address: str) -> ReportEmail:
    from .runs import unzip

    definition = run.definition
    subject = one_line(f"{definition.name} ({run_period(run)})")
    lines = [definition.name, definition.get_kind_display(), "",
             f"Period: {run_period(run)}"]
    if run.finished_at:
        lines.append(f"Generated: {run.finished_at:%Y-%m-%d %H:%M} UTC")
    lines.append("")
    if run.row_count:
        lines.append("The report, with its charts, is in the HTML part of this email.")
    else:
        lines.append("No data for these parameters.")
    attachments = []
    if definition.output_csv:
        attachments += [(name, content, "text/csv") for name, content in unzip(run.csv_file)]
    if definition.output_xlsx and run.xlsx_file:
        with run.xlsx_file.open("rb") as workbook:
            attachments.append((run.xlsx_file.name.rsplit("/", 1)[-1], workbook.read(),
                                XLSX_TYPE))
    if attachments:
        lines.append("Attached: " + ", ".join(name for name, _, _ in attachments) + ".")
    message = ReportEmail(subject=subject, body="\n".join(lines) + "\n",
                          from_email=live_settings.get("report_sender"), to=[address],
                          inline_images=unzip(run.charts_file),
                          headers={"X-Report-Run": str(run.pk)})
    message.attach_alternative(run.email_html, "text/html")
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    return message
