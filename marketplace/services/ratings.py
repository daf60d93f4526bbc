"""Ratings: one per user and component, 1 to 5; the component's average kept exact.

Concurrency.  Every change locks the rated component's row (``SELECT ... FOR UPDATE``)
*before* writing the rating, then recomputes the average and count from the ratings
table and saves them, all in one transaction.  Writers of one component thus take
turns, and each recomputation (READ COMMITTED: a fresh snapshot per statement) sees
every rating committed before it plus its own: the last one to commit leaves the true
figures.  Recomputing, not adding to a running total, means a lost or repeated
increment can never skew the average.  Moving a rating to another component locks
both, in id order, so two such moves cannot deadlock.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.ratings import refresh_average

from ..models import ComponentRating, MarketplaceComponent

_RATEABLE = (MarketplaceComponent.Status.PUBLISHED, MarketplaceComponent.Status.DEPRECATED)


def _lock(*component_ids: int) -> None:
    for pk in sorted(set(component_ids)):
        MarketplaceComponent.objects.select_for_update().filter(pk=pk).first()


def _recompute(component_id: int) -> None:
    refresh_average(MarketplaceComponent, component_id,
                    ComponentRating.objects.filter(component_id=component_id), field="score")


def _check(rating: ComponentRating) -> None:
    if rating.component.status not in _RATEABLE:
        raise ValidationError({"component": ["Only published components can be rated."]})
    rating.full_clean(exclude=["user"])


@transaction.atomic
def rating_create(*, user, component: MarketplaceComponent, score: int,
                  comment: str = "") -> ComponentRating:
    """Rate ``component``; a second rating by the same user is refused (change it)."""
    _lock(component.pk)
    rating = ComponentRating(user=user, component=component, score=score,
                             comment=comment or "")
    _check(rating)
    if ComponentRating.objects.filter(user=user, component=component).exists():
        raise ValidationError({"component": ["You have rated this component already: "
                                             "change that rating instead."]})
    try:
        with transaction.atomic():
            rating.save()
    except IntegrityError as exc:  # unreachable under the lock; the constraint backs it
        raise ValidationError({"component": ["You have rated this component already."]}) \
            from exc
    _recompute(component.pk)
    return rating


@transaction.atomic
def rating_update(rating: ComponentRating, **fields) -> ComponentRating:
    """Change the score, comment or (rarely) the component rated."""
    old_component = rating.component_id
    new = fields.get("component")
    _lock(old_component, new.pk if new is not None else old_component)
    for name, value in fields.items():
        setattr(rating, name, value)
    _check(rating)
    if rating.component_id != old_component and ComponentRating.objects.filter(
            user_id=rating.user_id, component_id=rating.component_id).exists():
        raise ValidationError({"component": ["You have rated that component already."]})
    rating.save()
    _recompute(old_component)
    if rating.component_id != old_component:
        _recompute(rating.component_id)
    return rating


@transaction.atomic
def rating_delete(rating: ComponentRating) -> None:
    _lock(rating.component_id)
    component_id = rating.component_id
    rating.delete()
    _recompute(component_id)
