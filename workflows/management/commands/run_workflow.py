"""Start an execution of a workflow from the command line (optionally wait for it)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.api.errors import ApiError
from workflows.models import Workflow
from workflows.services.executions import execution_start, execution_wait


class Command(BaseCommand):
    help = "Start an execution of a workflow's live version with a JSON input."

    def add_arguments(self, parser):
        parser.add_argument("workflow", type=int, help="The workflow's id.")
        parser.add_argument("--input", default="{}", help="The input, as JSON.")
        parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                            help="Wait up to this long for it to finish, then print it.")

    def handle(self, *args, workflow: int, input: str, wait: float, **options):
        found = Workflow.objects.filter(pk=workflow).first()
        if found is None:
            raise CommandError(f"No workflow #{workflow}.")
        try:
            payload = json.loads(input)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--input is not JSON: {exc}") from exc
        try:
            execution = execution_start(workflow=found, input=payload)
        except ApiError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Execution #{execution.pk} of \"{found}\" {execution.status} "
                          f"(trace {execution.trace_id}).")
        if wait > 0:
            execution = execution_wait(execution, wait)
            self.stdout.write(f"Execution #{execution.pk} {execution.status}.")
            if execution.status == execution.Status.SUCCEEDED:
                self.stdout.write(json.dumps(execution.output, indent=2, ensure_ascii=False))
            elif execution.error:
                self.stdout.write(execution.error)
