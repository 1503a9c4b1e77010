"""The fit page's live widget: the fitted bound against the measured means, at any budget.

The measured points exist only at the budgets that were run; the fitted form exists at every
budget. So the slider moves N continuously, the browser evaluates both fits at that N from their
parameters (``analysis.theory.bound.error_at_budget`` with the fit's link, written once more as a
Vega expression), and the measured means shown are those of the **nearest measured budget in
log N**, said so in the read-out: a fit is only ever compared with measurements at their own
budget when the slider sits on one. ``fit_readout`` is the read-out computed in Python; the browser
test moves the slider and checks the page against it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from pretrain_diversity.analysis import theory as th
from pretrain_diversity.figures.live import LiveWidget

MODELS = {"equal exponents": "equal", "free exponents": "free"}
COLOURS = {"equal exponents": "#1f77b4", "free exponents": "#ff7f0e"}
CURVE_POINTS = 160


def _fits(an) -> dict[str, th.TradeoffFit]:
    return {label: getattr(an, attr) for label, attr in MODELS.items()}


def nearest_budget(budgets, log2_n: float) -> int:
    """The measured budget nearest to 2^log2_n in log N (the smaller one on a tie, as the
    widget picks it)."""
    b = np.sort(np.asarray(list(budgets), dtype=float))
    i = int(np.argmin(np.abs(np.log2(b) - log2_n) + 1e-12 * np.arange(len(b))))
    return int(b[i])


def fit_readout(an, log2_n: float) -> dict:
    """What the widget prints for one task's analysis at budget 2^log2_n: each fit's optimum
    log2(K*/n*) (closed form, ``optimal_log_ratio``: at a measured budget this is the fit's own
    ``log_ratio_star``) and the fitted error there in % (``error_at_budget``), the nearest
    measured budget and its model-free minimum."""
    N = 2.0 ** log2_n
    out = {"N": N}
    for label, f in _fits(an).items():
        x = float(th.optimal_log_ratio(f.params, N))
        out[label] = x / math.log(2)
        out[f"{label} error"] = 100 * float(th.error_at_budget(x, N, f.params))
    near = nearest_budget(an.equal.budgets, log2_n)
    out["nearest"] = near
    out["measured minimum"] = float(an.empirical.log_ratio[near]) / math.log(2)
    return out


def _link(u: str, f: str = "datum.") -> str:
    """Phi(u) as a Vega expression on the fit's fields, named ``f`` + field
    (``analysis.theory.bound.link``)."""
    return (f"({f}saturating ? {f}ceiling - ({f}ceiling - {f}floor) * exp(-({u}))"
            f" : {f}floor + ({u}))")


def _deviation(x: str, f: str = "datum.") -> str:
    """a K^-alpha + b n^-beta + c N^-gamma at budget 2^log2N and natural log-ratio ``x``
    (``bound.deviation`` of ``bound.allocation``)."""
    ln_n = "(log2N * LN2)"
    return (f"({f}a * exp(-{f}alpha * ({ln_n} + {x}) / 2)"
            f" + {f}b * exp(-{f}beta * ({ln_n} - {x}) / 2)"
            f" + {f}c * exp(-{f}gamma * {ln_n}))")


_X_STAR = ("(2 / (datum.alpha + datum.beta) * log(datum.alpha * datum.a / (datum.beta * datum.b))"
           " + (datum.beta - datum.alpha) / (datum.alpha + datum.beta) * log2N * LN2)")


def fit_tables(analyses: Mapping[str, object]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables the widget embeds: each fit's parameters, the measured config means
    (± seed s.e.) and each budget's model-free minimum; errors in %."""
    fits, points, minima = [], [], []
    for task, an in analyses.items():
        t = an.equal.table
        lr = t["log_ratio"].to_numpy(float) / math.log(2)
        for label, f in _fits(an).items():
            p = f.params
            fits.append({"task": task, "model": label, "a": p.a, "b": p.b, "c": p.c,
                         "alpha": p.alpha, "beta": p.beta, "gamma": p.gamma, "floor": p.floor,
                         "ceiling": p.ceiling, "saturating": p.link == "saturating",
                         "x_lo": float(lr.min()), "x_hi": float(lr.max())})
        points.append(pd.DataFrame({
            "task": task, "log2_budget": np.log2(t["budget"].to_numpy(float)),
            "log2_ratio": lr.round(4), "error": (100 * t["test_error"]).round(3),
            "sem": (100 * t["sem"]).round(3),
            "window": np.where(t["in_fit"], "in the fit's window", "outside the window"),
            "K": t["n_classes"].astype(int), "n": t["samples_per_class"].astype(int),
            "seeds": t["n_seeds"].astype(int),
        }))
        for N, x in an.empirical.log_ratio.items():
            minima.append({"task": task, "log2_budget": math.log2(N),
                           "log2_ratio": round(float(x) / math.log(2), 4)})
    points = pd.concat(points, ignore_index=True)
    points["lo"], points["hi"] = points["error"] - points["sem"], points["error"] + points["sem"]
    return pd.DataFrame(fits), points, pd.DataFrame(minima)


def fit_chart(analyses: Mapping[str, object], *, task: str | None = None,
              log2_budget: float | None = None, width: int = 600):
    """Task dropdown and a budget slider (log2 N, continuous); both fits drawn at that N with
    their optima as dashed rules, the nearest measured budget's means ± s.e. (filled: in the fit's
    window) and its model-free minimum (dotted); the read-out prints the three."""
    import altair as alt

    fits, points, minima = fit_tables(analyses)
    tasks = list(analyses)
    task = task or ("glyphs-heldout" if "glyphs-heldout" in tasks else tasks[0])
    lb = sorted(points["log2_budget"].unique())
    start = log2_budget if log2_budget is not None else round((lb[0] + lb[-1]) / 2, 2)
    p_task = alt.param(name="task", value=task,
                       bind=alt.binding_select(options=tasks, name="downstream task "))
    p_n = alt.param(name="log2N", value=start,
                    bind=alt.binding_range(min=lb[0], max=lb[-1], step=0.01,
                                           name="budget log2 N "))
    model_colour = alt.Color("model:N", title=None,
                             scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values())),
                             legend=alt.Legend(orient="bottom"))
    # Each task's own error range (as the static figure sets it): far from the measured window
    # the identity-link bound runs off to errors above 100%, which would flatten the measurements.
    y_domain = "null"
    for t, g in points.groupby("task"):
        lo, hi = g["error"].min(), g["error"].max()
        y_domain = (f"task == {t!r} ? [{lo - 0.05 * (hi - lo):.2f}, {hi + 0.1 * (hi - lo):.2f}]"
                    f" : {y_domain}")
    fit_rows = alt.Chart(fits).transform_filter("datum.task == task")
    x_enc = alt.X("log2_ratio:Q", title="log2(K / n)   (classes ÷ images per class)",
                  scale=alt.Scale(domain=[math.floor(points["log2_ratio"].min()),
                                          math.ceil(points["log2_ratio"].max())], nice=False))
    curves = (
        fit_rows.transform_calculate(t=f"sequence(0, {CURVE_POINTS + 1})")
        .transform_flatten(["t"])
        .transform_calculate(
            x=f"(datum.x_lo + (datum.x_hi - datum.x_lo) * datum.t / {CURVE_POINTS}) * LN2"
        )
        .transform_filter("abs(datum.x) <= log2N * LN2")  # K >= 1 and n >= 1 at this N
        .transform_calculate(log2_ratio="datum.x / LN2",
                             error=f"100 * {_link(_deviation('datum.x'))}")
        .mark_line(strokeWidth=2.5, clip=True)
        .encode(x=x_enc, y=alt.Y("error:Q", title="test error (%): fits at N, measured ± s.e.",
                                 scale=alt.Scale(domain=alt.ExprRef(y_domain), nice=False)),
                color=model_colour, detail="model:N")
    )
    optima = fit_rows.transform_calculate(log2_ratio=f"{_X_STAR} / LN2")
    rules = optima.mark_rule(strokeDash=[6, 4], strokeWidth=1.5).encode(
        x="log2_ratio:Q", color=model_colour
    )

    # Rows of the nearest measured budget: rank the task's budgets by distance in log N.
    def nearest(chart):
        return (
            chart.transform_filter("datum.task == task")
            .transform_calculate(d="abs(datum.log2_budget - log2N) + 1e-9 * datum.log2_budget")
            .transform_joinaggregate(dmin="min(d)")
            .transform_filter("datum.d == datum.dmin")
        )

    measured = nearest(alt.Chart(points))
    bars = measured.mark_rule(color="black").encode(x="log2_ratio:Q", y="lo:Q", y2="hi:Q")
    dots = measured.mark_point(size=60, color="black", strokeWidth=1.5, opacity=1).encode(
        x="log2_ratio:Q", y="error:Q",
        fill=alt.Fill("window:N", title="measured, nearest N",
                      scale=alt.Scale(domain=["in the fit's window", "outside the window"],
                                      range=["black", "white"]),
                      legend=alt.Legend(orient="bottom", direction="vertical")),
        tooltip=[alt.Tooltip("K:Q", title="classes K"), alt.Tooltip("n:Q", title="images per class n"),
                 alt.Tooltip("error:Q", title="test error (%)", format=".2f"),
                 alt.Tooltip("sem:Q", title="s.e. over seeds (%)", format=".2f"),
                 alt.Tooltip("seeds:Q")],
    )
    minimum = nearest(alt.Chart(minima)).mark_rule(color="black", strokeDash=[2, 3],
                                                   strokeWidth=1.5).encode(x="log2_ratio:Q")
    texts = _readout_layer(fits, minima, nearest)
    chart = alt.layer(curves, rules, bars, dots, minimum, texts).properties(width=width,
                                                                             height=330)
    return chart.add_params(p_task, p_n).configure_axis(
        labelFontSize=12, titleFontSize=13
    ).configure_legend(labelFontSize=12, titleFontSize=12).configure_view(stroke=None)


def _readout_layer(fits, minima, nearest):
    """The line above the plot: N, each fit's optimum, the nearest measured budget and its
    minimum. One row per task: the fits' constants spread into columns, joined with the minimum."""
    import altair as alt

    wide = {}
    for r in fits.to_dict("records"):
        key = MODELS[r["model"]]
        row = wide.setdefault(r["task"], {"task": r["task"]})
        for k in ("a", "b", "c", "alpha", "beta", "gamma", "floor", "ceiling", "saturating"):
            row[f"{key}_{k}"] = r[k]
    rows = pd.DataFrame(list(wide.values()))
    per_task = nearest(alt.Chart(minima)).transform_lookup(
        lookup="task", from_=alt.LookupData(rows, "task", list(rows.columns.drop("task")))
    )

    def x_star(key):
        a, b, al, be = (f"datum.{key}_{k}" for k in ("a", "b", "alpha", "beta"))
        return (f"(2 / ({al} + {be}) * log({al} * {a} / ({be} * {b}))"
                f" + ({be} - {al}) / ({al} + {be}) * log2N * LN2)")

    def at_star(key):
        f = f"datum.{key}_"
        return (f"format({x_star(key)} / LN2, '.2f') + ' (error there = ' + format(100 * "
                f"{_link(_deviation(x_star(key), f), f)}, '.2f') + '%)'")

    text = (
        "'N = ' + format(pow(2, log2N), ',.0f')"
        " + ' · fitted optimum log2(K*/n*): equal exponents = ' + " + at_star("equal") +
        " + ',\\nfree exponents = ' + " + at_star("free") +
        " + '\\nmeasured at N = ' + format(pow(2, datum.log2_budget), ',')"
        " + (abs(datum.log2_budget - log2N) < 1e-9 ? '' : ' (nearest measured budget)')"
        " + ', its minimum = ' + format(datum.log2_ratio, '.2f')"
    )
    return per_task.transform_calculate(text=text).mark_text(
        align="left", fontSize=13, fontWeight="bold", lineBreak="\n"
    ).encode(text="text:N", x=alt.value(0), y=alt.value(-50))  # three lines: the column is ~790 px


def fit_widget(analyses: Mapping[str, object], name: str = "theory-fit", **kwargs) -> LiveWidget:
    return LiveWidget(fit_chart(analyses, **kwargs), name)
