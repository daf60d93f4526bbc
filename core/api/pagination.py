"""Keyset (cursor) pagination: no ``COUNT(*)``, constant cost at any depth."""

from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
