"""Write (or ``--check``) ``docs/events.md`` from the registered domain events."""

from core.event_catalogue import render
from core.management.generated_doc import GeneratedDocCommand


class Command(GeneratedDocCommand):
    help = ("Generate the domain event catalogue (names, versions, payload schemas); "
            "--check fails if it is stale.")
    default_path = "docs/events.md"

    def render(self) -> str:
        return render()
