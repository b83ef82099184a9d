"""Simulated clinicians for `make loadtest` (locust, headless; driven by bench/loadtest.py, loopback only).

Each clinician, signed in with their own account before the run, opens the workspace and then, with a pause
between actions (LOAD_THINK_MIN..MAX seconds): types (the workspace's live update, a new workup each time:
single-field edits of the worked cases), saves a consult (POST, acknowledged by the redirect to it), lists the
saved consults, and prints one (its PDF). Weights 40 : 1 : 2 : 1, a consult as a clinician makes it: some forty
live updates while the workup is typed and corrected, one save, one print, a look at the list before and after.
(An earlier mix of 12 : 2 : 2 : 1 had each clinician print every half minute: prints, about a second of CPU
each, then saturated the machine and every p95 measured the print queue.) A response that is not what a
browser would get is a failure.

Environment (set by bench/loadtest.py): LOAD_DATA (JSON: usernames, their sessions, typed form bodies with a
save choice each), LOAD_SAMPLES (where every request's action, time and duration is written at the end, with
the consult ids whose save was acknowledged), LOAD_THINK_MIN / LOAD_THINK_MAX, LOAD_RAMP ("50,100,200" with
LOAD_STEP_S: a step ramp of clinicians instead of a fixed count).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from urllib.parse import urlparse

from locust import HttpUser, LoadTestShape, between, events, task

DATA = json.loads(open(os.environ["LOAD_DATA"]).read())
SESSIONS = itertools.cycle(DATA["sessions"])
BODIES = DATA["bodies"]
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
CONSULT_URL = re.compile(r"/consults/(\d+)/$")
HELD_FIELD = "panel_cards"  # aml_salvage/live_cards.py HELD_FIELD (locust runs without Django)
# The keys a live update brings, by what carries each (static/js/workspace.js sends those its page holds):
FRAME_KEY = re.compile(r'<div class="result" data-frame-key="([0-9a-f]{16})"')
REFERENCES_KEY = re.compile(r'id="result-references" [^>]*data-card-key="([0-9a-f]{16})"')
LAYOUT_KEY = re.compile(r'<section class="tier-group tier-([a-z_]+)" id="tier-\1" [^>]*data-card-key="([0-9a-f]{16})"')
BODY_KEY = re.compile(r'data-option="([a-z0-9-]+)" data-tier="[a-z_]+">\s*'
                      r'<div class="card-body" id="card-([0-9a-f]{16})"')
BODY_SENT_ALONE = re.compile(r'id="card-([0-9a-f]{16})" data-card-key="\1" '
                             r'hx-swap-oob="outerHTML:#option-([a-z0-9-]+) >')


def page_after(held: dict[str, str], response: str, parts: bool) -> dict[str, str]:
    """The keys a page holds after a live update, by what carries each ("frame", "references", "layout:<tier>",
    "body:<option>"): the whole panel brings every key (a body it held comes as an empty element with its key);
    its parts (parts: HX-Reswap none) replace the keys of what they bring, and the page keeps the rest."""
    shown = {f"body:{option}": key for option, key in BODY_KEY.findall(response)}
    shown.update({f"body:{option}": key for key, option in BODY_SENT_ALONE.findall(response)})
    shown.update({f"layout:{tier}": key for tier, key in LAYOUT_KEY.findall(response)})
    for name, pattern in (("references", REFERENCES_KEY), ("frame", FRAME_KEY)):
        found = pattern.search(response)
        if found:
            shown[name] = found.group(1)
    return {**held, **shown} if parts else shown


SAMPLES: list[tuple[str, float, float, bool]] = []  # (action, start, milliseconds, ok)
ACKNOWLEDGED: list[int] = []


@events.request.add_listener
def _record(request_type, name, response_time, exception, start_time=None, **kwargs):
    SAMPLES.append((name, start_time or time.time(), response_time, exception is None))


@events.quitting.add_listener
def _write(environment, **kwargs):
    with open(os.environ["LOAD_SAMPLES"], "w") as out:
        json.dump({"samples": SAMPLES, "acknowledged": ACKNOWLEDGED}, out)


class Clinician(HttpUser):
    wait_time = between(float(os.environ.get("LOAD_THINK_MIN", "1")), float(os.environ.get("LOAD_THINK_MAX", "3")))

    def plain_http(self):
        """Production marks the session and CSRF cookies Secure, which an HTTP client sends over HTTPS only; this
        test speaks plain HTTP to 127.0.0.1 only. Called before each request, after the previous set them."""
        for cookie in self.client.cookies:
            cookie.secure = False

    def on_start(self):
        self.token = ""
        self.held: dict[str, str] = {}  # the keys the page holds, by what carries each (page_after)
        self.saved: list[int] = []
        self.next_body = itertools.cycle(BODIES[hash(self) % len(BODIES):] + BODIES[:hash(self) % len(BODIES)])
        # Signed in before the run (bench/loadtest.py): the clinician's session, then the workspace page.
        self.client.cookies.set("sessionid", next(SESSIONS), domain=urlparse(self.host).hostname, path="/")
        with self.client.get("/", name="workspace page", catch_response=True, allow_redirects=False) as page:
            found = CSRF_HEADER.search(page.text)
            if page.status_code != 200 or not found:
                page.failure(f"workspace page answered {page.status_code}")
                return
            self.token = found.group(1)

    @task(40)
    def typing(self):
        """A live update, sent as the workspace's script sends it: with the keys the page holds (page_after;
        aml_salvage/live_cards.py), after the update before."""
        self.plain_http()
        body = next(self.next_body)
        with self.client.post("/", data={**body["form"], HELD_FIELD: " ".join(self.held.values())}, name="typing",
                              catch_response=True, headers={"HX-Request": "true", "X-CSRFToken": self.token},
                              ) as response:
            # The whole panel (four tiers), or its parts out of band when the page held the result's frame.
            parts = response.headers.get("HX-Reswap") == "none"
            whole = 'id="result-panel"' in response.text and response.text.count('class="tier-group') == 4
            if response.status_code != 200 or 'id="result-head"' not in response.text or not (parts or whole):
                response.failure(f"live update answered {response.status_code} without a result")
                return
            self.held = page_after(self.held, response.text, parts)

    @task(1)
    def saving(self):
        self.plain_http()
        body = next(self.next_body)
        with self.client.post("/consults/new/", data={**body["form"], **body["save"]}, name="saving",
                              catch_response=True, allow_redirects=False,
                              headers={"X-CSRFToken": self.token}) as response:
            saved = CONSULT_URL.search(response.headers.get("Location", ""))
            if response.status_code != 302 or not saved:
                response.failure(f"save answered {response.status_code}")
                return
            ACKNOWLEDGED.append(int(saved.group(1)))
            self.saved.append(int(saved.group(1)))

    @task(2)
    def listing(self):
        self.plain_http()
        with self.client.get("/consults/", name="listing", catch_response=True) as response:
            if response.status_code != 200 or "Saved consults" not in response.text:
                response.failure(f"list answered {response.status_code}")

    @task(1)
    def printing(self):
        self.plain_http()
        if not self.saved:
            return
        with self.client.get(f"/consults/{self.saved[-1]}/pdf/", name="printing", catch_response=True) as response:
            if response.status_code != 200 or not response.content.startswith(b"%PDF"):
                response.failure(f"PDF answered {response.status_code}")


if os.environ.get("LOAD_RAMP"):
    class StepRamp(LoadTestShape):
        """LOAD_RAMP clinicians, one step every LOAD_STEP_S seconds, then stop."""

        steps = [int(n) for n in os.environ["LOAD_RAMP"].split(",")]
        step_s = float(os.environ.get("LOAD_STEP_S", "30"))

        def tick(self):
            step = int(self.get_run_time() // self.step_s)
            if step >= len(self.steps):
                return None
            return self.steps[step], max(10, self.steps[step])
