"""Platform nodes: run a report, import a BI CSV file, send an email.

Each goes through the owning app's service (the same entry point as the admin and the
API) and only ever touches objects of the execution's workspace: an id from another
workspace gets the same answer as a missing one.  They start work elsewhere (a report run,
an import job) and output its id at once; an event trigger on ``reports.run.succeeded`` or
``analytics.import.succeeded`` continues when that work is done.
"""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File as DjangoFile
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email

from . import registry
from .base import NodeContext, NodeError, NodeResult, NodeType
from .common import checked_config, in_workspace

MAX_RECIPIENTS = 50


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}"
                         for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


@registry.register
class RunReportNode(NodeType):
    key = "run_report"
    name = "Run report"
    category = "platform"
    description = ("Start a run of a report definition of this workspace (built and sent to "
                   "its recipients by the worker); outputs the run's id and status.")
    side_effects = True
    config_schema = {
        "type": "object",
        "properties": {"report_id": {"type": "integer", "minimum": 1,
                                     "description": "The report definition's id."}},
        "required": ["report_id"],
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        from reports.models import ReportDefinition, ReportRun
        from reports.services.runs import run_request

        config = checked_config(self, context.config)
        definition = in_workspace(ReportDefinition.objects.all(), config["report_id"],
                                  context, field="report_id", label="report definition")
        trigger = getattr(ReportRun.Trigger, "WORKFLOW", ReportRun.Trigger.API)
        run = run_request(definition, trigger=trigger, by=None)
        return NodeResult(output={"run_id": run.pk, "status": run.status,
                                  "report_id": definition.pk, "report": definition.name,
                                  "error": run.error or None})


@registry.register
class ImportCsvNode(NodeType):
    key = "import_csv"
    name = "Import CSV"
    category = "platform"
    description = ("Start a BI import (sales or inventory) from a file stored in this "
                   "workspace; outputs the import job.  The same file imported again gives "
                   "a 'duplicate' job that loads nothing.")
    side_effects = True
    config_schema = {
        "type": "object",
        "properties": {
            "file_id": {"type": "integer", "minimum": 1,
                        "description": "The id of a file of this workspace."},
            "dataset": {"enum": ["sales", "inventory"]},
            "mode": {"enum": ["append", "replace"], "default": "append"},
            "skip_invalid": {"type": "boolean", "default": False},
            "delimiter": {"type": "string", "maxLength": 1, "default": ""},
            "encoding": {"type": "string", "maxLength": 40, "default": ""},
        },
        "required": ["file_id", "dataset"],
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        from analytics.services.imports import import_jobs_create
        from workspaces.models import File, Workspace

        config = checked_config(self, context.config)
        stored = in_workspace(File.objects.all(), config["file_id"], context,
                              field="file_id", label="file")
        if stored.status != File.Status.ACTIVE:
            raise NodeError(f"file_id: file #{stored.pk} ({stored.name}) is "
                            f"{stored.get_status_display().lower()}, not active.",
                            retryable=False)
        workspace = Workspace.objects.get(pk=context.workspace_id)
        try:
            with stored.file.open("rb") as handle:
                upload = DjangoFile(handle, name=stored.name)
                [job] = import_jobs_create(
                    workspace=workspace, uploads={config["dataset"]: upload},
                    mode=config.get("mode", "append"),
                    skip_invalid=config.get("skip_invalid", False),
                    delimiter=config.get("delimiter", ""), encoding=config.get("encoding", ""))
        except ValidationError as exc:
            raise NodeError(_validation_message(exc), retryable=False) from None
        except FileNotFoundError:
            raise NodeError(f"file_id: the content of file #{stored.pk} ({stored.name}) is "
                            f"missing from storage.", retryable=False) from None
        return NodeResult(output={"job_id": job.pk, "status": job.status,
                                  "dataset": job.dataset, "file_id": stored.pk,
                                  "duplicate_of": job.duplicate_of_id,
                                  "message": job.message})


_ADDRESSES = {"anyOf": [{"type": "string", "minLength": 3, "maxLength": 254},
                        {"type": "array", "minItems": 1, "maxItems": MAX_RECIPIENTS,
                         "items": {"type": "string", "minLength": 3, "maxLength": 254}}]}


@registry.register
class SendEmailNode(NodeType):
    key = "send_email"
    name = "Send email"
    category = "platform"
    description = ("Send an email (text, optionally HTML) from the platform's address to up "
                   f"to {MAX_RECIPIENTS} recipients.")
    side_effects = True
    default_timeout = 60
    config_schema = {
        "type": "object",
        "properties": {
            "to": _ADDRESSES,
            "cc": _ADDRESSES,
            "bcc": _ADDRESSES,
            "reply_to": {"type": "string", "maxLength": 254},
            "subject": {"type": "string", "minLength": 1, "maxLength": 998},
            "text": {"type": "string", "maxLength": 1_000_000},
            "html": {"type": "string", "maxLength": 1_000_000},
        },
        "required": ["to", "subject", "text"],
        "additionalProperties": False,
    }

    def run(self, context: NodeContext) -> NodeResult:
        from reports.services.emails import one_line

        config = checked_config(self, context.config)
        to, cc, bcc = (_addresses(config, field) for field in ("to", "cc", "bcc"))
        if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
            raise NodeError(f"to: at most {MAX_RECIPIENTS} recipients in all.",
                            retryable=False)
        reply_to = _addresses(config, "reply_to")
        headers = {}
        if context.idempotency_key:
            # At least once: a receiving system can drop a second copy by this header.
            headers["X-Idempotency-Key"] = context.idempotency_key
        message = EmailMultiAlternatives(
            subject=one_line(config["subject"]), body=config["text"],
            from_email=settings.DEFAULT_FROM_EMAIL, to=to, cc=cc, bcc=bcc,
            reply_to=reply_to, headers=headers)
        if config.get("html"):
            message.attach_alternative(config["html"], "text/html")
        try:
            sent = message.send()
        except (smtplib.SMTPException, OSError) as exc:
            raise NodeError(f"The email could not be sent: {exc}", retryable=True) from None
        return NodeResult(output={"sent": bool(sent), "to": to, "cc": cc,
                                  "subject": message.subject})


def _addresses(config: dict, field: str) -> list[str]:
    value = config.get(field) or []
    addresses = [value] if isinstance(value, str) else list(value)
    cleaned = []
    for address in addresses:
        address = address.strip()
        try:
            validate_email(address)
        except ValidationError:
            raise NodeError(f"{field}: {address!r} is not an email address.",
                            retryable=False) from None
        cleaned.append(address)
    return cleaned
