"""Display helpers every admin shares, so a status looks the same in every app."""

from collections.abc import Mapping

from django.utils.html import format_html
from django.utils.safestring import SafeString

#: One palette for statuses: waiting, at work, done well, done with a caveat, failed.
GREY, BLUE, GREEN, AMBER, RED = "#6b7280", "#2563eb", "#15803d", "#b45309", "#b91c1c"


def status_badge(value, label, colours: Mapping) -> SafeString:
    """``label`` in bold, in the colour ``colours`` gives ``value`` (the text's own if none).

    The label is escaped: it may come from data (a status display, a message).
    """
    return format_html('<strong class="status-badge" style="color: {}">{}</strong>',
                       colours.get(value, "inherit"), label)
