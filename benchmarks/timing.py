"""Timing and request plumbing shared by the benchmarks.

Requests go through ``config.wsgi.application``, the object gunicorn serves,
so every millisecond a real request spends is counted: the WSGI handler, the
``request_started``/``request_finished`` signals (connection health check),
all middleware, session authentication, the view and the renderer.  The WSGI
environ is built before the clock starts; the body is consumed and the
response closed before it stops.
"""

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from django.test import Client, RequestFactory
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


@dataclass(frozen=True)
class Case:
    """``call(prepare())`` is timed; ``prepare`` (building a request, say) is not.

    ``within`` is entered around each block of runs (e.g. to switch database).
    """

    call: Callable[[object], object]
    prepare: Callable[[], object] = lambda: None
    within: Callable[[], AbstractContextManager] = nullcontext


def samples_ms(*cases: Case, rounds: int, warmup: int, repeat: int) -> list[list[float]]:
    """Wall times in ms of each case: ``rounds`` x ``repeat`` samples.

    Each round runs every case in turn as a block: ``warmup`` untimed runs,
    then ``repeat`` timed ones.  Blocks keep each case in its steady state (its
    own connection busy, its code hot), as a timeit loop would; alternating
    them round by round shares any slow spell of the machine among the cases.
    """
    samples: list[list[float]] = [[] for _ in cases]
    for _ in range(rounds):
        for case, times in zip(cases, samples, strict=True):
            with case.within():
                for i in range(warmup + repeat):
                    arg = case.prepare()
                    start = time.perf_counter()
                    case.call(arg)
                    elapsed = time.perf_counter() - start
                    if i >= warmup:
                        times.append(elapsed * 1000)
    return samples


class WsgiClient:
    """GET requests through the production WSGI application, signed in by session.

    The session is a real row, as the admin login creates, and is verified with
    the user's confirmed OTP device (if any), as staff sessions are in production.
    """

    def __init__(self, user):
        from config.wsgi import application

        self.application = application
        login = Client()
        login.force_login(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = login.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id  # what django_otp.login does
            session.save()
        self.factory = RequestFactory()
        self.factory.cookies = login.cookies

    def environ(self, path: str, **headers) -> dict:
        return self.factory.get(path, headers=headers).environ

    def __call__(self, environ: dict) -> tuple[int, bytes]:
        status = []
        response = self.application(environ, lambda s, h, exc_info=None: status.append(s))
        try:
            body = b"".join(response)
        finally:
            response.close()  # what the WSGI server does: fires request_finished
        return int(status[0].split()[0]), body


@dataclass(frozen=True)
class Result:
    benchmark: str
    figures: str
    ratio: float
    target: float

    @property
    def passed(self) -> bool:
        return self.ratio <= self.target


def print_table(results: list[Result]) -> None:
    rows = [("benchmark", "figures (median ms)", "ratio", "target", "result")]
    rows += [
        (r.benchmark, r.figures, f"{r.ratio:.2f}x", f"<= {r.target:g}x",
         "PASS" if r.passed else "FAIL (target missed)")
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print(line)
    print(line)
