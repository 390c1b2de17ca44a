"""Sign-in policy for django-allauth: nobody signs up on their own; administrators invite people."""
from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False
