"""Contact imports: the contacts CSV format on the BI import machinery.

Importing this package registers the format with ``analytics.pipeline.formats``, so
``CrmConfig.ready()`` imports it and a worker knows the format before it takes a job.
"""

from .contacts import register

register()
