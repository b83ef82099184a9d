"""Where the live update's time goes, in-process (no HTTP, no load generator): `make bench` runs it beside
the wrk measurements and reports it under "2. HTMX update". Not a test. Prints one JSON object.

    .venv/bin/python bench/htmx_profile.py [--case tests/cases/dt20-patient1-flt3-itd.json] [--runs 400]

1. Whole requests through Django's handler and every middleware (bench/settings_bench.py, as under
   gunicorn, the garbage collector set as wsgi.py sets it), medians of CPU time (the machine may be shared):
   the budget's two sides a request of each in turn — the live update with a new workup each time
   (single-field edits of the worked cases, bench/workloads.py: typing_edits, each sent with the keys of
   the panel the update before brought, as the page's script does) and the signed-in baseline of
   bench/baseline.py; then the live update of one workup repeated, sent with the keys its page holds
   (aml_salvage/live_cards.py: every key held, so only its parts come back), the bare baseline, and the
   live update with no card held (a page's first update: every card sent whole).
2. The live update's own work, phase by phase, medians: binding and cleaning the form, validating the
   workup (pydantic), the engine, the template of the update's parts (live/pieces.html, every key held: a
   typed update that changes no card), signing the workup token, gzip of that fragment. The rest of a
   request is Django, the middleware, the session and the user.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
os.environ.setdefault("AML_BENCH_DB", str(Path(tempfile.mkdtemp(prefix="aml-htmx-profile-")) / "db.sqlite3"))


def median_ms(fn, runs: int) -> float:
    for _ in range(max(20, runs // 10)):  # warm: caches, connections
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        samples.append(time.process_time() - t0)
    return round(statistics.median(samples) * 1000, 3)


def medians_ms(fns, runs: int) -> list[float]:
    """Each function's median, the functions called in turn (one call of each per round)."""
    for _ in range(max(20, runs // 10)):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, samples, strict=True):
            t0 = time.process_time()
            fn()
            out.append(time.process_time() - t0)
    return [round(statistics.median(out) * 1000, 3) for out in samples]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", type=Path, default=ROOT / "tests" / "cases" / "dt20-patient1-flt3-itd.json")
    parser.add_argument("--runs", type=int, default=400)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.http import QueryDict
    from django.template.loader import render_to_string
    from django.test import Client, RequestFactory
    from django.test.client import ClientHandler
    from django.utils.text import compress_string

    from aml_salvage import services
    from aml_salvage.forms import WorkupForm, form_data_from_workup
    from aml_salvage.live_cards import HELD_FIELD, frame_key, panel_card_keys
    from aml_salvage.presentation import consult_view, view_context
    from aml_salvage.views.option_detail import workup_token
    from bench.baseline import BASELINE_POST

    services.worker_start()  # as wsgi.py does
    user = User.objects.create_user("profile", password=None)
    user.groups.add(Group.objects.create(name="Profile team"))
    signed_in = Client(HTTP_HOST="127.0.0.1")
    signed_in.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[-1])  # the password backend
    # Production asks clinicians for a second factor: the session has passed it (django-otp's session key).
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    session = signed_in.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user, name="authenticator",
                                                               confirmed=True).persistent_id
    session.save()

    workup_data = json.loads(args.case.read_text(encoding="utf-8"))["workup"]
    body = urlencode(form_data_from_workup(workup_data), doseq=True)
    baseline_body = urlencode(BASELINE_POST)
    form_type = "application/x-www-form-urlencoded"

    # Django's handler with every middleware, called directly: the test Client would also record every
    # template rendered (copying its context), which costs the live update's many includes far more.
    handler, factory = ClientHandler(enforce_csrf_checks=False), RequestFactory(HTTP_HOST="127.0.0.1")
    session_cookie = f"sessionid={signed_in.cookies['sessionid'].value}"

    def post(path, data, cookie="", **extra):
        environ = factory.generic("POST", path, data, content_type=form_type, HTTP_ACCEPT_ENCODING="gzip",
                                  HTTP_COOKIE=cookie, **extra).environ
        response = handler(environ)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        return response

    # A clinician typing: each update a workup this worker has not seen (one field changed from the last).
    from bench.workloads import typing_edits, with_cards_held

    typed = itertools.cycle([urlencode(d, doseq=True) for d in with_cards_held(typing_edits(args.runs * 2 + 100))])

    def new_workup():
        return next(typed)

    parameters = services.knowledge_get().parameters
    case_view = consult_view(result=services.consult_evaluate(workup=services.workup_parse(data=workup_data)),
                             parameters=parameters)
    held_body = body + "&" + urlencode({HELD_FIELD: " ".join(panel_card_keys(case_view))})

    from aml_salvage.serving import gc_for_serving, templates_compile

    templates_compile()  # as wsgi.py does once loaded
    gc_for_serving()
    # The budget's two sides, a request of each in turn: both see the same moments of a shared machine.
    typing_ms, baseline_ms = medians_ms([
        lambda: post("/", new_workup(), session_cookie, HTTP_HX_REQUEST="true"),
        lambda: post("/bench/baseline/", baseline_body, session_cookie)], args.runs)
    requests = {
        "product": median_ms(lambda: post("/", held_body, session_cookie, HTTP_HX_REQUEST="true"), args.runs),
        "baseline": baseline_ms,
        "baseline_bare": median_ms(lambda: post("/bench/baseline-bare/", baseline_body), args.runs),
        "product_new_workup_each_time": typing_ms,
        "product_nothing_held": median_ms(lambda: post("/", body, session_cookie, HTTP_HX_REQUEST="true"), args.runs),
    }

    data = QueryDict(body)
    form = WorkupForm(data)
    form.is_valid()
    cleaned = form.to_workup_data()
    workup = services.workup_parse(data=cleaned)
    result = services.consult_evaluate(workup=workup)

    def parts_context():
        """The context of the live update's parts (live/pieces.html) when the page holds every key: what a typed
        update that changes no card renders (views/workspace.py)."""
        shown = consult_view(result=result, parameters=parameters)
        return {**view_context(shown, glance=False), "live": True, "lean_cards": True, "user": user,
                "live_references": shown.live_panel_references(), "frame_key": frame_key(shown, None),
                "cards_held": frozenset(panel_card_keys(shown)), "workup_token": "token"}

    fragment = render_to_string("live/pieces.html", parts_context()).encode()

    def form_phase():
        f = WorkupForm(data)
        f.is_valid()
        f.to_workup_data()
        f.error_placement(defer_blank=True)

    from django.contrib.sessions.backends.db import SessionStore
    from django_htmx.middleware import HtmxDetails

    from aml_salvage.views.workspace import workspace

    def view_alone():
        request = factory.post("/", body, content_type=form_type, HTTP_HX_REQUEST="true")
        request.user, request.session, request.htmx = user, SessionStore(), None
        request.htmx = HtmxDetails(request)
        return workspace(request)

    phases = {
        "view, whole (all of the below but gzip)": median_ms(view_alone, args.runs),
        "form (bind, clean, place errors)": median_ms(form_phase, args.runs),
        "workup validation (pydantic)": median_ms(lambda: services.workup_parse(data=cleaned), args.runs),
        "engine (consult_evaluate)": median_ms(lambda: services.consult_evaluate(workup=workup), args.runs),
        "result parts template (live/pieces.html, every key held)": median_ms(
            lambda: render_to_string("live/pieces.html", parts_context()), args.runs),
        "workup token (signed)": median_ms(lambda: workup_token(workup=workup, user=user), args.runs),
        "gzip of the fragment (as Django's GZipMiddleware)": median_ms(
            lambda: compress_string(fragment, max_random_bytes=100), args.runs),
    }
    print(json.dumps({"case": args.case.stem, "runs": args.runs, "requests_ms": requests, "phases_ms": phases,
                      "fragment_bytes": len(fragment)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
