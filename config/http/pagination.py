"""DRF's page format ({"count", "next", "previous", "results"}) with a capped page size."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    # A cap, so one request cannot ask for the whole table.
    max_page_size = 100
