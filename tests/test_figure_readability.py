"""Every matplotlib figure a book page shows can be read at the column's width.

The book's article column is about 790 px wide (``style.COLUMN_PX``); a figure wider than that is
scaled down to fit, and its text with it. Each figure below is built by the package function its
page calls, from the committed results tables (bootstraps cut to a few draws: they move the
intervals, not the layout), and must draw no text smaller than 9 pt as displayed
(``style.displayed_text_sizes``: the font size of every drawn text times min(1, 790 px / the
width the inline backend saves the figure at)), and must put at most two data panels side by
side (``style.panels_per_row``; pictures with their axis off and colorbars do not count). The
live widgets are not here: the browser draws them (their text sizes are set in their Vega-Lite
specifications), and what is left of the frame sliders stacks pictures sized by the widget code.

Run with ``-s`` to print each figure's smallest displayed text and width::

    python -m pytest tests/test_figure_readability.py -q -s
"""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from pretrain_diversity.figures import style  # noqa: E402
from pretrain_diversity.paths import repo_root  # noqa: E402

ROOT = repo_root()
BOOT = 20  # bootstrap draws where a figure shows intervals: enough to draw them, cheap


@functools.cache
def _figure1():
    from pretrain_diversity.studies import slope_verdicts as SV
    from pretrain_diversity.studies import figure1 as F

    df = F.load_figure1(ROOT)
    opt, _, trend = SV.selected_optima_and_trend(df, n_boot=BOOT)
    return df, opt, trend


@functools.cache
def _invariance():
    from pretrain_diversity.studies import invariance as I
    from pretrain_diversity.studies import slope_verdicts as SV

    inv = I.analyse(I.load_invariance(ROOT), metric=SV.SELECT, report=SV.REPORT, n_boot=BOOT)
    return inv, I.fit_exponents(inv, n_boot=BOOT)


@functools.cache
def _application():
    from pretrain_diversity.data.pool import dataset_limits
    from pretrain_diversity.studies import application as S
    from pretrain_diversity.studies import figure1 as F

    estimation, target = F.load_figure1(ROOT), S.load_application(ROOT)
    pool_size, max_per_class = dataset_limits("glyphs")
    plan = S.plan(estimation, pool_size=pool_size, max_per_class=max_per_class)
    return estimation, target, plan, S.compare(target, plan)


@functools.cache
def _glyphs():
    from pretrain_diversity.data.glyphs import load_bank
    from pretrain_diversity.data.pool import glyph_split

    bank = load_bank()
    return bank, glyph_split(bank.n_classes).pool


def hero():
    from pretrain_diversity.studies.figure1 import hero as H
    from pretrain_diversity.studies import slope_verdicts as SV
    from pretrain_diversity.studies.figure1 import load as FL

    _, opt, trend = _figure1()
    optima, trends = {"fixed epochs": opt}, {"fixed epochs": trend}
    fixed = FL.load_control("fixed steps", ROOT)
    if fixed is not None:
        optima["fixed steps"], _, trends["fixed steps"] = SV.selected_optima_and_trend(
            fixed, n_boot=BOOT)
    return H.plot_hero(H.hero_data(optima, trends))


def figure1_contours():
    from pretrain_diversity.studies import figure1 as F

    df, opt, _ = _figure1()
    return F.plot_contours(df, opt)


def figure1_ucurves():
    from pretrain_diversity.studies import slope_verdicts as SV
    from pretrain_diversity.studies import figure1 as F

    df, opt, _ = _figure1()
    return F.plot_ucurves(df, opt, baselines=SV.baseline_lines(df.task.unique(), ROOT))


def fonts_tradeoff_ucurves():
    from pretrain_diversity.studies import figure1 as F
    from pretrain_diversity.studies.real_images import fonts_tradeoff as FT
    from pretrain_diversity.studies.real_images import load as RL

    df = RL.load_table("fonts", ROOT)
    if df is None or (df.n_classes * df.samples_per_class).nunique() < 2:
        pytest.skip("no font tradeoff table with two budgets")
    opt, _ = FT.source_optima({"fonts": df})
    fig = F.plot_ucurves(df, opt.drop(columns="source"), metric=FT.SELECT)
    fig.suptitle("fonts source", y=1.02)  # as the page does
    return fig


def fonts_face_ceiling():
    import numpy as np
    import pandas as pd

    from pretrain_diversity.studies.real_images import figures as RF
    from pretrain_diversity.studies.real_images import fonts_tradeoff as FT
    from pretrain_diversity.studies.real_images import load as RL

    df = RL.load_table("fonts", ROOT)
    if df is None or (df.n_classes * df.samples_per_class).nunique() < 2:
        pytest.skip("no font tradeoff table with two budgets")
    opt, _ = FT.source_optima({"fonts": df})
    # the faces per class come from the installed fonts; a stand-in of the same kind here
    faces = pd.Series(np.geomspace(2, 120, 200).round())
    return RF.plot_face_ceiling(FT.ceiling_table(opt, float(faces.median())), faces)


def application_ratio():
    from pretrain_diversity.studies import application as S

    estimation, target, plan, _ = _application()
    return S.plot_ratio_by_budget(estimation, target, plan)[0]


def application_target():
    from pretrain_diversity.studies import application as S

    _, _, plan, cmp = _application()
    return S.plot_target(cmp, plan)


def invariance_slopes():
    from pretrain_diversity.studies import invariance as I

    return I.plot_slopes(_invariance()[0])


def invariance_ucurves():
    from pretrain_diversity.studies import invariance as I
    from pretrain_diversity.studies import slope_verdicts as SV

    inv = _invariance()[0]
    lines = SV.baseline_lines(inv.data.task.unique(), ROOT)
    return [I.plot_ucurves(inv, task, baselines=lines) for task in sorted(inv.data.task.unique())]


def invariance_optima():
    from pretrain_diversity.studies import invariance as I

    return I.plot_optima(_invariance()[0])


def invariance_exponents():
    from pretrain_diversity.studies import invariance as I

    return I.plot_exponents(_invariance()[1])


def data_pool_classes():
    from pretrain_diversity.figures import glyph_samples as GS

    return GS.pool_classes(*_glyphs())


def data_task_strips():
    from pretrain_diversity.figures import glyph_samples as GS
    from pretrain_diversity.tasks.registry import TASKS, load_task

    return GS.task_strips({name: load_task(name, 16) for name in TASKS})


def data_split_panels():
    from pretrain_diversity.figures import glyph_samples as GS

    return GS.split_panels(256)


def data_variety_levels():
    from pretrain_diversity.figures import glyph_samples as GS

    return GS.variety_levels(*_glyphs())


def data_style_parts():
    from pretrain_diversity.figures import glyph_samples as GS

    return GS.style_parts(_glyphs()[0])


def data_font_faces():
    from pretrain_diversity.data.fonts import FontsNotFound
    from pretrain_diversity.figures import glyph_samples as GS

    try:
        from pretrain_diversity.data.fonts_split import fonts_and_split

        return GS.font_faces(*fonts_and_split())
    except FontsNotFound as err:
        pytest.skip(f"font packages not installed: {err}")


def data_face_histogram():
    from pretrain_diversity.data.fonts import FontsNotFound
    from pretrain_diversity.studies.real_images import font_pool as FP

    try:
        from pretrain_diversity.data.fonts_split import face_counts

        return FP.plot_face_histogram(face_counts())
    except FontsNotFound as err:
        pytest.skip(f"font packages not installed: {err}")


def example_run_curve():
    import json

    from pretrain_diversity.figures.run_report import training_curve

    training_curve(json.loads((ROOT / "results/example-run/metrics.json").read_text()))
    return plt.gcf()


def real_images_error_vs_k():
    from pretrain_diversity.studies import baselines as B
    from pretrain_diversity.studies.real_images import figures as RF
    from pretrain_diversity.studies.real_images import load as RL
    from pretrain_diversity.studies.real_images import stats as RS

    raw = {src: RL.load_table(src, ROOT) for src in RL.SOURCES}
    tables = {src: df[df.task.isin(RL.REAL_TASKS)] for src, df in raw.items()
              if df is not None and len(RS.at_budget(df[df.task.isin(RL.REAL_TASKS)], RL.BUDGET))}
    if not tables:
        pytest.skip("no real-image table at the page's budget")
    summary = B.baseline_summary(B.load_baselines(ROOT))
    best = {src: RS.best_k(df, RL.BUDGET) for src, df in tables.items()}
    return RF.plot_error_vs_k(tables, summary, RL.BUDGET, best, tasks=RL.REAL_TASKS)


def entezari_samples():
    from pretrain_diversity.figures import glyph_samples as GS
    from pretrain_diversity.studies import pretraining_data as E
    from pretrain_diversity.sweeps.runner import load_study

    return GS.source_samples(load_study(ROOT / E.SPECS["sources"]))


def entezari_sources_by_k():
    from pretrain_diversity.studies import pretraining_data as E

    df = E.load("sources", ROOT)
    return E.plot_by_k(df, order=E.source_order(df))


def entezari_sources_spread():
    from pretrain_diversity.studies import pretraining_data as E

    return E.plot_spread(E.source_spread(E.load("sources", ROOT)))


def entezari_methods_by_k():
    from pretrain_diversity.studies import pretraining_data as E

    df = E.load("methods", ROOT)
    return E.plot_by_k(df, order=E.method_order(df))


def entezari_size():
    from pretrain_diversity.studies import pretraining_data as E

    return E.plot_size(E.load("size", ROOT))


def entezari_curation():
    from pretrain_diversity.studies import pretraining_data as E

    noisy, clean = E.load("curation", ROOT), E.load("size", ROOT)
    return E.plot_curation(clean[clean.budget.isin(set(noisy.budget))], noisy, ks=(1, 0))


def theory_bound():
    from pretrain_diversity.analysis import theory as th
    from pretrain_diversity.figures import theory as T

    p = dict(a=1.0, b=0.5, c=2.0)
    return T.bound_at_fixed_budget({  # the derivation page's three settings
        "equal (α = β = 1/2)": th.Tradeoff(**p, alpha=0.5, beta=0.5),
        "β > α (α = 1/2, β = 1)": th.Tradeoff(**p, alpha=0.5, beta=1.0),
        "β < α (α = 1, β = 1/2)": th.Tradeoff(**p, alpha=1.0, beta=0.5)})


def theory_fit():
    from pretrain_diversity.analysis import theory as th
    from pretrain_diversity.figures import theory as T
    from pretrain_diversity.studies import theory as ST

    data, _, _ = ST.fit_data(ROOT)
    return T.fit_overview({t: th.analyse_tradeoff(data, task=t, window=5, n_boot=BOOT)
                           for t in sorted(data["task"].unique())})


def theory_simulation():
    from pretrain_diversity.analysis import theory as th
    from pretrain_diversity.analysis.simulation import load_results
    from pretrain_diversity.figures import theory as T
    from pretrain_diversity.studies import theory as ST

    runs, refs, meta = load_results(ROOT / ST.SIMULATION)
    return T.simulation_overview(th.analyse_tradeoff(runs, window=5, n_boot=BOOT), refs,
                                 meta["chance_error"])


# page -> the figures it shows, in order (book/figure1-trained.md is checked with its own study)
FIGURES = {
    "figure1.md": [hero, figure1_contours, figure1_ucurves],
    "fonts-tradeoff.md": [fonts_tradeoff_ucurves, fonts_face_ceiling],
    "application.md": [application_ratio, application_target],
    "invariance.md": [invariance_slopes, invariance_ucurves, invariance_optima],
    "invariance-controls.md": [invariance_exponents],
    "data.md": [data_pool_classes, data_task_strips, data_split_panels, data_variety_levels, data_style_parts,
                data_font_faces, data_face_histogram],
    "example-run.md": [example_run_curve],
    "real-images.md": [real_images_error_vs_k],
    "entezari/index.md": [entezari_samples],
    "entezari/sources.md": [entezari_sources_by_k, entezari_sources_spread],
    "entezari/methods.md": [entezari_methods_by_k],
    "entezari/size.md": [entezari_size],
    "entezari/curation.md": [entezari_curation],
    "theory/derivation.md": [theory_bound],
    "theory/fit.md": [theory_fit],
    "theory/simulation.md": [theory_simulation],
}
CASES = [pytest.param(build, id=f"{page}:{build.__name__}")
         for page, builds in FIGURES.items() for build in builds]


def test_every_figure_function_of_a_page_is_listed():
    """A page that calls a figure function not listed above would escape the check."""
    import re

    listed = {page for page in FIGURES}
    assert not [p for p in listed if not (ROOT / "book" / p).exists()], "a listed page is gone"
    for page in sorted((ROOT / "book").rglob("*.md")):
        rel = page.relative_to(ROOT / "book").as_posix()
        if rel.startswith("_") or rel in ("figure1-trained.md", "theory/explorer.md"):
            continue
        shows = re.findall(r"^\s*(?:fig\b[^=]*=|hero\s*=)\s*[A-Za-z_.]+\(", page.read_text(), re.M)
        if shows:
            assert rel in listed, f"{rel} draws {len(shows)} figure(s) this test does not build"


@pytest.mark.parametrize("build", CASES)
def test_figure_is_readable_at_column_width(build):
    """Smallest text >= 9 pt as displayed at the column's width, and at most two panels a row."""
    with plt.rc_context({"figure.dpi": 100}):  # the inline backend's dpi: matplotlib's default
        figs = build()
        figs = figs if isinstance(figs, list) else [figs]
        try:
            measured = [(style.shown_width_px(f), style.displayed_text_sizes(f),
                         style.panels_per_row(f)) for f in figs]
        finally:
            plt.close("all")
    problems = []
    for i, (width, sizes, side_by_side) in enumerate(measured):
        print(f"\n{build.__name__}[{i}]: {width:.0f} px wide, smallest text {sizes[0][1]:.1f} pt "
              f"({sizes[0][0]!r})")
        small = [f"{s!r} at {pt:.1f} pt" for s, pt in sizes if pt < style.MIN_DISPLAYED_PT]
        if side_by_side > 2:
            problems.append(f"figure {i}: {side_by_side} panels side by side (at most 2)")
        if small:
            problems.append(f"figure {i}, {width:.0f} px wide: {len(small)} texts below "
                            f"{style.MIN_DISPLAYED_PT} pt as displayed: " + ", ".join(small[:8]))
    assert not problems, f"{build.__name__}: " + "; ".join(problems)


def test_the_measure_sees_a_figure_shrink():
    """The check can fail: 10 pt text in a figure about twice the column's width is displayed
    at 10 pt x 790 / its width (below 9 pt), the same text in a figure within the column at
    10 pt; a hidden tick label does not count."""
    with plt.rc_context({"figure.dpi": 100, "font.size": 10}):
        wide, ax = plt.subplots(figsize=(15.8, 3))
        ax.set_title("wide")
        narrow, ax = plt.subplots(figsize=(6, 3))
        ax.set_title("narrow", fontsize=10)
        ax.tick_params(labelbottom=False)  # hidden: not drawn, not counted
        ax.set_yticks([])
        try:
            width = style.shown_width_px(wide)
            shrunk, kept = (style.smallest_displayed_pt(f) for f in (wide, narrow))
            texts = [t for t, _ in style.displayed_text_sizes(narrow)]
        finally:
            plt.close("all")
    assert width > 1.5 * style.COLUMN_PX
    assert shrunk == pytest.approx(10 * style.COLUMN_PX / width) and shrunk < style.MIN_DISPLAYED_PT
    assert kept == pytest.approx(10.0)
    assert texts == ["narrow"]


def test_the_layout_check_counts_panels_side_by_side():
    """Three plots in a row fail the two-a-row rule; two plots with their colorbars, or a row of
    pictures with the axis switched off, do not count as more than two."""
    with plt.rc_context({"figure.dpi": 100}):
        three, _ = plt.subplots(1, 3, layout="constrained")
        two, axes = plt.subplots(2, 2, layout="constrained")
        for ax in axes.flat:
            two.colorbar(ax.imshow([[0, 1]]), ax=ax)
        pictures, axes = plt.subplots(1, 5)
        for ax in axes:
            ax.axis("off")
        try:
            counts = [style.panels_per_row(f) for f in (three, two, pictures)]
        finally:
            plt.close("all")
    assert counts == [3, 2, 0]
