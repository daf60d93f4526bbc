"""Voice and telephony provider adapters: Bolna.ai (calls, executions) over httpx and
Twilio (numbers, status callback signatures) through its SDK.  Both raise
``ProviderError``; nothing here writes to the database (crm.services.calls does)."""

from .base import ProviderError  # noqa: F401
