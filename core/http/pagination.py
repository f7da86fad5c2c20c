"""DRF's page format ({"count", "next", "previous", "results"}) in one query per page.

The total comes from ``COUNT(*) OVER ()`` on the page's own rows instead of a separate
``SELECT COUNT(*)``, so a list costs one query whatever the page size.
"""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

INVALID_PAGE = "There is no such page."
# Past this no list has rows; answering 404 at once keeps the OFFSET inside a bigint.
MAX_PAGE = 100_000


class PageNumberPagination(pagination.PageNumberPagination):
    page_size: int  # REST_FRAMEWORK["PAGE_SIZE"], which the settings always give
    page_size_query_param = "page_size"
    # A cap, so one request cannot ask for the whole table.
    max_page_size = 100

    def _number(self, request: Request, name: str, default: int, maximum: int | None) -> int:
        """A page or page size, strictly: "abc", "0" or more than the cap is a 400, not a guess."""
        raw = request.query_params.get(name)
        if raw is None:
            return default
        number = int(raw) if raw.isascii() and raw.isdigit() else 0
        if number < 1 or (maximum is not None and number > maximum):
            limit = f"a whole number from 1 to {maximum}" if maximum else "a whole number from 1"
            raise ValidationError({name: [f"Enter {limit}."]}, code="invalid")
        return number

    def get_page_size(self, request: Request) -> int:
        return self._number(request, self.page_size_query_param, self.page_size, self.max_page_size)

    def paginate_queryset(  # type: ignore[override]  # querysets only (no sequences): the count is a window over the page
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        page_size = self.get_page_size(request)
        number = self._number(request, self.page_query_param, 1, None)
        if number > MAX_PAGE:
            raise NotFound(INVALID_PAGE)

        offset = (number - 1) * page_size
        rows = list(queryset.annotate(_total_rows=Window(Count("pk")))[offset : offset + page_size])
        if rows:
            # Models, or the rows of a .values() queryset (the hot paths build their own).
            first = rows[0]
            total = first["_total_rows"] if isinstance(first, dict) else first._total_rows
        elif number == 1:
            total = 0
        else:
            raise NotFound(INVALID_PAGE)

        paginator: Paginator[Any] = Paginator([], page_size)
        paginator.__dict__["count"] = total  # Paginator.count is a cached property
        self.page = Page(rows, number, paginator)
        self.request = request
        return rows

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] += (
                    f" (1 to {self.max_page_size}, default {self.page_size})."
                )
        return parameters
