"""Accounts models: users, API tokens (sessions) and sign-in attempts."""

from .attempts import LoginAttempt
from .tokens import ApiToken
from .user import User

__all__ = ["ApiToken", "LoginAttempt", "User"]
