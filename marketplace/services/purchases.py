"""Buying a paid component for a workspace: once, through billing.

One purchase per workspace and component.  The workspace row is locked first (the
same ``FOR NO KEY UPDATE`` lock billing's ledger takes), so two buys at once take
turns: the second finds the first's purchase and returns it without charging.  A
refusal (402 ``insufficient_credits``, no subscription, another currency) rolls the
whole purchase back: nothing is charged or written.

Free components need no purchase (400 ``free_component``); draft ones are not for sale
and deprecated ones no longer sold (409 ``not_for_sale``).  Buying needs a workspace
admin (``ComponentPurchase.tenancy_write_role``) or marketplace staff.
"""

from __future__ import annotations

from django.db import transaction

from core import events
from core.api.errors import ApiError

from ..events import PURCHASED
from ..models import ComponentPurchase, MarketplaceComponent
from . import charges
from .access import acting_user, require_role

Method = ComponentPurchase.Method


def _lock_workspace(workspace) -> None:
    type(workspace).objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()


def purchase_of(workspace_id: int, component_id: int) -> ComponentPurchase | None:
    return ComponentPurchase.objects.filter(workspace_id=workspace_id,
                                            component_id=component_id).first()


@transaction.atomic
def component_purchase(*, workspace, component: MarketplaceComponent,
                       method: str = Method.CREDITS, by=None,
                       principal=None) -> tuple[ComponentPurchase, bool]:
    """Buy ``component`` for ``workspace``; returns (purchase, created)."""
    require_role(workspace, ComponentPurchase, by=by, principal=principal,
                 doing="buy marketplace components")
    if method not in Method.values:
        raise ApiError(400, "invalid", f"Unknown payment method {method!r}.",
                       errors={"method": [f"One of: {', '.join(Method.values)}."]})
    _lock_workspace(workspace)
    existing = purchase_of(workspace.pk, component.pk)
    if existing is not None:
        return existing, False
    component = MarketplaceComponent.objects.get(pk=component.pk)
    if component.status != MarketplaceComponent.Status.PUBLISHED:
        raise ApiError(409, "not_for_sale", f"{component.name} is "
                       f"{component.get_status_display().lower()}: it is not for sale.",
                       errors={"component": ["Not for sale."]})
    if component.is_free:
        raise ApiError(400, "free_component", f"{component.name} is free: install it "
                       "directly, no purchase is needed.",
                       errors={"component": ["This component is free."]})
    reference = f"marketplace.purchase:{component.pk}"
    purchase = ComponentPurchase(workspace=workspace, component=component,
                                 price_paid=component.price, currency=component.currency,
                                 method=method, purchased_by=acting_user(by, principal))
    if method == Method.CREDITS:
        tx = charges.charge_credits(workspace_id=workspace.pk, component=component,
                                    reference=reference)
        purchase.status, purchase.credit_transaction = ComponentPurchase.Status.PAID, tx
        purchase.credits_spent = -tx.amount
    else:
        line = charges.charge_invoice(workspace_id=workspace.pk, component=component,
                                      reference=reference)
        purchase.status, purchase.invoice_line = ComponentPurchase.Status.INVOICED, line
    purchase.save()
    _announce(purchase)
    return purchase, True


def _announce(purchase: ComponentPurchase) -> None:
    from workspaces.services.workspaces import activity_record

    component = purchase.component
    activity_record(workspace=purchase.workspace, actor=purchase.purchased_by,
                    verb="marketplace.component.purchased",
                    summary=f"Bought {component.name} ({purchase.get_method_display()})",
                    target=purchase, data={"component": component.slug,
                                           "price": purchase.price_paid,
                                           "currency": purchase.currency,
                                           "method": purchase.method})
    payload = {"component": component.pk, "slug": component.slug, "purchase": purchase.pk,
               "price": purchase.price_paid, "currency": purchase.currency,
               "method": purchase.method}
    if purchase.method == Method.CREDITS:
        payload["credits"] = f"{purchase.credits_spent.normalize():f}"
    events.emit(PURCHASED, payload, workspace_id=purchase.workspace_id)


def require_purchase(workspace_id: int, component: MarketplaceComponent) -> None:
    """402 ``purchase_required`` for a paid component the workspace has not bought."""
    if component.is_free or purchase_of(workspace_id, component.pk) is not None:
        return
    raise ApiError(402, "purchase_required",
                   f"{component.name} is a paid component: buy it for this workspace "
                   "first (POST marketplace/components/{id}/purchase/).",
                   errors={"component": component.pk, "price": component.price,
                           "currency": component.currency})
