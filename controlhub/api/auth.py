"""Personal admin tokens sent as `Authorization: Bearer <token>`, as Webex scripts and wxc-sdk do."""
from rest_framework.authentication import TokenAuthentication


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"
