"""Where models come from: providers (a base URL and a key from the vault), their models,
and dated prices (an old call keeps the price that was in effect when it was made)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.models import TimestampedModel
from core.tenancy import ADMIN, WorkspaceScoped

from .common import same_workspace, validate_capabilities, validate_object


class LLMProvider(WorkspaceScoped, TimestampedModel):
    """An LLM API account: OpenAI-compatible servers (OpenAI, Azure, vLLM, Ollama, …) or
    Anthropic.  The key lives in the workspace vault; this row only names the secret."""

    tenancy_write_role = ADMIN

    class Kind(models.TextChoices):
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible"
        ANTHROPIC = "anthropic", "Anthropic"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=Kind.choices,
                            default=Kind.OPENAI_COMPATIBLE)
    base_url = models.URLField(
        max_length=300, blank=True,
        help_text="Blank: the provider's public API. Custom URLs pass the outbound guard "
                  "(internal addresses only when listed in LLM_ALLOWED_HOSTS).")
    api_key_secret = models.ForeignKey(
        "workspaces.Secret", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="The vault secret holding the API key (blank: none, "
                                    "e.g. a local Ollama).")
    organization = models.CharField(max_length=120, blank=True,
                                    help_text="OpenAI organization id, if any.")
    timeout = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(600)],
        help_text="Seconds one request may take.")
    max_retries = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(10)],
        help_text="Retries on 429 and 5xx, with backoff honouring Retry-After.")
    is_active = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ("name", "id")
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="agents_provider_unique_name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        same_workspace(self, "api_key_secret")


class LLMModel(WorkspaceScoped, TimestampedModel):
    """One model a provider serves, by the name its API expects."""

    tenancy_write_role = ADMIN

    class Kind(models.TextChoices):
        CHAT = "chat", "Chat"
        EMBEDDING = "embedding", "Embedding"

    provider = models.ForeignKey(LLMProvider, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=120, help_text="The model id the API expects, "
                                                      "e.g. gpt-4o-mini.")
    display_name = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CHAT)
    context_window = models.PositiveIntegerField(
        default=8192, validators=[MinValueValidator(1)], help_text="Tokens in and out.")
    max_output_tokens = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="The most tokens one answer may have (blank: the context window).")
    capabilities = models.JSONField(default=list, blank=True,
                                    validators=[validate_capabilities],
                                    help_text='e.g. ["tools", "json", "streaming"].')
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("provider", "name")
        constraints = [models.UniqueConstraint(fields=["provider", "name"],
                                               name="agents_model_unique_name")]

    def __str__(self) -> str:
        return self.display_name or self.name

    def clean(self):
        same_workspace(self, "provider")

    def supports(self, capability: str) -> bool:
        return capability in (self.capabilities or [])


_PRICE = {"max_digits": 12, "decimal_places": 6, "default": Decimal(0),
          "validators": [MinValueValidator(Decimal(0))]}


class ModelPrice(WorkspaceScoped, TimestampedModel):
    """A model's price from a date on: the price of a call is the one in effect at its time."""

    tenancy_write_role = ADMIN

    model = models.ForeignKey(LLMModel, on_delete=models.CASCADE, related_name="prices")
    input_per_million = models.DecimalField(**_PRICE, help_text="Per million input tokens.")
    output_per_million = models.DecimalField(**_PRICE, help_text="Per million output tokens.")
    cached_input_per_million = models.DecimalField(
        **_PRICE, help_text="Per million cached input tokens (prompt-cache hits).")
    currency = models.CharField(max_length=3, default="USD",
                                help_text="ISO 4217 code, e.g. USD.")
    effective_from = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("model", "-effective_from")
        constraints = [models.UniqueConstraint(fields=["model", "effective_from"],
                                               name="agents_price_unique_start")]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from:%Y-%m-%d}"

    def clean(self):
        same_workspace(self, "model")
        if self.currency and (len(self.currency) != 3 or not self.currency.isalpha()
                              or not self.currency.isupper()):
            raise ValidationError({"currency": "A three-letter ISO 4217 code in capitals."})
