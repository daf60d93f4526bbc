"""Node types. Each module registers its classes on import; list new modules here."""

from . import data, flow, http, llm, platform, registry, subworkflow, trigger, wait  # noqa: F401
