"""Write (or ``--check``) ``docs/data-dictionary.md`` from the models."""

from core.datadict import render
from core.management.generated_doc import GeneratedDocCommand


class Command(GeneratedDocCommand):
    help = "Generate the data dictionary with an ER diagram; --check fails if it is stale."
    default_path = "docs/data-dictionary.md"

    def render(self) -> str:
        return render()
