from .catalogue import (  # noqa: F401
    Coupon,
    Feature,
    IssuingAccount,
    PaymentProvider,
    Plan,
    PlanFeature,
    PlanProviderMapping,
)
from .invoices import Invoice, InvoiceLine  # noqa: F401
from .ledger import BillingEvent, CreditTransaction, UsageRecord  # noqa: F401
from .subscriptions import (  # noqa: F401
    Entitlement,
    PaymentCustomer,
    PaymentMethod,
    Subscription,
    TestClock,
)
