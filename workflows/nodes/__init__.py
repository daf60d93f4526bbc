"""Node types. Each module registers its classes on import; list new modules here."""

from . import registry, trigger  # noqa: F401
