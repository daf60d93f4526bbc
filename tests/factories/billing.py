"""Factories for billing; a workspace's rows (customer, subscription, invoices) share it."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from billing import models as m

from .workspaces import SAME_WORKSPACE, WorkspaceFactory


class FeatureFactory(DjangoModelFactory):
    class Meta:
        model = m.Feature
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"test_feature_{n}")
    name = factory.Sequence(lambda n: f"Test feature {n}")
    kind = m.Feature.Kind.LIMIT
    measure = m.Feature.Measure.GAUGE
    unit = "things"


class PlanFactory(DjangoModelFactory):
    class Meta:
        model = m.Plan

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    interval = m.Plan.Interval.MONTH
    price = 3000
    currency = "USD"
    trial_days = 0


class PlanFeatureFactory(DjangoModelFactory):
    class Meta:
        model = m.PlanFeature

    plan = factory.SubFactory(PlanFactory)
    feature = factory.SubFactory(FeatureFactory)
    limit = 100
    included = 0
    overage_price = Decimal("0")


class PaymentProviderFactory(DjangoModelFactory):
    class Meta:
        model = m.PaymentProvider

    code = factory.Sequence(lambda n: f"provider-{n}")
    name = factory.Sequence(lambda n: f"Provider {n}")
    kind = m.PaymentProvider.Kind.MANUAL


class PlanProviderMappingFactory(DjangoModelFactory):
    class Meta:
        model = m.PlanProviderMapping

    plan = factory.SubFactory(PlanFactory)
    provider = factory.SubFactory(PaymentProviderFactory)
    external_product_id = factory.Sequence(lambda n: f"prod_{n:06d}")
    external_price_id = factory.Sequence(lambda n: f"price_{n:06d}")


class CouponFactory(DjangoModelFactory):
    class Meta:
        model = m.Coupon

    code = factory.Sequence(lambda n: f"coupon-{n}")
    name = factory.Sequence(lambda n: f"Coupon {n}")
    kind = m.Coupon.Kind.PERCENT
    percent_off = Decimal("10.00")
    duration = m.Coupon.Duration.ONCE


class IssuingAccountFactory(DjangoModelFactory):
    class Meta:
        model = m.IssuingAccount

    name = factory.Sequence(lambda n: f"Synapscale Ltd {n}")
    legal_name = "Synapscale Ltd"
    address = "1 Example Street\nLisbon"
    email = "billing@synapscale.example"
    number_prefix = factory.Sequence(lambda n: f"T{n}-")


class PaymentCustomerFactory(DjangoModelFactory):
    class Meta:
        model = m.PaymentCustomer

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"billing{n}@example.com")
    currency = "USD"
    tax_rate = Decimal("0")


class PaymentMethodFactory(DjangoModelFactory):
    class Meta:
        model = m.PaymentMethod

    workspace = factory.SubFactory(WorkspaceFactory)
    # A workspace has one customer: its payment methods share it.
    customer = factory.LazyAttribute(
        lambda o: m.PaymentCustomer.objects.filter(workspace=o.workspace).first()
        or PaymentCustomerFactory(workspace=o.workspace))
    provider = factory.SubFactory(PaymentProviderFactory)
    external_id = factory.Sequence(lambda n: f"pm_test_{n:08d}")
    kind = m.PaymentMethod.Kind.CARD
    brand = "visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2030


def _period_end(sub):
    return sub.current_period_start + timedelta(days=30)


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = m.Subscription

    workspace = factory.SubFactory(WorkspaceFactory)
    plan = factory.SubFactory(PlanFactory)
    status = m.Subscription.Status.ACTIVE

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # A workspace has one live subscription: a new live one ends the one it has.
        if kwargs.get("status", m.Subscription.Status.ACTIVE) in m.Subscription.LIVE:
            m.Subscription.objects.filter(workspace=kwargs["workspace"],
                                          status__in=m.Subscription.LIVE).update(
                status=m.Subscription.Status.ENDED, ended_at=timezone.now())
        return super()._create(model_class, *args, **kwargs)
    started_at = factory.LazyFunction(timezone.now)
    current_period_start = factory.SelfAttribute("started_at")
    current_period_end = factory.LazyAttribute(_period_end)


class EntitlementFactory(DjangoModelFactory):
    class Meta:
        model = m.Entitlement

    workspace = factory.SubFactory(WorkspaceFactory)
    feature = factory.SubFactory(FeatureFactory)
    limit = 1000
    reason = "Pilot customer"


class TestClockFactory(DjangoModelFactory):
    class Meta:
        model = m.TestClock

    workspace = factory.SubFactory(WorkspaceFactory)
    frozen_time = factory.LazyFunction(timezone.now)
    name = "Simulation"


class InvoiceFactory(DjangoModelFactory):
    class Meta:
        model = m.Invoice

    workspace = factory.SubFactory(WorkspaceFactory)
    issuer = factory.SubFactory(IssuingAccountFactory)
    currency = "USD"
    subtotal = 3000
    total = 3000
    amount_due = 3000


class InvoiceLineFactory(DjangoModelFactory):
    class Meta:
        model = m.InvoiceLine

    workspace = factory.SubFactory(WorkspaceFactory)
    invoice = factory.SubFactory(InvoiceFactory, workspace=SAME_WORKSPACE)
    kind = m.InvoiceLine.Kind.SUBSCRIPTION
    description = "Pro plan, monthly"
    quantity = Decimal("1")
    unit_amount = Decimal("3000")
    amount = 3000


class CreditTransactionFactory(DjangoModelFactory):
    class Meta:
        model = m.CreditTransaction

    workspace = factory.SubFactory(WorkspaceFactory)
    kind = m.CreditTransaction.Kind.GRANT
    amount = Decimal("100")
    balance_after = Decimal("100")
    description = "Welcome credits"


class UsageRecordFactory(DjangoModelFactory):
    class Meta:
        model = m.UsageRecord

    workspace = factory.SubFactory(WorkspaceFactory)
    metric = "executions"
    quantity = 1
    transaction_id = factory.Sequence(lambda n: f"txn-{n:08d}")
    occurred_at = factory.LazyFunction(timezone.now)
    source = "test"


class BillingEventFactory(DjangoModelFactory):
    class Meta:
        model = m.BillingEvent

    provider = factory.SubFactory(PaymentProviderFactory)
    event_id = factory.Sequence(lambda n: f"evt_{n:08d}")
    event_type = "payment_intent.succeeded"
    payload = factory.Dict({"id": "evt"})
