"""Import contacts from a CSV file through the same service the API and the admin use."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from analytics.models import ImportJob
from analytics.pipeline.outcome import problem_cells, problem_text
from analytics.services.imports import import_jobs_enqueue
from crm.imports.contacts import ON_DUPLICATE
from crm.imports.service import contact_import_run, contact_import_start
from workspaces.models import Workspace


class Command(BaseCommand):
    help = ("Import contacts (first_name, last_name, phone, email, company, time_zone, tags, "
            "source, custom_<name>) from a CSV file into a workspace.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--region", default="",
                            help="Country of numbers written without +, e.g. PT.")
        parser.add_argument("--on-duplicate", choices=ON_DUPLICATE, default="skip",
                            help="Lines matching an existing contact: skip or update it.")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="Load the good lines when some are bad.")
        parser.add_argument("--delimiter", default="", help="Default: detected.")
        parser.add_argument("--encoding", default="", help="Default: detected.")
        parser.add_argument("--queue", action="store_true",
                            help="Hand the job to the Celery worker instead of running here.")

    def handle(self, *args, file, workspace, region, on_duplicate, skip_invalid, delimiter,
               encoding, queue, **options):
        target = Workspace.objects.filter(slug=workspace).first()
        if target is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        if not file.is_file():
            raise CommandError(f"{file} is not a readable file.")
        with file.open("rb") as handle:
            try:
                job = contact_import_start(
                    workspace=target, upload=File(handle, name=file.name), region=region,
                    on_duplicate=on_duplicate, skip_invalid=skip_invalid,
                    delimiter=delimiter, encoding=encoding, enqueue=False)
            except ValidationError as exc:
                raise CommandError("; ".join(f"{k}: {' '.join(v)}"
                                             for k, v in exc.message_dict.items())) from exc
        if job.status == ImportJob.Status.PENDING:
            if queue:
                import_jobs_enqueue([job.pk])
                self.stdout.write(f"Queued import job {job.pk}.")
                return
            job = contact_import_run(job)
        style = {ImportJob.Status.SUCCEEDED: self.style.SUCCESS,
                 ImportJob.Status.DUPLICATE: self.style.WARNING}.get(job.status,
                                                                     self.style.ERROR)
        self.stdout.write(style(f"#{job.pk} contacts {job.status}: {job.message}"))
        for error in job.errors_preview[:10]:
            self.stdout.write("  " + problem_text(*problem_cells(error)))
        if job.error_report:
            self.stdout.write(f"  full report: {job.error_report.path}")
        if job.status == ImportJob.Status.FAILED:
            raise CommandError("The import failed; nothing was loaded.")
