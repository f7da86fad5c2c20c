"""DRF's page format ({"count", "next", "previous", "results"}) in one query per page.

The total comes from ``COUNT(*) OVER ()`` on the page's own rows instead of a separate
``SELECT COUNT(*)``, so a list costs one query whatever the page size.
"""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

INVALID_PAGE = "There is no such page."


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    # A cap, so one request cannot ask for the whole table.
    max_page_size = 100

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any]:
        page_size = self.get_page_size(request)
        raw_number = request.query_params.get(self.page_query_param, "1")
        try:
            number = int(raw_number)
        except ValueError:
            number = 0
        if number < 1:
            raise NotFound(INVALID_PAGE)

        offset = (number - 1) * page_size
        rows = list(queryset.annotate(_total_rows=Window(Count("pk")))[offset : offset + page_size])
        if rows:
            total = rows[0]._total_rows
        elif number == 1:
            total = 0
        else:
            raise NotFound(INVALID_PAGE)

        paginator = Paginator([], page_size)
        paginator.__dict__["count"] = total  # Paginator.count is a cached property
        self.page = Page(rows, number, paginator)
        self.request = request
        return rows
