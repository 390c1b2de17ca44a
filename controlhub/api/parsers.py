"""wxc-sdk sends some bodies as pre-serialised strings and some with no body at all: always parse JSON."""
import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class AnyJSONParser(BaseParser):
    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        if not raw or not raw.strip():
            return {}
        try:
            return json.loads(raw.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ParseError("The request body nests too deeply.") from None
