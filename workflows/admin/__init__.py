"""Back office of workflows: definitions (graph, versions, triggers), runs, the catalogue.

Thin over the services, as the API is: saving, publishing, deploying, running,
cancelling and re-running call ``workflows.services``; refusals become admin
messages or form errors, never a server error.
"""

from . import catalogue, definitions, executions, templates  # noqa: F401  (registrations)
