"""Helpers to look at the built book in a real (headless) browser; no tests in here.

The book's promise is that its sliders work in a static site with no kernel and no network. Only
a browser can check that: the widget state is replayed by JavaScript, so the HTML alone says
nothing about whether the page renders. These helpers keep the test files short:

* ``chromium_driver()``: a headless Debian chromium driven by the system chromedriver. Selenium
  Manager is never used (it would try to download a driver); without chromium the tests are
  skipped locally but fail under ``CI`` so a broken CI image cannot pass silently.
* ``serve(directory)``: the site over http on localhost (``file://`` would hide origin and
  request problems that a real web server shows).
* ``wait_for_live_widgets``, ``set_live_input``, ``live_texts``: wait for, move and read the live
  (Vega-Lite) widgets of ``pretrain_diversity.figures.live``.
* ``wait_for_mathjax``, ``math_report``: wait for MathJax's first typesetting and say which
  formulas it left as raw TeX.
* ``collect_log``: every request the page made and every console error, so a test can assert
  that nothing was fetched from outside localhost.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,1000",
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}



def _missing(reason: str) -> None:
    """Skip locally, but fail under CI, where a missing browser is a broken image, not a choice."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


@contextmanager
def chromium_driver() -> Iterator[webdriver.Chrome]:  # noqa: F821
    """A headless chromium WebDriver with browser and network (performance) logging on."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[test]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            _missing(f"{path} not found: install chromium and chromium-driver")

    profile = tempfile.mkdtemp(prefix="book-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # An explicit driver path is what keeps Selenium Manager (and its downloads) out of the way.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        # Chromium opens its new-tab page first, which tries a Google host; drop that noise so
        # the logs only hold what the pages under test did.
        driver.get("about:blank")
        collect_log(driver)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


@contextmanager
def serve(directory: str | Path) -> Iterator[str]:
    """Serve ``directory`` on a free localhost port in a thread; yields the base URL (ends in /)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class BrowserLog:
    """What the page did on the network and said on the console, since the last collection."""

    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "URL (reason or HTTP status)"
    console_errors: list[str] = field(default_factory=list)

    def non_local_requests(self) -> list[str]:
        """Requested URLs that would leave the machine (data: and blob: URLs stay local)."""
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob", "about", "chrome", "devtools"}
            and urlsplit(url).hostname not in LOCAL_HOSTS
        ]


def collect_log(driver) -> BrowserLog:
    """Drain chromium's performance and browser logs (each entry is returned only once)."""
    log = BrowserLog()
    url_of: dict[str, str] = {}
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            url_of[params["requestId"]] = url
            log.requests.append(url)
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            log.failed.append(f"{params['response']['url']} (HTTP {params['response']['status']})")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            url = url_of.get(params["requestId"], params["requestId"])
            log.failed.append(f"{url} ({params.get('errorText', 'failed')})")
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            log.console_errors.append(entry["message"])
    return log


_MATHJAX_DONE_JS = """
const done = arguments[arguments.length - 1];
const startup = window.MathJax && window.MathJax.startup;
if (!startup || !startup.promise) { done(null); return; }
startup.promise.then(() => done({version: window.MathJax.version}))
    .catch(e => done({error: String(e)}));
"""


def wait_for_mathjax(driver, timeout: float = 30.0) -> str:
    """Wait until MathJax has loaded and finished typesetting the page; returns its version.

    Until MathJax's script has run, ``window.MathJax`` is only the configuration object Sphinx
    writes, without ``startup``; ``startup.promise`` resolves once the page is typeset, including
    the TeX extensions autoloaded on the way. A MathJax that never loads (e.g. from an unreachable
    CDN) ends here, with the console errors in the message.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = driver.execute_async_script(_MATHJAX_DONE_JS)
        if result is not None:
            if "error" in result:
                raise AssertionError(f"MathJax failed on {driver.current_url}: {result['error']}")
            return result["version"]
        if time.monotonic() > deadline:
            errors = [entry["message"] for entry in driver.get_log("browser")]
            raise AssertionError(
                f"MathJax did not start within {timeout:.0f} s on {driver.current_url}; "
                f"browser console: {errors or 'empty'}"
            )
        time.sleep(0.2)


_MATH_REPORT_JS = r"""
const main = document.querySelector('main') || document.body;
const maths = Array.from(main.querySelectorAll('.math'));
const raw = [];
for (const el of maths) {
  // What is left once the rendered maths and Sphinx's equation number are taken out should be
  // nothing: any text there is TeX that MathJax did not replace.
  const copy = el.cloneNode(true);
  copy.querySelectorAll('mjx-container, .eqno').forEach(n => n.remove());
  if (copy.textContent.trim()) raw.push(copy.textContent.trim().slice(0, 80));
}
const text = main.innerText;
return {
  math: maths.length,
  display: maths.filter(el => el.tagName === 'DIV').length,
  containers: main.querySelectorAll('mjx-container').length,
  errors: Array.from(main.querySelectorAll('mjx-merror')).map(e => e.textContent.slice(0, 80)),
  raw: raw,
  visible_tex: ['$$', '\\begin', '\\end{', '\\(', '\\['].filter(s => text.includes(s)),
};
"""


def math_report(driver) -> dict:
    """How the page's maths rendered: counts of Sphinx ``.math`` elements (all, display) and of
    MathJax ``mjx-container`` elements in the main content, MathJax's error boxes (TeX it could
    not parse), the ``.math`` elements still holding raw TeX, and which raw-TeX markers
    (``$$``, ``\\begin``, ...) are visible in the page text."""
    return driver.execute_script(_MATH_REPORT_JS)


# ---------------------------------------------------------------- live (Vega-Lite) widgets
LIVE_WIDGET_SELECTOR = "div.vega-widget"


def wait_for_live_widgets(driver, count: int = 1, timeout: float = 30.0) -> list:
    """Wait until ``count`` Vega widgets are drawn (``data-vega-ready``); fail with the console
    errors, or the error the loader wrote into the widget, otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        ready = driver.find_elements("css selector", LIVE_WIDGET_SELECTOR + "[data-vega-ready]")
        if len(ready) >= count:
            return ready
        failed = driver.find_elements("css selector", LIVE_WIDGET_SELECTOR + "[data-vega-error]")
        if failed or time.monotonic() > deadline:
            errors = [entry["message"] for entry in driver.get_log("browser")]
            reasons = [el.get_attribute("data-vega-error") for el in failed]
            raise AssertionError(
                f"{len(ready)} of {count} live widget(s) drawn on {driver.current_url}; "
                f"widget errors: {reasons or 'none'}; browser console: {errors or 'empty'}"
            )
        time.sleep(0.2)


_SET_INPUT_JS = """
const [root, name, value] = arguments;
const box = root.parentElement;
const radio = box.querySelector(`.vega-bindings input[type="radio"][name="${name}"]`);
const input = radio
    ? box.querySelector(`.vega-bindings input[type="radio"][name="${name}"][value="${value}"]`)
    : box.querySelector(`.vega-bindings input[name="${name}"], .vega-bindings select[name="${name}"]`);
if (!input) return false;
if (radio) { input.checked = true; }
else if (input.type === 'checkbox') { input.checked = (value === 'True' || value === 'true'); }
else { input.value = value; }
input.dispatchEvent(new Event('input', {bubbles: true}));
input.dispatchEvent(new Event('change', {bubbles: true}));
return true;
"""


def set_live_input(driver, widget, name: str, value) -> None:
    """Move a widget's slider, pick a radio button or an option, tick a box (``value`` True or
    False) or type into a box, the way a reader does: set the input and fire its events, then
    wait for Vega to redraw."""
    if not driver.execute_script(_SET_INPUT_JS, widget, name, str(value)):
        raise AssertionError(f"widget {widget.get_attribute('id')} has no input named {name!r}")
    wait_for_live_run(driver, widget)


def wait_for_live_run(driver, widget) -> None:
    """Wait until the widget's Vega view has finished the dataflow run the last input started."""
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.bookVegaViews[arguments[0]].runAsync().then(() => done(true));",
        widget.get_attribute("id"),
    )


def readouts(driver, widget, state: dict, steps, prefix: str = "N ="):
    """Walk a widget through ``steps`` (dicts of input changes, applied as a reader would) and
    yield, after each step, the accumulated ``state`` and the one text mark starting with
    ``prefix``: the readout the test compares with the package."""
    for changes in steps:
        for name, value in changes.items():
            set_live_input(driver, widget, name, value)
        state.update(changes)
        [readout] = [t for t in live_texts(widget) if t.startswith(prefix)]
        yield state, readout


def live_texts(widget) -> list[str]:
    """Every text mark the widget shows (SVG renderer), in document order."""
    return [t.text for t in widget.find_elements("css selector", "g.mark-text text") if t.text]


def check_built_live_widgets(html_root, page: str, count: int = 1) -> list[str]:
    """On a page of the built book: ``count`` live widgets are drawn, nothing is fetched off
    localhost and the console has no error; returns every widget's text marks."""
    from pathlib import Path

    html = Path(html_root) / page
    assert html.exists(), f"{html} was not built: is it in _toc.yml?"
    with serve(html_root) as url, chromium_driver() as driver:
        driver.get(url + page)
        widgets = wait_for_live_widgets(driver, count)
        log = collect_log(driver)
        assert not log.non_local_requests(), log.non_local_requests()
        # The theme's own noise on every page (as test_book.KNOWN_CONSOLE_NOISE): Thebe's script
        # declared twice, and no default colour mode in a fresh profile.
        errors = [e for e in log.console_errors if "favicon" not in e and "THEBE_JS_URL" not in e
                  and "invalid theme mode" not in e]
        assert not errors, errors
        return [t for w in widgets for t in live_texts(w)]
