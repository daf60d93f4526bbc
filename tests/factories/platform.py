"""Factories for the third-party models the back office shows: Celery beat and results."""

from datetime import UTC, datetime, timedelta

import factory
from django_celery_beat import models as beat
from django_celery_results import models as results
from factory.django import DjangoModelFactory


class IntervalScheduleFactory(DjangoModelFactory):
    class Meta:
        model = beat.IntervalSchedule

    every = factory.Sequence(lambda n: n + 1)
    period = beat.IntervalSchedule.MINUTES


class CrontabScheduleFactory(DjangoModelFactory):
    class Meta:
        model = beat.CrontabSchedule

    minute = factory.Sequence(lambda n: str(n % 60))
    hour = "7"
    timezone = "America/Sao_Paulo"


class SolarScheduleFactory(DjangoModelFactory):
    class Meta:
        model = beat.SolarSchedule

    event = "sunrise"
    # (event, latitude, longitude) is unique.
    latitude = factory.Sequence(lambda n: f"-23.{n:04d}")
    longitude = "-46.6333"


class ClockedScheduleFactory(DjangoModelFactory):
    class Meta:
        model = beat.ClockedSchedule

    clocked_time = factory.Sequence(lambda n: datetime(2030, 1, 1, tzinfo=UTC) + timedelta(hours=n))


class PeriodicTaskFactory(DjangoModelFactory):
    class Meta:
        model = beat.PeriodicTask

    name = factory.Sequence(lambda n: f"periodic task {n}")
    task = "core.tasks.prune_audit_entries"
    interval = factory.SubFactory(IntervalScheduleFactory)


class TaskResultFactory(DjangoModelFactory):
    class Meta:
        model = results.TaskResult

    task_id = factory.Faker("uuid4")
    task_name = "analytics.tasks.import_run"
    status = "SUCCESS"
    result = '{"rows": 40}'
    content_type = "application/json"
    content_encoding = "utf-8"


class GroupResultFactory(DjangoModelFactory):
    class Meta:
        model = results.GroupResult

    group_id = factory.Faker("uuid4")
    result = "[]"
    content_type = "application/json"
    content_encoding = "utf-8"
