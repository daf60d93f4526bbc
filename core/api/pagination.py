"""Keyset (cursor) pagination: no ``COUNT(*)``, constant cost at any depth."""

from django.core.exceptions import FieldDoesNotExist, ValidationError
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from core.api.errors import ApiError


def invalid_cursor() -> ApiError:
    return ApiError(400, "invalid_cursor",
                    "The cursor is not one this list handed out; start again from the first page.")


class KeysetPagination(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self._model = getattr(queryset, "model", None)
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """A cursor is client input: check its position against the ordering field.

        DRF filters on the decoded position as is, so a forged one (``p=2024-01-01``
        under ``-id``) fails as a ``ValueError`` only when the query runs.
        """
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise invalid_cursor() from exc
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: str) -> None:
        if "\x00" in position:
            raise invalid_cursor()  # PostgreSQL text cannot hold NUL
        if self._model is None:
            return
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except FieldDoesNotExist:
            return  # an annotation: nothing to convert through
        try:
            # Validators too: some types (an IP address) are checked only there,
            # or else by the database adapter, as a ValueError.
            field.run_validators(field.to_python(position))
        except (ValidationError, ValueError, TypeError, OverflowError) as exc:
            raise invalid_cursor() from exc
