"""JSON as Webex sends it: nulls omitted everywhere (wxc-sdk models reject `"x": null` in strict mode)."""
from rest_framework.renderers import JSONRenderer


def omit_nulls(value):
    if isinstance(value, dict):
        return {k: omit_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [omit_nulls(v) for v in value]
    return value


class WebexJSONRenderer(JSONRenderer):
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return super().render(omit_nulls(data), accepted_media_type, renderer_context)
