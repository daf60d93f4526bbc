"""The settings that bound connections and dead-worker recovery, as production loads them."""

import json
import os
import subprocess
import sys

SHOW = """
import json, config.settings.base as s
db = s.DATABASES["default"]
print(json.dumps({
    "pool": db.get("OPTIONS", {}).get("pool"), "conn_max_age": db["CONN_MAX_AGE"],
    "transport": s.CELERY_BROKER_TRANSPORT_OPTIONS, "time_limit": s.CELERY_TASK_TIME_LIMIT,
    "backoff_max": s.REPORT_DELIVERY_BACKOFF_MAX, "reaper": s.REAPER_INTERVAL,
    "schedule": {k: v["schedule"] for k, v in s.CELERY_BEAT_SCHEDULE.items()},
    "import": [s.BI_IMPORT_HEARTBEAT_SECONDS, s.BI_IMPORT_STALE_SECONDS],
    "report": [s.REPORT_HEARTBEAT_SECONDS, s.REPORT_STALE_SECONDS],
}))
"""


def production_settings(tmp_path, **env) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DB_POOL_", "GUNICORN_", "CONN_MAX_AGE", "BI_IMPORT_",
                                  "REPORT_", "REAPER_", "CELERY_"))}
    clean.update(DATABASE_URL="postgres://u@127.0.0.1:5432/x",
                 CELERY_BROKER_URL="redis://127.0.0.1:6379/0", DJANGO_DEBUG="false",
                 SYNAPSCALE_VAR_DIR=str(tmp_path), **env)
    out = subprocess.run([sys.executable, "-c", SHOW], env=clean, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def test_a_dead_workers_job_is_requeued_in_under_two_minutes_by_configuration(tmp_path):
    s = production_settings(tmp_path)
    assert s["schedule"]["reap-import-jobs"] == s["schedule"]["reap-reports"] == s["reaper"]
    for heartbeat, stale in (s["import"], s["report"]):
        assert stale >= 3 * heartbeat  # two late beats are not a death
        assert stale + s["reaper"] < 120  # from the last heartbeat to the requeue
    # Redis must not hand a running (or retry-waiting) task to a second worker.
    timeout = s["transport"]["visibility_timeout"]
    assert timeout > s["time_limit"] and timeout > s["backoff_max"]


def test_each_process_holds_a_bounded_pool_of_connections(tmp_path):
    s = production_settings(tmp_path)
    assert s["pool"] == {"min_size": 1, "max_size": 4, "timeout": 10.0}
    assert s["conn_max_age"] == 0  # handed back after each request
    # The pool follows the request threads gunicorn is given; it can be turned off.
    assert production_settings(tmp_path, GUNICORN_THREADS="8")["pool"]["max_size"] == 8
    off = production_settings(tmp_path, DB_POOL_MAX_SIZE="0")
    assert off["pool"] is None and off["conn_max_age"] == 0
