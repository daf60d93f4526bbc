"""The API's OpenAPI schema, generated once per test process for the fuzz and malformed gates.

Both gates read the operations from it.  Loading it through the schema view (what
``schemathesis.openapi.from_wsgi`` does) renders 2+ MB of YAML and parses it back,
~4 times the cost of generating it; the document is the same (the view serves this
generator's output), so it is generated here once and handed to both as JSON.
"""

import json
from functools import cache

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer


@cache
def _rendered() -> bytes:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiJsonRenderer().render(schema)


def openapi_schema() -> dict:
    """A fresh copy of the schema as plain JSON data (callers may mutate theirs)."""
    return json.loads(_rendered())
