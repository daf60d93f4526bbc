"""Accounts models: users, API tokens (sessions), sign-in attempts and user variables."""

from .attempts import LoginAttempt
from .tokens import ApiToken
from .user import User
from .variables import UserVariable

__all__ = ["ApiToken", "LoginAttempt", "User", "UserVariable"]
