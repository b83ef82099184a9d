"""Budget 1 of `make bench`: what the clinician feels, in Debian's chromium driven by Playwright.

    .venv/bin/python bench/browser_bench.py --url http://127.0.0.1:PORT --session ID --csrf TOKEN
        [--case tests/cases/dt20-patient1-flt3-itd.json] [--edits 40] [--pings 40]

Signed in (the session of bench/run.py's clinician), the workspace page is filled with a worked case and the
first result awaited. Then --edits edits, as a clinician makes them: a click in a numeric field, select all,
a new value typed key by key (60 ms apart, quicker than the debounce), one field after another
(bench/workloads.py: TYPED_FIELDS). For each, in the page's own clock (performance.now()): the last keydown,
and the first change of the result column's DOM after it (a MutationObserver: htmx swapped the new result
in). Keystroke-to-result is the difference; minus the debounce read from the page's hx-trigger it is what
the server, the network and the swap add.

The denominator, on the same page: round trips of htmx to /bench/ping/ (bench/baseline.py, only in the bench
URLconf): a POST through every middleware, signed in and CSRF-checked, swapping a tiny fragment, timed from the
call to the DOM change. One after each edit, once the page and the server have been idle for PING_PAUSE_MS, as
long as before an edit's own request (typing, then the debounce): both sides of the ratio are measured after the
same pause, in the same minute. A request after a pause is slower than one right after another (the server's
and the browser's caches have gone cold in between): measured back to back, --pings of them at the end (a
figure, not the budget's denominator), the ping is quicker than an edit can ever be. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY_DELAY_MS = 60
PING_PAUSE_MS = 600  # idle before each paced ping: about what precedes an edit's request (typing, the debounce)
TIMEOUT_MS = 20_000

FILL = """(data) => {
  for (const [name, value] of Object.entries(data)) {
    const values = Array.isArray(value) ? value : [value];
    for (const el of document.querySelectorAll(`[name="${name}"]`)) {
      if (el.type === "checkbox") el.checked = values.includes(el.value) || values.includes("on");
      else if (el.type === "radio") el.checked = values.includes(el.value);
      else el.value = values[0] ?? "";
    }
  }
}"""

INSTRUMENT = """() => {
  window.__bench = {lastKey: 0, changes: [], pongs: [], sent: [], loaded: []};
  document.addEventListener("keydown", () => { window.__bench.lastKey = performance.now(); }, true);
  document.addEventListener("htmx:beforeSend", () => window.__bench.sent.push(performance.now()));
  document.addEventListener("htmx:beforeOnLoad", () => window.__bench.loaded.push(performance.now()));
  new MutationObserver(() => window.__bench.changes.push(performance.now()))
    .observe(document.querySelector(".workspace-result"), {childList: true, subtree: true});
  const box = document.createElement("div");
  box.id = "bench-pong";
  document.body.appendChild(box);
  new MutationObserver(() => window.__bench.pongs.push(performance.now()))
    .observe(box, {childList: true, subtree: true});
}"""

PING = """async (n) => {
  const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
  const before = window.__bench.pongs.length;
  const t0 = performance.now();
  await htmx.ajax("POST", "/bench/ping/", {target: "#bench-pong", swap: "innerHTML", values: {n: n},
                                           headers: {"X-CSRFToken": token}});
  while (window.__bench.pongs.length === before) await new Promise((r) => setTimeout(r, 1));
  return window.__bench.pongs[before] - t0;
}"""


SPLIT = """() => {
  const b = window.__bench;
  const sent = b.sent.find((t) => t > b.lastKey), loaded = b.loaded.find((t) => t > sent);
  const changed = b.changes.find((t) => t > b.lastKey);
  return {to_send: sent - b.lastKey, server: loaded - sent, swap: changed - loaded};
}"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict:
    return {"n": len(values), "median_ms": round(statistics.median(values), 1), "p95_ms": round(pct(values, 95), 1),
            "min_ms": round(min(values), 1), "max_ms": round(max(values), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--session", required=True)
    parser.add_argument("--csrf", required=True)
    parser.add_argument("--case", type=Path, default=ROOT / "tests" / "cases" / "dt20-patient1-flt3-itd.json")
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--pings", type=int, default=20, help="back-to-back pings at the end (a figure)")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    from playwright.sync_api import sync_playwright

    from aml_salvage.forms import form_data_from_workup
    from bench.workloads import TYPED_FIELDS

    data = form_data_from_workup(json.loads(args.case.read_text())["workup"])
    rng = random.Random(args.seed)
    host = urlparse(args.url).hostname
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=args.url, viewport={"width": 1440, "height": 1000})
        context.set_default_timeout(TIMEOUT_MS)
        context.add_cookies([{"name": "sessionid", "value": args.session, "domain": host, "path": "/"},
                             {"name": "csrftoken", "value": args.csrf, "domain": host, "path": "/"}])
        page = context.new_page()
        page.goto("/")
        if "/accounts/login/" in page.url:
            raise SystemExit("not signed in: the session cookie was refused")
        trigger = page.locator("[hx-trigger]").first.get_attribute("hx-trigger") or ""
        delay = re.search(r"delay:(\d+)ms", trigger)
        debounce_ms = int(delay.group(1)) if delay else 0
        page.evaluate(INSTRUMENT)
        page.evaluate(FILL, data)
        page.locator('[name="weight_kg"]').dispatch_event("change")
        page.wait_for_selector("#result-panel [data-option]")
        page.wait_for_timeout(500)

        felt, split, paced, without_result = [], [], [], 0
        fields = [f for f in TYPED_FIELDS if data.get(f) not in (None, "")]
        for i in range(args.edits):
            name = fields[i % len(fields)]
            low, high, digits = TYPED_FIELDS[name]
            value = round(rng.uniform(low, high), digits)
            text = f"{value:.{digits}f}" if digits else str(int(value))
            if name == "creatinine_value" and data.get("creatinine_unit") == "mg/dL":
                text = f"{value / 88.4:.2f}"
            field = page.locator(f'[name="{name}"]')
            field.click()
            page.keyboard.press("Control+A")
            page.keyboard.type(text, delay=KEY_DELAY_MS)
            page.wait_for_function("() => window.__bench.changes.some((t) => t > window.__bench.lastKey)")
            felt.append(page.evaluate(
                "() => window.__bench.changes.find((t) => t > window.__bench.lastKey) - window.__bench.lastKey"))
            split.append(page.evaluate(SPLIT))
            page.wait_for_timeout(150)  # let htmx settle before the next edit
            if not page.locator("#result-panel [data-option]").count():
                without_result += 1
            page.wait_for_timeout(PING_PAUSE_MS)
            paced.append(page.evaluate(PING, i))
        pings = [page.evaluate(PING, n) for n in range(args.pings)]
        browser.close()

    after_debounce = [v - debounce_ms for v in felt]
    out = {
        "case": args.case.stem, "edits": args.edits, "key_delay_ms": KEY_DELAY_MS, "debounce_ms": debounce_ms,
        "hx_trigger": trigger, "edits_without_result": without_result,
        "keystroke_to_result": summary(felt), "keystroke_to_result_minus_debounce": summary(after_debounce),
        "ping_pause_ms": PING_PAUSE_MS,
        "ping_round_trip": summary(paced),  # the budget's denominator: each after the pause an edit has
        "ping_back_to_back": summary(pings),
        # Where keystroke-to-result goes beyond the debounce: from the debounce's end to the request sent, the
        # request until its response arrived (network and server), the response until the DOM changed (htmx).
        "split": {part: summary([edit[part] for edit in split]) for part in ("to_send", "server", "swap")},
    }
    out["p95_ratio"] = round(out["keystroke_to_result_minus_debounce"]["p95_ms"] / out["ping_round_trip"]["p95_ms"], 2)
    # Every sample, for bench/run.py to pool the runs: one p95 over all the edits of every run.
    out["samples_ms"] = {"keystroke_to_result_minus_debounce": [round(v, 1) for v in after_debounce],
                         "ping_round_trip": [round(v, 1) for v in paced]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
