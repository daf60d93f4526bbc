"""The heartbeat thread: beats while the block runs, survives a failed beat, skips locked rows."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import ImportJob
from core.heartbeat import Heartbeat, touch_unlocked
from tests.factories import ImportJobFactory


def test_it_beats_until_the_block_ends_and_a_failed_beat_does_not_stop_it():
    beats = []

    def beat():
        beats.append(time.monotonic())
        if len(beats) == 2:
            raise RuntimeError("the database is briefly away")

    with Heartbeat(beat, interval=0.02, name="test-heartbeat"):
        deadline = time.monotonic() + 5
        while len(beats) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    count = len(beats)
    time.sleep(0.1)
    assert count >= 4 and len(beats) == count  # beat again after the failure; then stopped
    assert not any(t.name == "test-heartbeat" for t in threading.enumerate())


def test_no_interval_means_no_thread():
    with Heartbeat(lambda: None, interval=0) as heartbeat:
        assert heartbeat._thread is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_the_job_itself_is_skipped_not_waited_for():
    locked, free = ImportJobFactory(), ImportJobFactory()
    past = timezone.now().replace(year=2020)
    ImportJob.objects.filter(pk__in=[locked.pk, free.pk]).update(heartbeat_at=past)
    written = []

    def beat():  # on the heartbeat thread's own connection
        written.append(touch_unlocked(ImportJob.objects.filter(pk__in=[locked.pk, free.pk]),
                                      heartbeat_at=timezone.now()))
        connection.close()

    with transaction.atomic():  # the job's own transaction holds its row
        ImportJob.objects.select_for_update().get(pk=locked.pk)
        thread = threading.Thread(target=beat)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the heartbeat waited for the job's lock"
    assert written == [1]
    assert ImportJob.objects.get(pk=locked.pk).heartbeat_at == past
    assert ImportJob.objects.get(pk=free.pk).heartbeat_at > past
