"""The contacts CSV format, run by the BI import machinery (``analytics.pipeline``).

Columns (any order, headers in any case): first_name, last_name, phone, email, company,
time_zone, tags, source, and ``custom_<name>`` columns that land in ``custom_fields``.
A file needs a phone or an email column; each line a phone or an email.

What the shared machinery gives: the job row (checksum: the same file is loaded once;
progress; attempts and the reaper), the file reading (encoding, delimiter, numbered
records, quoted fields over several lines), the error report with line numbers, the
finished event.  What this module adds: the per-line rules (a number through
``crm.phones.normalize`` with a default region, an email, a time zone), duplicates
within the file (a problem of the later line) and against existing contacts (skipped,
or updated, by option), and the load: one transaction, nothing loaded when any line is
bad unless the job says ``skip_invalid``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import ImportJob
from analytics.pipeline import formats
from analytics.pipeline.reader import (
    ENCODING_ERROR,
    QUOTE_CHARS,
    HeaderError,
    Source,
    norm_header,
)
from analytics.pipeline.run import NO_DATA_ROWS, PREVIEW_ERRORS, STAGE_SHARE
from billing.clock import now as clock_now

from ..models import Contact, ContactEvent, ContactSource, ContactTag
from ..phones import normalize

DATASET = "contacts"
CUSTOM_PREFIX = "custom_"
ON_DUPLICATE = ("skip", "update")
BATCH = 2_000
TAG_SPLIT = re.compile(r"[;,|]")


@dataclass(frozen=True)
class Column:
    name: str
    max_length: int


COLUMNS = (Column("first_name", 80), Column("last_name", 80), Column("phone", 40),
           Column("email", 254), Column("company", 160), Column("time_zone", 64),
           Column("tags", 1000), Column("source", 120))
BY_NAME = {c.name: c for c in COLUMNS}
CUSTOM_MAX = 1000  # characters of a custom field's value


class ContactsHeader:
    """Header rules for ``reader.Source``: known columns, custom_*, phone or email."""

    def known(self) -> set[str]:
        return set(BY_NAME)

    def map_header(self, names: list[str]) -> list[Column]:
        errors, seen, ordered = [], set(), []
        for raw in names:
            name = norm_header(raw)
            column = BY_NAME.get(name)
            if column is None and name.startswith(CUSTOM_PREFIX) and \
                    len(name) > len(CUSTOM_PREFIX):
                column = Column(name, CUSTOM_MAX)
            if column is None:
                errors.append((raw[:QUOTE_CHARS], raw[:QUOTE_CHARS],
                               "is not a column of the contacts file; expected "
                               + ", ".join(BY_NAME) + " or custom_<name>"))
            elif column.name in seen:
                errors.append((raw[:QUOTE_CHARS], raw[:QUOTE_CHARS], "appears twice in the "
                                                                     "header"))
            else:
                seen.add(column.name)
                ordered.append(column)
        if not errors and not {"phone", "email"} & seen:
            errors.append(("phone", "", "is missing from the header: a contacts file has a "
                                        "phone or an email column (or both)"))
        if errors:
            raise HeaderError(errors)
        return ordered

    def missing_header(self, names, line, delimiter):
        if any(norm_header(n) in BY_NAME or norm_header(n).startswith(CUSTOM_PREFIX)
               for n in names):
            return None
        if any("@" in n or sum(ch.isdigit() for ch in n) >= 6 for n in names):
            return HeaderError(
                [("", line[:QUOTE_CHARS], "looks like a data row, not a header: the first "
                  "line must name the columns, e.g. " + ",".join(BY_NAME))],
                summary="The header line seems to be missing (line 1 is data)")
        return None


@dataclass
class Row:
    line_no: int
    values: dict = field(default_factory=dict)  # contact fields
    tags: list[str] = field(default_factory=list)
    source: str = ""
    custom: dict = field(default_factory=dict)


def _check(record, columns, delimiter, region) -> tuple[Row | None, list[tuple]]:
    """The line as contact values, or its problems (line, column, value, reason)."""
    line = record.line_no
    if record.field_count == ENCODING_ERROR:
        return None, [(line, "", "", "is not valid text in the file's encoding")]
    if record.field_count != len(columns):
        return None, [(line, "", "", f"has {record.field_count} fields; expected "
                                     f"{len(columns)}")]
    row, problems = Row(line), []
    for column, raw in zip(columns, record.fields(delimiter), strict=True):
        value = (raw or "").strip()
        if not value:
            continue
        if len(value) > column.max_length:
            problems.append((line, column.name, value[:200],
                             f"is longer than {column.max_length} characters"))
            continue
        name = column.name
        if name == "phone":
            try:
                row.values["phone"] = normalize(value, region or None)
            except ValidationError as exc:
                problems.append((line, name, value, _reason(exc, value)))
        elif name == "email":
            try:
                validate_email(value)
                row.values["email"] = value
            except ValidationError:
                problems.append((line, name, value, "is not an email address"))
        elif name == "time_zone":
            try:
                ZoneInfo(value)
                row.values["time_zone"] = value
            except (ZoneInfoNotFoundError, ValueError):
                problems.append((line, name, value, "is not a time zone name such as "
                                                    "Europe/Lisbon"))
        elif name == "tags":
            tags = [t.strip() for t in TAG_SPLIT.split(value) if t.strip()]
            if long := [t for t in tags if len(t) > 60]:
                problems.append((line, name, long[0][:200], "is a tag longer than 60 "
                                                            "characters"))
            row.tags = list(dict.fromkeys(tags))
        elif name == "source":
            row.source = value
        elif name.startswith(CUSTOM_PREFIX):
            row.custom[name[len(CUSTOM_PREFIX):]] = value
        else:
            row.values[name] = value
    if not problems and not (row.values.get("phone") or row.values.get("email")):
        problems.append((line, "phone", "", "is required when there is no email"))
    return (None if problems else row), problems


def _reason(exc: ValidationError, value: str) -> str:
    """normalize()'s message without the quoted value (the report has its own column)."""
    text = exc.messages[0]
    return text.replace(value[:40], "", 1).strip() if text.startswith(value[:40]) else text


class Existing:
    """The workspace's live contacts by number and email, for duplicate checks."""

    def __init__(self, workspace_id: int):
        self.by_key: dict[str, int] = {}
        rows = Contact.objects.filter(workspace_id=workspace_id, merged_into__isnull=True) \
            .values_list("pk", "phone", "alt_phones", "email")
        for pk, phone, alt_phones, email in rows.iterator(chunk_size=5000):
            for number in [phone, *(alt_phones or [])]:
                if number:
                    self.by_key.setdefault(f"p:{number}", pk)
            if email:
                self.by_key.setdefault(f"e:{email.lower()}", pk)

    def match(self, row: Row) -> int | None:
        for key in _keys(row):
            if key in self.by_key:
                return self.by_key[key]
        return None


def _keys(row: Row) -> list[str]:
    keys = []
    if row.values.get("phone"):
        keys.append(f"p:{row.values['phone']}")
    if row.values.get("email"):
        keys.append(f"e:{row.values['email'].lower()}")
    return keys


class ContactsFormat:
    name = DATASET
    label = "Contacts"
    rows_route = "crm-contact-list"  # where a job's loaded rows are listed (API, admin)
    rows_admin = "admin:crm_contact_changelist"
    header = ContactsHeader()

    def run(self, job_run) -> None:
        job = job_run.job
        options = formats.options_of(job)
        region = (options.get("region") or "").upper()
        on_duplicate = options.get("on_duplicate") or "skip"
        rows, problems, total = [], [], 0
        with job.file.open("rb") as fileobj:
            try:
                source = Source(fileobj, self.header, encoding=job.encoding,
                                delimiter=job.delimiter)
            except (HeaderError, LookupError) as exc:
                errors = exc.errors if isinstance(exc, HeaderError) else [
                    ("", job.encoding, f"is not an encoding Python knows ({exc})")]
                summary = getattr(exc, "summary", "The header line cannot be used")
                job_run.fail_with([(1, c, v, r) for c, v, r in errors],
                                  f"{summary}; nothing was loaded.")
                return
            job.encoding, job.delimiter = source.encoding, source.delimiter
            size = max(job.size, 1)
            first_line: dict[str, int] = {}
            for record in source.records():
                total += 1
                row, found = _check(record, source.columns, source.delimiter, region)
                if row is not None:
                    for key in _keys(row):
                        if key in first_line:
                            column = "phone" if key.startswith("p:") else "email"
                            found.append((row.line_no, column, key[2:],
                                          f"is also on line {first_line[key]} (the same "
                                          "contact twice in the file)"))
                            row = None
                            break
                    if row is not None:
                        for key in _keys(row):
                            first_line[key] = row.line_no
                        rows.append(row)
                problems.extend(found)
                if total % 10_000 == 0:
                    job_run.progress(source.bytes_read * STAGE_SHARE // size)
        job.rows_total = total
        if total == 0:
            job_run.finish(ImportJob.Status.FAILED, NO_DATA_ROWS)
            return
        job_run.progress(STAGE_SHARE)
        bad_lines = len({p[0] for p in problems})
        if problems:
            job.error_count, job.rows_rejected = len(problems), bad_lines
            job.errors_preview = [list(p) for p in problems[:PREVIEW_ERRORS]]
            if not job.skip_invalid:
                job_run.write_report(iter(problems))
                job_run.finish(ImportJob.Status.FAILED,
                               f"{len(problems)} problem(s) on {bad_lines} line(s); nothing "
                               "was loaded. Fix the file, or import with skip_invalid to load "
                               "the valid lines.")
                return
        with transaction.atomic():
            outcome = load(job, rows, on_duplicate=on_duplicate)
        notes = [(line, column, value, f"matches contact #{pk}; {verb}")
                 for line, column, value, pk, verb in outcome["duplicates"]]
        if problems or notes:
            job_run.write_report(iter(sorted(problems + notes)))
        job.rows_imported = outcome["created"] + outcome["updated"]
        parts = [f"Loaded {job.rows_imported} of {total} rows: {outcome['created']} new "
                 f"contact(s), {outcome['updated']} updated"]
        if outcome["skipped"]:
            parts.append(f"skipped {outcome['skipped']} that match existing contacts (see "
                         "the report)")
        if bad_lines:
            parts.append(f"skipped {bad_lines} invalid line(s) (see the report)")
        job_run.finish(ImportJob.Status.SUCCEEDED, "; ".join(parts) + ".")


def _lock(workspace_id: int) -> None:
    """One contacts load per workspace at a time: duplicates are decided under it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('crm.contact_import'), %s)",
                           [workspace_id])


def load(job: ImportJob, rows: list[Row], *, on_duplicate: str = "skip") -> dict:
    """Create (or update) the contacts of ``rows``, inside the caller's transaction."""
    workspace_id = job.workspace_id
    _lock(workspace_id)
    existing = Existing(workspace_id)
    moment = clock_now(workspace_id)
    sources = _sources(workspace_id, {r.source for r in rows if r.source})
    tags = _tags(workspace_id, {t for r in rows for t in r.tags})
    new, updates, duplicates = [], [], []
    for row in rows:
        pk = existing.match(row)
        if pk is None:
            new.append(row)
            continue
        column = "phone" if f"p:{row.values.get('phone')}" in existing.by_key else "email"
        verb = "updated" if on_duplicate == "update" else "skipped"
        duplicates.append((row.line_no, column, row.values.get(column, ""), pk, verb))
        if on_duplicate == "update":
            updates.append((pk, row))
    created = _create(job, new, sources, tags, moment)
    updated = _update(job, updates, sources, tags, moment)
    return {"created": created, "updated": updated, "duplicates": duplicates,
            "skipped": len(duplicates) - len(updates)}


def _sources(workspace_id: int, names: set[str]) -> dict[str, int]:
    have = dict(ContactSource.objects.filter(workspace_id=workspace_id, name__in=names)
                .values_list("name", "pk"))
    ContactSource.objects.bulk_create(
        [ContactSource(workspace_id=workspace_id, name=n, kind=ContactSource.Kind.IMPORT)
         for n in sorted(names - set(have))], ignore_conflicts=True)
    return dict(ContactSource.objects.filter(workspace_id=workspace_id, name__in=names)
                .values_list("name", "pk"))


def _tags(workspace_id: int, names: set[str]) -> dict[str, int]:
    ContactTag.objects.bulk_create([ContactTag(workspace_id=workspace_id, name=n)
                                    for n in sorted(names)], ignore_conflicts=True)
    return dict(ContactTag.objects.filter(workspace_id=workspace_id, name__in=names)
                .values_list("name", "pk"))


def _create(job, rows: list[Row], sources, tags, moment) -> int:
    if connection.vendor == "postgresql":
        return _copy_create(job, rows, sources, tags, moment)
    through = Contact.tags.through
    summary = f"Imported from {job.original_name}"[:300]
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        contacts = Contact.objects.bulk_create([
            Contact(workspace_id=job.workspace_id, source_id=sources.get(r.source),
                    custom_fields=r.custom, metadata={"import_job": job.pk},
                    **r.values) for r in chunk])
        through.objects.bulk_create([through(contact_id=c.pk, contacttag_id=tags[t])
                                     for c, r in zip(contacts, chunk, strict=True)
                                     for t in r.tags])
        ContactEvent.objects.bulk_create([
            ContactEvent(workspace_id=job.workspace_id, contact_id=c.pk,
                         kind="contact.imported", summary=summary, occurred_at=moment,
                         source_type="analytics.importjob", source_id=str(job.pk),
                         data={"line": r.line_no})
            for c, r in zip(contacts, chunk, strict=True)])
    return len(rows)


_CONTACT_COLUMNS = ("id", "workspace_id", "created_at", "updated_at", "first_name",
                    "last_name", "phone", "alt_phones", "email", "company", "job_title",
                    "time_zone", "status", "not_connected", "do_not_call", "custom_fields",
                    "metadata", "source_id")
_EVENT_COLUMNS = ("workspace_id", "contact_id", "created_at", "occurred_at", "kind", "summary",
                  "source_type", "source_id", "data")


def _copy_create(job, rows: list[Row], sources, tags, moment) -> int:
    """PostgreSQL: contacts, their tags and timeline events by COPY, as the BI rows are
    loaded (``bulk_create`` prepared every value through the fields, the phone's
    normalisation again among them: three quarters of the import's time).  Ids come
    from the table's sequence first, so tags and events can point at them."""
    if not rows:
        return 0
    table = Contact._meta.db_table
    through = Contact.tags.through._meta.db_table
    events = ContactEvent._meta.db_table
    now = timezone.now()
    workspace_id, job_id = job.workspace_id, job.pk
    metadata = json.dumps({"import_job": job_id})
    summary = f"Imported from {job.original_name}"[:300]
    default = Contact._meta.get_field("time_zone").default
    status = Contact.Status.NEW
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                       "FROM generate_series(1, %s)", [table, len(rows)])
        ids = [pk for (pk,) in cursor.fetchall()]
        raw = cursor.cursor
        with raw.copy(f"COPY {table} ({', '.join(_CONTACT_COLUMNS)}) FROM STDIN") as copy:
            for pk, r in zip(ids, rows, strict=True):
                v = r.values
                copy.write_row((
                    pk, workspace_id, now, now, v.get("first_name", ""),
                    v.get("last_name", ""), v.get("phone", ""), "[]", v.get("email", ""),
                    v.get("company", ""), "", v.get("time_zone") or default, status, 0, False,
                    json.dumps(r.custom) if r.custom else "{}", metadata,
                    sources.get(r.source)))
        with raw.copy(f"COPY {through} (contact_id, contacttag_id) FROM STDIN") as copy:
            for pk, r in zip(ids, rows, strict=True):
                for tag in r.tags:
                    copy.write_row((pk, tags[tag]))
        with raw.copy(f"COPY {events} ({', '.join(_EVENT_COLUMNS)}) FROM STDIN") as copy:
            for pk, r in zip(ids, rows, strict=True):
                copy.write_row((workspace_id, pk, now, moment, "contact.imported", summary,
                                "analytics.importjob", str(job_id), f'{{"line": {r.line_no}}}'))
    return len(rows)


def _update(job, updates: list[tuple[int, Row]], sources, tags, moment) -> int:
    """Existing contacts take the file's non-empty values (tags are added)."""
    if not updates:
        return 0
    through = Contact.tags.through
    summary = f"Updated from import {job.original_name}"[:300]
    contacts = Contact.objects.select_for_update().in_bulk([pk for pk, _ in updates])
    events, links, changed_fields = [], [], set()
    for pk, row in updates:
        contact = contacts[pk]
        for name, value in row.values.items():
            setattr(contact, name, value)
            changed_fields.add(name)
        if row.source:
            contact.source_id = sources[row.source]
            changed_fields.add("source")
        if row.custom:
            contact.custom_fields = {**(contact.custom_fields or {}), **row.custom}
            changed_fields.add("custom_fields")
        links += [through(contact_id=pk, contacttag_id=tags[t]) for t in row.tags]
        events.append(ContactEvent(
            workspace_id=job.workspace_id, contact_id=pk, kind="contact.updated",
            summary=summary, occurred_at=moment, source_type="analytics.importjob",
            source_id=str(job.pk), data={"line": row.line_no,
                                         "fields": sorted(row.values)}))
    if changed_fields:
        Contact.objects.bulk_update(contacts.values(), sorted(changed_fields), batch_size=BATCH)
    through.objects.bulk_create(links, ignore_conflicts=True)
    ContactEvent.objects.bulk_create(events)
    return len(updates)


FORMAT = ContactsFormat()


def register() -> None:
    """Make the format known to the import machinery (idempotent; ``CrmConfig.ready``)."""
    formats.register(FORMAT)
