"""The JSON parser every API view uses: DRF's, with one more way for a body to be unreadable."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - the document is nested too deeply."


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # A few thousand nested brackets exhaust Python's stack in json.loads; an
            # anonymous caller must get a 400 for that, not a 500.
            raise ParseError(TOO_DEEP) from exc
