"""Contacts: create and update with normalised numbers, find duplicates, merge them,
and convert a contact into a customer.

Every change writes the contact's timeline (``crm.services.timeline``).  A merge finds
what points at a contact from ``Contact._meta.related_objects``, so a relation added
later moves with the rest; only relations with a uniqueness rule need a handler here
(``UNIQUE_HANDLERS``), and a merge refuses to run rather than lose rows of a unique
relation nobody taught it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models, transaction
from django.db.models import Q

from billing.clock import now as clock_now
from core import events

from ..models import (
    CampaignContact,
    Contact,
    ContactListMembership,
    ContactTag,
    ConversionJourney,
    Customer,
)
from ..phones import normalize
from . import timeline

CONTACT_MERGED = "contact.merged"
CONTACT_CONVERTED = "contact.converted"
DOMAIN_CONVERTED = "crm.contact.converted"  # registered by crm/events.py (core.events)

# Fields a merge never copies from the duplicate (identity, bookkeeping, counters the
# merge sums itself).
_NOT_FILLED = {"id", "workspace", "created_at", "updated_at", "merged_into", "status",
               "not_connected", "do_not_call", "alt_phones", "custom_fields", "metadata",
               "last_contacted_at"}


# --- create and update --------------------------------------------------------------------

def _phones(fields: dict, region: str | None) -> None:
    """Normalise ``phone`` and ``alt_phones`` in place (ValidationError by field)."""
    if fields.get("phone"):
        try:
            fields["phone"] = normalize(fields["phone"], region)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
    if "alt_phones" in fields:
        values = fields["alt_phones"] or []
        if not isinstance(values, list):
            raise ValidationError({"alt_phones": ["A list of phone numbers is expected."]})
        try:
            normalised = [normalize(str(v), region) for v in values if str(v).strip()]
        except ValidationError as exc:
            raise ValidationError({"alt_phones": exc.messages}) from exc
        fields["alt_phones"] = list(dict.fromkeys(normalised))


def _save(contact: Contact, tags) -> None:
    try:
        contact.full_clean()
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "__all__" in exc.error_dict and \
                not (contact.phone or contact.email):
            raise ValidationError({"phone": ["A contact needs a phone number or an email "
                                             "address."]}) from exc
        raise
    contact.save()
    if tags is not None:
        contact.tags.set(_tag_objects(contact.workspace_id, tags))


def _tag_objects(workspace_id: int, tags) -> list[ContactTag]:
    objs = []
    for tag in tags:
        if isinstance(tag, ContactTag):
            if tag.workspace_id != workspace_id:
                raise ValidationError({"tags": ["A tag belongs to another workspace."]})
            objs.append(tag)
        elif str(tag).strip():
            objs.append(ContactTag.objects.get_or_create(workspace_id=workspace_id,
                                                         name=str(tag).strip()[:60])[0])
    return objs


@transaction.atomic
def contact_create(*, workspace, by=None, region: str | None = None, tags=None,
                   **fields) -> Contact:
    """A new contact; ``phone`` in any common notation (``region`` for national ones),
    ``tags`` as ContactTag rows or names (created as needed)."""
    _phones(fields, region)
    contact = Contact(workspace=workspace, **fields)
    if by is not None and getattr(by, "pk", None) and not contact.owner_id:
        contact.owner = by
    _save(contact, tags)
    timeline.record(contact, "contact.created", f"Contact {contact} created",
                    data={"by": getattr(by, "pk", None)})
    return contact


@transaction.atomic
def contact_update(contact: Contact, *, by=None, region: str | None = None, tags=None,
                   **fields) -> Contact:
    """Change ``fields`` of ``contact``; the timeline names what changed."""
    _phones(fields, region)
    changed = [name for name, value in fields.items() if getattr(contact, name) != value]
    for name, value in fields.items():
        setattr(contact, name, value)
    _save(contact, tags)
    if changed or tags is not None:
        timeline.record(contact, "contact.updated",
                        "Updated " + ", ".join(changed + (["tags"] if tags is not None else [])),
                        data={"fields": changed, "by": getattr(by, "pk", None)})
    return contact


# --- duplicates ---------------------------------------------------------------------------

def _live(workspace_id: int):
    return Contact.objects.filter(workspace_id=workspace_id, merged_into__isnull=True)


def _numbers(contact: Contact) -> list[str]:
    return [p for p in dict.fromkeys([contact.phone, *(contact.alt_phones or [])]) if p]


def duplicates(contact: Contact):
    """The workspace's other live contacts that share a phone number (main or
    alternative, compared in E.164) or an email address (any case) with ``contact``."""
    match = Q()
    for number in _numbers(contact):
        match |= Q(phone=number) | Q(alt_phones__contains=[number])
    if contact.email:
        match |= Q(email__iexact=contact.email)
    if not match:
        return Contact.objects.none()
    return _live(contact.workspace_id).filter(match).exclude(pk=contact.pk).order_by("pk")


def duplicate_groups(workspace) -> list[list[Contact]]:
    """Every set of live contacts of ``workspace`` linked by a shared number or email
    (transitively: A shares a phone with B, B an email with C), oldest first."""
    workspace_id = getattr(workspace, "pk", workspace)
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with: dict[str, int] = {}
    rows = _live(workspace_id).values_list("pk", "phone", "alt_phones", "email")
    for pk, phone, alt_phones, email in rows.iterator(chunk_size=5000):
        keys = [f"p:{p}" for p in dict.fromkeys([phone, *(alt_phones or [])]) if p]
        if email:
            keys.append(f"e:{email.lower()}")
        for key in keys:
            seen = first_with.setdefault(key, pk)
            if seen != pk:
                a, b = find(seen), find(pk)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for pk in parent:
        groups[find(pk)].append(pk)
    wanted = [sorted(ids) for ids in groups.values() if len(ids) > 1]
    by_pk = Contact.objects.in_bulk([pk for ids in wanted for pk in ids])
    return sorted(([by_pk[pk] for pk in ids] for ids in wanted), key=lambda g: g[0].pk)


# --- merge --------------------------------------------------------------------------------

def _error(status: int, code: str, message: str):
    from core.api.errors import ApiError  # the API's error type, raised by services too

    return ApiError(status, code, message)


# CampaignContact states from least to most advanced: the merge keeps the entry that
# got further (a completed entry is never reset to pending by a duplicate's).
CAMPAIGN_STATE_RANK = {s: i for i, s in enumerate([
    CampaignContact.State.PENDING, CampaignContact.State.SKIPPED, CampaignContact.State.RETRY,
    CampaignContact.State.EXHAUSTED, CampaignContact.State.CALLING,
    CampaignContact.State.COMPLETED])}


def _move_memberships(keep: Contact, other: Contact, report: dict) -> int:
    mine = set(ContactListMembership.objects.filter(contact=keep)
               .values_list("contact_list_id", flat=True))
    theirs = ContactListMembership.objects.filter(contact=other)
    dropped = theirs.filter(contact_list_id__in=mine).delete()[0]
    moved = theirs.update(contact=keep)
    report["list_memberships_already_kept"] = dropped
    return moved


def _move_campaign_entries(keep: Contact, other: Contact, report: dict) -> int:
    mine = {e.campaign_id: e for e in CampaignContact.objects.filter(contact=keep)}
    moved = 0
    for entry in CampaignContact.objects.filter(contact=other).order_by("pk"):
        kept = mine.get(entry.campaign_id)
        if kept is None:
            entry.contact = keep
            entry.save(update_fields=["contact", "updated_at"])
            moved += 1
            continue
        attempts = kept.attempts + entry.attempts
        if CAMPAIGN_STATE_RANK[entry.state] > CAMPAIGN_STATE_RANK[kept.state]:
            kept.delete()  # the duplicate's entry got further: it stays, on keep
            entry.contact, entry.attempts = keep, attempts
            entry.save(update_fields=["contact", "attempts", "updated_at"])
            mine[entry.campaign_id] = entry
        else:
            entry.delete()
            kept.attempts = attempts
            kept.save(update_fields=["attempts", "updated_at"])
        moved += 1
    return moved


def _move_customer(keep: Contact, other: Contact, report: dict) -> int:
    theirs = Customer.objects.filter(contact=other).first()
    if theirs is None:
        return 0
    if Customer.objects.filter(contact=keep).exists():
        # One customer record per contact: keep's stands; the duplicate's is recorded.
        report["customer_discarded"] = {
            "id": theirs.pk, "value": theirs.value, "currency": theirs.currency,
            "converted_at": theirs.converted_at.isoformat(), "notes": theirs.notes}
        theirs.delete()
        return 0
    theirs.contact = keep
    theirs.save(update_fields=["contact", "updated_at"])
    return 1


#: Relations to Contact with a uniqueness rule, by the related model's label.
UNIQUE_HANDLERS = {
    "crm.contactlistmembership": _move_memberships,
    "crm.campaigncontact": _move_campaign_entries,
    "crm.customer": _move_customer,
}


def _is_unique(rel) -> bool:
    """Does a row's contact take part in a uniqueness rule (then moving may collide)?"""
    field, model = rel.field, rel.related_model
    if rel.one_to_one or field.unique:
        return True
    meta = model._meta
    together = [set(t) for t in meta.unique_together]
    together += [set(c.fields) for c in meta.constraints
                 if isinstance(c, models.UniqueConstraint) and c.fields]
    return any(field.name in fields for fields in together)


def contact_relations() -> list:
    """Every relation that points at a contact: ``Contact._meta.related_objects`` and the
    hidden ones (``related_name="+"``), plus the contact's own many-to-many fields."""
    reverse = [f for f in Contact._meta.get_fields(include_hidden=True)
               if f.auto_created and not f.concrete and f.is_relation
               # the through rows of the contact's own many-to-many: moved with it
               and not f.related_model._meta.auto_created]
    return [*reverse, *Contact._meta.many_to_many]


def _move_relation(rel, keep: Contact, other: Contact, report: dict) -> int:
    if isinstance(rel, models.ManyToManyField):  # the contact's own (tags): union
        through = rel.remote_field.through
        mine, theirs = rel.m2m_field_name(), rel.m2m_reverse_field_name()
        have = set(through.objects.filter(**{mine: keep}).values_list(theirs, flat=True))
        rows = through.objects.filter(**{mine: other})
        through.objects.bulk_create([through(**{mine: keep, f"{theirs}_id": target})
                                     for target in rows.values_list(theirs, flat=True)
                                     if target not in have])
        return rows.count()
    label = rel.related_model._meta.label_lower
    if label in UNIQUE_HANDLERS:
        return UNIQUE_HANDLERS[label](keep, other, report)
    if rel.many_to_many:  # another model's many-to-many to contacts: move, no doubles
        through = rel.through
        to_contact = rel.field.m2m_reverse_field_name()
        from_owner = rel.field.m2m_field_name()
        have = set(through.objects.filter(**{to_contact: keep})
                   .values_list(from_owner, flat=True))
        theirs = through.objects.filter(**{to_contact: other})
        theirs.filter(**{f"{from_owner}__in": have}).delete()
        return theirs.update(**{to_contact: keep})
    if _is_unique(rel):
        raise ImproperlyConfigured(
            f"{label}.{rel.field.name} points at contacts under a uniqueness rule; add a "
            "handler to crm.services.contacts.UNIQUE_HANDLERS so merges keep its rows.")
    queryset = rel.related_model._base_manager.filter(**{rel.field.name: other})
    if rel.related_model is Contact:  # contacts merged into ``other`` earlier
        queryset = queryset.exclude(pk=keep.pk)
    return queryset.update(**{rel.field.name: keep})


def _fill_fields(keep: Contact, other: Contact) -> list[str]:
    filled = []
    for field in Contact._meta.concrete_fields:
        if field.name in _NOT_FILLED or field.primary_key:
            continue
        mine, theirs = getattr(keep, field.attname), getattr(other, field.attname)
        empty = mine in (None, "") or (field.name == "time_zone" and mine == "UTC")
        if empty and theirs not in (None, "", field.get_default()):
            setattr(keep, field.attname, theirs)
            filled.append(field.name)
    keep.custom_fields = {**(other.custom_fields or {}), **(keep.custom_fields or {})}
    keep.metadata = {**(other.metadata or {}), **(keep.metadata or {})}
    numbers = [p for p in [*(keep.alt_phones or []), *_numbers(other)] if p != keep.phone]
    keep.alt_phones = list(dict.fromkeys(numbers))
    keep.not_connected += other.not_connected
    keep.do_not_call = keep.do_not_call or other.do_not_call
    moments = [m for m in (keep.last_contacted_at, other.last_contacted_at) if m]
    keep.last_contacted_at = max(moments) if moments else None
    return filled


def merge(*, keep: Contact, other: Contact, by=None) -> Contact:
    """Fold ``other`` into ``keep``: every row about ``other`` moves to ``keep``, empty
    fields of ``keep`` are filled from it, and ``other`` stays as a flagged record
    (``merged_into``) pointing at ``keep``.  All or nothing; both rows are locked."""
    if keep.pk == other.pk:
        raise _error(400, "merge_into_itself", "A contact cannot be merged into itself.")
    if keep.workspace_id != other.workspace_id:
        raise _error(400, "other_workspace",
                     "Both contacts must belong to the same workspace.")
    with transaction.atomic():
        locked = {c.pk: c for c in Contact.objects.select_for_update()
                  .filter(pk__in=[keep.pk, other.pk]).order_by("pk")}
        if len(locked) != 2:
            raise _error(404, "not_found", "One of the contacts no longer exists.")
        keep, other = locked[keep.pk], locked[other.pk]
        for contact in (keep, other):
            if contact.merged_into_id:
                raise _error(409, "already_merged",
                             f"Contact #{contact.pk} was already merged into "
                             f"#{contact.merged_into_id}.")
        report: dict = {}
        moved = {}
        for rel in contact_relations():
            name = rel.name if isinstance(rel, models.ManyToManyField) else rel.get_accessor_name()
            moved[name] = _move_relation(rel, keep, other, report)
        filled = _fill_fields(keep, other)
        keep.save()
        other.merged_into = keep
        other.save(update_fields=["merged_into", "updated_at"])
        data = {"kept": keep.pk, "merged": other.pk, "moved": moved, "filled": filled,
                "by": getattr(by, "pk", None), **report}
        if other.email and other.email.lower() != (keep.email or "").lower():
            data["other_email"] = other.email
        timeline.record(keep, CONTACT_MERGED, f"Merged duplicate #{other.pk} ({other}) into "
                        "this contact", source=other, data=data)
        timeline.record(other, CONTACT_MERGED, f"Merged into #{keep.pk} ({keep})",
                        source=keep, data=data)
    return keep


# --- conversion ---------------------------------------------------------------------------

def convert(contact: Contact, *, value: int, currency: str = "USD",
            converted_at: datetime | None = None, by=None, notes: str = "") -> Customer:
    """Make ``contact`` a customer: the Customer row, its journey at stage "customer",
    status customer, a timeline event, and ``crm.contact.converted`` when registered."""
    if value is None or int(value) < 0:
        raise ValidationError({"value": ["The value is a whole number of minor units, 0 or "
                                         "more."]})
    currency = (currency or "").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationError({"currency": ["A currency is a three-letter ISO code."]})
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        if contact.merged_into_id:
            raise _error(409, "already_merged", f"Contact #{contact.pk} was merged into "
                         f"#{contact.merged_into_id}; convert that contact instead.")
        if Customer.objects.filter(contact=contact).exists():
            raise _error(409, "already_customer", "This contact is already a customer.")
        moment = converted_at or clock_now(contact.workspace_id)
        customer = Customer.objects.create(workspace_id=contact.workspace_id, contact=contact,
                                           converted_at=moment, value=int(value),
                                           currency=currency, notes=notes)
        journey = (ConversionJourney.objects.select_for_update().filter(contact=contact)
                   .order_by("-created_at", "-pk").first()) or ConversionJourney(
            workspace_id=contact.workspace_id, contact=contact)
        journey.stage = ConversionJourney.Stage.CUSTOMER
        journey.stages = {**(journey.stages or {}), "customer": moment.isoformat()}
        journey.converted_at = moment
        journey.save()
        contact.status = Contact.Status.CUSTOMER
        contact.save(update_fields=["status", "updated_at"])
        timeline.record(contact, CONTACT_CONVERTED,
                        f"Converted to customer ({value / 100:.2f} {currency})",
                        occurred_at=moment, source=customer,
                        data={"value": int(value), "currency": currency,
                              "journey": journey.pk, "by": getattr(by, "pk", None)})
        if events.is_registered(DOMAIN_CONVERTED):
            events.emit(DOMAIN_CONVERTED, {"contact": contact.pk, "customer": customer.pk,
                                           "value": int(value), "currency": currency},
                        workspace_id=contact.workspace_id)
    return customer
