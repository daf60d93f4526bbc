"""Factories for outbound webhooks; a delivery's endpoint and message, and an attempt's
delivery, share its workspace."""

import uuid

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from webhooks import models as m
from webhooks.services import signing

from .workspaces import SAME_WORKSPACE, WorkspaceFactory

#: The signing secret every factory-made endpoint has (tests verify with it).
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 of 24 bytes


class WebhookEndpointFactory(DjangoModelFactory):
    class Meta:
        model = m.WebhookEndpoint

    workspace = factory.SubFactory(WorkspaceFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/receiver/{n}")
    description = factory.Sequence(lambda n: f"Receiver {n}")
    secret_ciphertext = factory.LazyFunction(lambda: signing.encrypt(SECRET))


class WebhookMessageFactory(DjangoModelFactory):
    class Meta:
        model = m.WebhookMessage

    workspace = factory.SubFactory(WorkspaceFactory)
    message_id = factory.LazyFunction(lambda: f"msg_{uuid.uuid4().hex}")
    event_type = "webhooks.test"
    timestamp = factory.LazyFunction(timezone.now)
    payload = factory.LazyAttribute(lambda o: {
        "type": o.event_type, "version": 1, "timestamp": o.timestamp.isoformat(),
        "data": {"endpoint": 0, "message": "factory"}})


class WebhookDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = m.WebhookDelivery

    workspace = factory.SubFactory(WorkspaceFactory)
    endpoint = factory.SubFactory(WebhookEndpointFactory, workspace=SAME_WORKSPACE)
    message = factory.SubFactory(WebhookMessageFactory, workspace=SAME_WORKSPACE)
    next_attempt_at = factory.LazyFunction(timezone.now)


class WebhookAttemptFactory(DjangoModelFactory):
    class Meta:
        model = m.WebhookAttempt

    workspace = factory.SubFactory(WorkspaceFactory)
    delivery = factory.SubFactory(WebhookDeliveryFactory, workspace=SAME_WORKSPACE)
    endpoint = factory.LazyAttribute(lambda o: o.delivery.endpoint)
    number = 1
    url = "https://hooks.example.com/receiver"
    request_headers = factory.LazyFunction(lambda: {"webhook-signature": "v1,redacted"})
    response_status = 200
    succeeded = True
