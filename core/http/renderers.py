"""The JSON renderer every API view uses: orjson, several times faster than the standard
library's encoder on an availability page, and the same bytes for what our serializers give."""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

# Datetimes go through DRF's encoder (milliseconds, "Z"), so a raw datetime that reaches the
# renderer reads as a serializer's does; keys that are not strings become strings, as json's.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_drf = JSONEncoder()


class JSONRenderer(renderers.JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            # Asked for indented output ("; indent=4"): DRF's own, which honours the width.
            return super().render(data, accepted_media_type, renderer_context)
        return orjson.dumps(data, default=_drf.default, option=_OPTIONS)
