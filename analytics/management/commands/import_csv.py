"""Import BI files through the same pipeline the admin and the API use."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from analytics.models import ImportJob
from analytics.pipeline.outcome import problem_cells, problem_text, shown_progress
from analytics.pipeline.run import run_jobs
from analytics.services.imports import import_jobs_create, import_jobs_enqueue
from workspaces.models import Workspace

BAR_WIDTH = 30


class Command(BaseCommand):
    help = ("Import inventory and/or sales files (pipe-delimited, the predecessor's format) "
            "into a workspace. Files given together number new clients together.")

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--inventory", type=Path, help="Inventory file (estoque).")
        parser.add_argument("--sales", type=Path, help="Sales file (faturamento).")
        parser.add_argument("--replace", action="store_true",
                            help="Swap out the rows of the latest import of this dataset.")
        parser.add_argument("--skip-invalid", action="store_true",
                            help="Load the valid rows and report the bad ones.")
        parser.add_argument("--delimiter", default="", help="Default: detected.")
        parser.add_argument("--encoding", default="", help="Default: detected.")
        parser.add_argument("--queue", action="store_true",
                            help="Hand the jobs to the Celery worker instead of running here.")

    def handle(self, *args, workspace, inventory, sales, replace, skip_invalid, delimiter,
               encoding, queue, **options):
        target = Workspace.objects.filter(slug=workspace).first()
        if target is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        paths = {name: path for name, path in (("inventory", inventory), ("sales", sales))
                 if path is not None}
        if not paths:
            raise CommandError("Give --inventory, --sales or both.")
        for path in paths.values():
            if not path.is_file():
                raise CommandError(f"{path} is not a readable file.")
        handles = {name: path.open("rb") for name, path in paths.items()}
        try:
            jobs = import_jobs_create(
                workspace=target, uploads={n: File(f, name=paths[n].name)
                                           for n, f in handles.items()},
                mode=ImportJob.Mode.REPLACE if replace else ImportJob.Mode.APPEND,
                skip_invalid=skip_invalid, delimiter=delimiter, encoding=encoding,
                enqueue=False)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}"
                                         for k, v in exc.message_dict.items())) from exc
        finally:
            for f in handles.values():
                f.close()
        pending = [job.pk for job in jobs if job.status == ImportJob.Status.PENDING]
        if pending and queue:
            import_jobs_enqueue(pending)
            self.stdout.write(f"Queued import job(s) {', '.join(map(str, pending))}.")
            return
        if pending:
            self._shown: dict[int, int] = {}
            run_jobs(pending, on_progress=self._draw)
        failed = False
        for job in jobs:
            job.refresh_from_db()
            style = {ImportJob.Status.SUCCEEDED: self.style.SUCCESS,
                     ImportJob.Status.DUPLICATE: self.style.WARNING}.get(job.status,
                                                                         self.style.ERROR)
            self.stdout.write(style(f"#{job.pk} {job.dataset} {job.status}: {job.message}"))
            for error in job.errors_preview[:10]:
                self.stdout.write("  " + problem_text(*problem_cells(error)))
            if job.error_report:
                self.stdout.write(f"  full error report: {job.error_report.path}")
            failed |= job.status == ImportJob.Status.FAILED
        if failed:
            raise CommandError("Import failed; nothing from the failed file was loaded.")

    def _draw(self, job: ImportJob) -> None:
        """A bar on stderr: redrawn in place on a terminal; in a log (not a TTY), a line
        per 20 % step crossed, the last at 100 %.  A failed job gets no bar, only the
        word (its reason follows on stdout)."""
        tty = self.stderr.isatty()
        label = f"{job.dataset} #{job.pk}"
        percent = shown_progress(job)
        if percent is None:
            text = f"[{'failed':^{BAR_WIDTH}}] {label}"
            # On a terminal the line overwrites the bar: pad it to the bar's length.
            text = f"\r{text:<{BAR_WIDTH + 8 + len(label)}}" if tty else text
            self.stderr.write(text, style_func=self.style.ERROR, ending="\n")
            return
        last = self._shown.get(job.pk, -1)
        if not tty and percent // 20 <= last // 20:
            return
        self._shown[job.pk] = percent
        filled = BAR_WIDTH * percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        end = "\n" if not tty or job.is_finished else "\r"
        self.stderr.write(f"[{bar}] {percent:3d}% {label}", style_func=str, ending=end)
        self.stderr.flush()
