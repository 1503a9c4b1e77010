"""The live widgets compute what the package computes, at slider positions nobody pre-set.

Each widget is drawn in headless chromium from the same specification the book embeds, with the
vendored Vega scripts and no network. A test moves sliders (or types into boxes) as a reader does,
reads the numbers the widget prints, and compares them with the package's Python computation of
the same formula or interpolation, to the digits shown.
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from browser import (
    chromium_driver,
    collect_log,
    live_texts,
    readouts,
    serve,
    set_live_input,
    wait_for_live_widgets,
)
from pretrain_diversity.figures.live import LiveWidget, standalone_page

VEGA_STATIC = Path(__file__).resolve().parents[1] / "book" / "_static" / "vega"
NUMBER = r"[+−-]?[\d,]*\.?\d+(?:e[+−-]?\d+)?"


def number(text: str, label: str) -> float:
    """The number printed after ``label =`` in a read-out (thousands separators and the
    typographic minus understood)."""
    m = re.search(re.escape(label) + r"\s*=\s*(" + NUMBER + ")", text)
    assert m, f"no '{label} =' in {text!r}"
    return float(m.group(1).replace(",", "").replace("−", "-"))


def close(shown: float, expected: float, digits: int = 4) -> bool:
    """Equal to the ``digits`` significant digits the widget prints (one unit of rounding slack)."""
    if expected == 0:
        return abs(shown) < 10.0 ** -digits
    return abs(shown - expected) <= 1.01 * 0.5 * 10.0 ** (1 - digits) * abs(expected)


@pytest.fixture(scope="module")
def browser():
    with chromium_driver() as driver:
        driver.set_window_size(1440, 1000)
        yield driver


@contextmanager
def drawn(browser, tmp_path: Path, widget: LiveWidget):
    """One widget served on a bare page, opened and drawn; yields its element."""
    site = open_widgets(browser, tmp_path, [widget])
    with serve(site) as url:
        browser.get(url + "index.html")
        [el] = wait_for_live_widgets(browser)
        yield el


def open_widgets(browser, tmp_path: Path, widgets: list[LiveWidget]):
    """Write the widgets into a bare page with the vendored scripts, serve it and open it."""
    shutil.copytree(VEGA_STATIC, tmp_path / "_static" / "vega")
    (tmp_path / "index.html").write_text(standalone_page(widgets))
    return tmp_path


class TestTheoryExplorer:
    def test_readout_matches_the_closed_form_at_unpreset_positions(self, browser, tmp_path):
        from pretrain_diversity.figures.theory_explorer import DEFAULTS, explorer_readout, explorer_widget

        site = open_widgets(browser, tmp_path, [explorer_widget()])
        with serve(site) as url:
            browser.get(url + "index.html")
            [widget] = wait_for_live_widgets(browser)
            values = dict(DEFAULTS)
            # Positions off every preset and every former frame: unequal exponents, a budget
            # between decades, an a/b that no frame had; then equal exponents (no drift).
            steps = ({"log10_N": 6.37}, {"alpha": 0.83, "a": 2.71},
                     {"beta": 0.83, "log10_N": 3.11, "b": 0.23})
            for values, readout in readouts(browser, widget, values, steps):
                expected = explorer_readout(values)
                for label, key in (("K*", "K_star"), ("n*", "n_star"), ("r* = K*/n*", "r_star"),
                                   ("N", "N")):
                    assert close(number(readout, label), expected[key]), (label, readout, expected)
                assert abs(number(readout, "(α + β)") - expected["drift"]) <= 0.0005 + 1e-9, readout
            assert number(readout, "(α + β)") == 0  # equal exponents: the optimum does not move
            log = collect_log(browser)
            assert not log.non_local_requests(), log.non_local_requests()
            assert not [e for e in log.console_errors if "favicon" not in e], log.console_errors

    def test_preset_buttons_set_the_fitted_constants(self, browser, tmp_path):
        from pretrain_diversity.figures.theory_explorer import explorer_readout, explorer_widget

        preset = {"a": 3.3, "b": 0.7, "log10_c": -1.0, "alpha": 0.41, "beta": 1.37, "gamma": 0.5,
                  "log10_N": 4.5}
        site = open_widgets(browser, tmp_path, [explorer_widget({"fit: test": preset})])
        with serve(site) as url:
            browser.get(url + "index.html")
            [widget] = wait_for_live_widgets(browser)
            [button] = [b for b in browser.find_elements("css selector", "button.vega-preset")
                        if b.text == "fit: test"]
            button.click()
            browser.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "window.bookVegaViews[arguments[0]].runAsync().then(() => done(true));",
                widget.get_attribute("id"))
            [readout] = [t for t in live_texts(widget) if t.startswith("N =")]
            assert close(number(readout, "r* = K*/n*"), explorer_readout(preset)["r_star"]), readout
            # the slider shows the preset's value too (Vega binds both ways)
            shown = browser.execute_script(
                "return arguments[0].parentElement.querySelector('input[name=\"alpha\"]').value",
                widget)
            assert float(shown) == pytest.approx(0.41)


class TestFigure1Explorer:
    def test_interpolated_optimum_matches_the_package(self, browser, tmp_path):
        from pretrain_diversity.analysis.ucurves import integer_grid, optimum_at_budget, seed_curves
        from pretrain_diversity.figures.figure1_explorer import explorer_widget
        from pretrain_diversity.studies.figure1.load import load_figure1

        grid = integer_grid(seed_curves(load_figure1()))
        site = open_widgets(browser, tmp_path, [explorer_widget(grid)])
        with serve(site) as url:
            browser.get(url + "index.html")
            [widget] = wait_for_live_widgets(browser)
            # budgets between the measured ones (2^12.6 ~ 6,208, ...), one measured, both splits
            state = {"task": "glyphs-heldout", "split": "validation"}
            steps = ({"log2N": 12.6}, {"split": "test", "log2N": 14.55},
                     {"task": "digits", "log2N": 10.37}, {"task": "shapes", "log2N": 14})
            for state, readout in readouts(browser, widget, state, steps):
                expected = optimum_at_budget(grid, state["task"], state["split"], state["log2N"])
                assert number(readout, "log2(K/n)") == expected["x"], (state, readout, expected)
                assert abs(number(readout, "error") - expected["error"]) <= 0.0051, (state, readout)
                assert ("interpolated" in readout) == expected["interpolated"], readout


class TestRecommendCalculator:
    POOL, PER_CLASS = 6328, 10_000  # the glyph pool's limits (data.pool.dataset_limits)

    def widget(self) -> LiveWidget:
        from pretrain_diversity.figures.recommend_calculator import calculator_widget

        return calculator_widget(pool_size=self.POOL, max_per_class=self.PER_CLASS, r_star=2.1,
                                 budget=32768)

    def test_typed_budgets_give_the_cli_recommendation(self, browser, tmp_path):
        from pretrain_diversity.analysis.recommend import recommend, standard_choice

        with drawn(browser, tmp_path, self.widget()) as el:
            state = {"N": 32768, "r": 2.1, "grid": "powers_of_two"}
            # budgets nobody pre-set: not powers of two, large, with few divisors
            steps = ({"N": 50_000, "r": 3.7}, {"grid": "divisors"}, {"N": 1_234_567},
                     {"N": 10_000_384, "r": 0.05, "grid": "powers_of_two"})
            for state, readout in readouts(browser, el, state, steps, prefix="K* ="):
                limits = dict(pool_size=self.POOL, max_per_class=self.PER_CLASS, grid=state["grid"])
                rec = recommend(state["r"], state["N"], **limits)
                assert number(readout, "K*") == rec.K, (state, readout, rec)
                assert number(readout, "n*") == rec.n, (state, readout, rec)
                assert number(readout, "every class: K") == standard_choice(state["N"], **limits)[0]

    def test_impossible_budgets_say_why(self, browser, tmp_path):
        from pretrain_diversity.analysis.recommend import recommend
        from pretrain_diversity.config import ConfigError

        with drawn(browser, tmp_path, self.widget()) as el:
            set_live_input(browser, el, "N", 10_007)  # a prime above both limits
            with pytest.raises(ConfigError):
                recommend(2.1, 10_007, pool_size=self.POOL, max_per_class=self.PER_CLASS)
            assert any(t.startswith("no K on this grid splits N = 10,007") for t in live_texts(el))
            set_live_input(browser, el, "N", -5)
            assert any(t.startswith("N must be a whole number") for t in live_texts(el))


# ------------------------------------------------------------------ the embedding, no browser
def test_vendored_vega_files_are_the_pinned_npm_builds():
    import subprocess

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([str(root / "scripts" / "vendor-vega"), "--check"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_spec_cannot_end_its_script_element_early():
    w = LiveWidget({"data": {"values": [{"label": "</script><script>alert(1)</script>"}]}}, "x")
    html = w.html()
    assert html.count("</script>") == 1  # only the element's own end tag
    import json as _json

    body = html.split('class="vega-widget-spec" data-target="vw-x">')[1].split("</script>")[0]
    assert _json.loads(body)["data"]["values"][0]["label"].startswith("</script>")
    with pytest.raises(ValueError, match="widget name"):
        LiveWidget({}, "bad name")


def test_vega_scripts_load_only_on_pages_with_a_widget():
    import book_vega

    class Config:
        html_js_files = ["vega/vega.min.js", "jupyter-widgets/require.js", ("vega/x.js", {})]

    config = Config()
    book_vega._drop_global_vega_js(None, config)
    assert config.html_js_files == ["jupyter-widgets/require.js"]

    class App:
        def __init__(self):
            self.added = []

        def add_js_file(self, name, priority):
            self.added.append((name, priority))

    app = App()
    book_vega._add_page_vega_js(app, "intro", "page.html", {"body": "<p>no widget</p>"}, None)
    assert app.added == []
    body = LiveWidget({"mark": "point"}, "y").html()
    book_vega._add_page_vega_js(app, "p", "page.html", {"body": body}, None)
    names = [n for n, _ in app.added]
    assert names == [f"vega/{f}" for f in book_vega.VEGA_SCRIPTS]
    assert all(p < 200 for _, p in app.added)  # before require.js (priority 500 by default)


def test_the_build_is_quiet_only_about_the_vegalite_half_of_a_widget():
    """book_vega drops myst-nb's unknown-mime warning for the Vega-Lite half of a widget's output
    (the book shows its HTML half), and no other warning, so the book builds with -W."""
    import logging

    import book_vega
    from pretrain_diversity.figures.live import VEGALITE_MIME

    assert book_vega.VEGALITE_MIME == VEGALITE_MIME
    assert set(LiveWidget({"mark": "point"}, "v")._repr_mimebundle_()) == {VEGALITE_MIME, "text/html"}

    def kept(msg, subtype):
        record = logging.LogRecord("sphinx.mystnb-p", logging.WARNING, "", 0, msg, None, None)
        record.subtype = subtype
        return book_vega._VegaLiteHalf().filter(record)

    unknown = "skipping unknown output mime type: {} [mystnb.unknown_mime_type]"
    assert not kept(unknown.format(VEGALITE_MIME), "unknown_mime_type")
    assert kept(unknown.format("application/vnd.vegalite.v5+json"), "unknown_mime_type")
    assert kept(unknown.format("application/x-other"), "unknown_mime_type")
    assert kept(f"a warning that names {VEGALITE_MIME}", "other")

class TestShotsExplorer:
    def test_spread_among_the_sources_shown_matches_the_package(self, browser, tmp_path):
        from pretrain_diversity.analysis.reference_numbers import SOURCE_SPREAD
        from pretrain_diversity.figures.shots_explorer import explorer_widget
        from pretrain_diversity.studies import pretraining_data as E
        from pretrain_diversity.studies.pretraining_data.stats import shot_curves, spread_among

        df = E.load("sources")
        curves = shot_curves(df)
        order = E.source_order(df)
        theirs = SOURCE_SPREAD["source_spread_cifar100"].by_shots()
        site = open_widgets(browser, tmp_path, [explorer_widget(curves, order=order)])
        with serve(site) as url:
            browser.get(url + "index.html")
            [el] = wait_for_live_widgets(browser)
            state = {"task": "glyphs-heldout", "protocol": "probe", "shots": 1}
            shown = dict.fromkeys(order, True)
            # Subsets of sources no frame ever showed (one left out, then two), with the
            # protocol, the task and the shots moved too; 20 shots, where the paper reports none.
            for changes in ({"protocol": "finetune", "shots": 10},
                            {"show0": False, "task": "digits"},
                            {"shots": 0, f"show{len(order) - 1}": False},
                            {"protocol": "probe", "shots": 20, "show0": True, "show2": False}):
                for name, value in changes.items():
                    set_live_input(browser, el, name, value)
                    if name.startswith("show"):
                        shown[order[int(name[4:])]] = value
                    else:
                        state[name] = value
                sources = [s for s in order if shown[s]]
                texts = live_texts(el)
                readouts = [t for t in texts if ": spread = " in t and not t.startswith("theirs")]
                assert len(readouts) == 1, texts
                [readout] = readouts
                [extremes] = [t for t in texts if t.startswith("best ") and t.endswith("%")]
                expected = spread_among(curves, state["task"], state["protocol"], state["shots"],
                                        sources)
                m = re.search(r"best (\S+) = (" + NUMBER + r")%, worst (\S+) = (" + NUMBER + ")%",
                              extremes)
                assert m, extremes
                assert (m.group(1), m.group(3)) == (expected["best"], expected["worst"]), \
                    (state, sources, extremes, expected)
                assert abs(float(m.group(2)) - expected["best_mean"]) <= 0.0051, extremes
                assert abs(float(m.group(4)) - expected["worst_mean"]) <= 0.0051, extremes
                assert abs(number(readout, "spread") - expected["spread"]) <= 0.0101, \
                    (state, sources, readout, expected)
                assert f"across {len(sources)} of {len(order)} sources" in readout, readout
                [paper] = [t for t in texts if t.startswith("theirs (")]
                if state["shots"] in theirs:
                    assert number(paper, "spread") == theirs[state["shots"]], paper
                else:
                    assert "not reported" in paper, paper
            assert state["shots"] == 20 and "not reported" in paper  # the last step read that
            # One source has no spread, none has no row at all: the read-out says so.
            set_live_input(browser, el, f"show{len(order) - 1}", True)
            for i in range(len(order) - 1):
                set_live_input(browser, el, f"show{i}", False)
            assert any(": only " in t and "tick two or more" in t for t in live_texts(el))
            assert not [t for t in live_texts(el) if t.startswith("best ") and t.endswith("%")]
            set_live_input(browser, el, f"show{len(order) - 1}", False)
            assert "no source ticked: tick two or more to read a spread" in live_texts(el)
            log = collect_log(browser)
            assert not log.non_local_requests(), log.non_local_requests()
            assert not [e for e in log.console_errors if "favicon" not in e], log.console_errors

class TestInvarianceExplorer:
    def test_condition_optimum_matches_the_package(self, browser, tmp_path):
        from pretrain_diversity.studies import invariance as I
        from pretrain_diversity.studies import slope_verdicts as SV

        inv = I.analyse(I.load_invariance(), metric=SV.SELECT, report=SV.REPORT, n_boot=20)
        grid = I.condition_grid(inv)
        site = open_widgets(browser, tmp_path, [I.condition_widget(inv)])
        with serve(site) as url:
            browser.get(url + "index.html")
            [widget] = wait_for_live_widgets(browser)
            state = {"condition": I.BASELINE, "task": "glyphs-heldout", "split": "validation"}
            # budgets nobody pre-set (the slider starts half way, 2^12.5), between measured ones
            # and one measured, across conditions, tasks and both splits
            steps = ({"condition": "V = 1", "log2N": 10.73},
                     {"task": "digits", "split": "test", "log2N": 13.21},
                     {"condition": "V = ∞", "task": "shapes", "log2N": 14.86},
                     {"condition": "original sampler, 40 epochs", "log2N": 14})
            for state, readout in readouts(browser, widget, state, steps):
                expected = I.condition_optimum(grid, state["condition"], state["task"],
                                               state["split"], state["log2N"])
                assert number(readout, "log2(K/n)") == expected["x"], (state, readout, expected)
                # the page embeds errors to 2 decimals (up to 0.005 off, interpolation keeps that
                # bound) and prints 2 decimals (another 0.005)
                assert abs(number(readout, "error") - expected["error"]) <= 0.0101, (state, readout)
                assert ("interpolated" in readout) == expected["interpolated"], readout
            log = collect_log(browser)
            assert not log.non_local_requests(), log.non_local_requests()


class TestFitExplorer:
    def test_fitted_optima_match_the_fits(self, browser, tmp_path):
        import math

        from pretrain_diversity.analysis import theory as th
        from pretrain_diversity.figures.fit_explorer import fit_readout, fit_widget
        from pretrain_diversity.studies import theory as ST

        data, _, _ = ST.fit_data()
        analyses = {t: th.analyse_tradeoff(data, task=t, window=5, n_boot=10)
                    for t in sorted(data["task"].unique())}
        site = open_widgets(browser, tmp_path, [fit_widget(analyses)])
        with serve(site) as url:
            browser.get(url + "index.html")
            [widget] = wait_for_live_widgets(browser)
            state = {"task": "glyphs-heldout"}
            # off every measured budget (the slider starts at 2^12.5), then one measured budget,
            # where the closed form must be the fit's own log_ratio_star
            steps = ({"log2N": 10.41}, {"task": "digits", "log2N": 13.62},
                     {"task": "shapes", "log2N": 14.93}, {"log2N": 11})
            for state, readout in readouts(browser, widget, state, steps):
                an = analyses[state["task"]]
                expected = fit_readout(an, state["log2N"])
                errors = [float(e) for e in re.findall(r"error there = (" + NUMBER + ")%", readout)]
                for label, shown in zip(("equal exponents", "free exponents"), errors, strict=True):
                    assert abs(number(readout, label) - expected[label]) <= 0.0051, (label, readout)
                    # the fitted form itself, evaluated by the browser with the fit's link
                    assert abs(shown - expected[f"{label} error"]) <= 0.0051, (label, readout)
                assert number(readout, "measured at N") == expected["nearest"], readout
                assert abs(number(readout, "its minimum") - expected["measured minimum"]) <= 0.0051
                assert ("nearest measured budget" in readout) == (state["log2N"] % 1 != 0)
            N = 2 ** 11
            for label, fit in (("equal exponents", an.equal), ("free exponents", an.free)):
                assert abs(number(readout, label) - fit.log_ratio_star[N] / math.log(2)) <= 0.0051
            log = collect_log(browser)
            assert not log.non_local_requests(), log.non_local_requests()


class TestTrainedExplorer:
    def test_optimum_at_each_length_matches_the_package(self, browser, tmp_path):
        from pretrain_diversity.studies import figure1_trained as T

        df, _, _ = T.load_trained()
        full = df[df.budget.isin(T.complete_budgets(df))]
        grid = T.reading_grid(full)
        site = open_widgets(browser, tmp_path, [T.reading_widget(full)])
        lb = sorted(grid["log2_budget"].unique())
        with serve(site) as url:
            browser.get(url + "index.html")
            [widget] = wait_for_live_widgets(browser)
            state = {"reading": T.PLATEAU_READING, "task": "glyphs-heldout",
                     "split": "validation"}
            # lengths and budgets between the measured ones that no frame ever showed
            steps = ({"log2N": lb[0] + 0.37}, {"reading": "0.25× the 20-epoch steps"},
                     {"reading": "8× the 20-epoch steps", "log2N": lb[-1] - 0.61},
                     {"task": "shapes", "split": "test", "log2N": lb[0] + 1.13})
            for state, readout in readouts(browser, widget, state, steps):
                expected = T.reading_optimum(grid, state["reading"], state["task"],
                                             state["split"], state["log2N"])
                assert number(readout, "log2(K/n)") == expected["x"], (state, readout, expected)
                assert abs(number(readout, "error") - expected["error"]) <= 0.0051, (state, readout)


def test_page_weights_count_the_html_and_the_local_scripts_it_loads(tmp_path):
    import subprocess
    import sys

    site = tmp_path / "html"
    (site / "_static").mkdir(parents=True)
    (site / "_static" / "a.js").write_bytes(b"x" * 3000)
    (site / "_static" / "unused.js").write_bytes(b"x" * 50_000)
    body = LiveWidget({"mark": "point"}, "w").html()
    page = f'<script src="_static/a.js?v=1"></script><script src="https://cdn.example/x.js"></script>{body}'
    (site / "p.html").write_text(page)
    script = Path(__file__).resolve().parents[1] / "scripts" / "page-weights"
    out = subprocess.run([sys.executable, str(script), str(site)], capture_output=True, text=True,
                         check=True).stdout
    [row] = [line.split() for line in out.splitlines() if line.startswith("p.html")]
    assert row[1:] == [f"{len(page.encode()) / 1000:.0f}", "3", f"{len(page.encode()) / 1000 + 3:.0f}", "1"]
