import pytest

from tests.factories.webhooks import WebhookEndpointFactory

from .receiver import receiver


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    # The receiver listens on loopback, which the outbound guard refuses unless listed.
    settings.WEBHOOKS_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def hook():
    with receiver() as server:
        yield server


@pytest.fixture
def endpoint(db, hook):
    return WebhookEndpointFactory(url=hook.url())


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``committed(func, *args, **kwargs)``: run it and the on-commit work it queues (the
    fan-out and the Celery tasks, eager in tests), as a committed transaction would."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run
