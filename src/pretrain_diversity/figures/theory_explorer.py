"""The theory chapter's live explorer: the bound (1) recomputed in the browser at any setting.

The formulas are those of ``analysis.theory.bound``, written once more as Vega expressions (the
browser cannot run Python). ``explorer_readout`` is the same read-out computed in Python; the
browser test moves the sliders and checks that the page shows these numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from pretrain_diversity.analysis import theory as th
from pretrain_diversity.figures.live import LiveWidget

# Slider ranges: wide enough for every fitted preset (see ``slider_ranges``) and for the
# derivation's examples; exponents inside the fits' bounds.
PARAMS = ("a", "b", "c", "alpha", "beta", "gamma")
# The cross term's constant is set on a log scale: fits put it anywhere from 0 to 1e10 (with a
# steep gamma, where it is negligible), which no linear slider can hold. It never moves the
# optimum (c N^-gamma is constant at fixed N), only the level of the curve.
DEFAULTS = {"a": 1.0, "b": 0.5, "log10_c": 0.3, "alpha": 0.5, "beta": 1.0,
            "gamma": 0.5, "log10_N": 4.0}
LOG10_C_RANGE = (-3.0, 10.0)
EXPONENT_RANGE = (0.05, 2.0)
LOG10_N_RANGE = (2.0, 9.0)
CURVE_POINTS = 400


def slider_ranges(presets: Mapping[str, Mapping[str, float]] = {}) -> dict[str, tuple[float, float]]:
    """(min, max) of each slider: the defaults' ranges, widened to hold every preset."""
    ranges = {"a": (0.01, 5.0), "b": (0.01, 5.0), "log10_c": LOG10_C_RANGE}
    ranges.update({k: EXPONENT_RANGE for k in ("alpha", "beta", "gamma")})
    ranges["log10_N"] = LOG10_N_RANGE
    for values in presets.values():
        for k, v in values.items():
            lo, hi = ranges[k]
            ranges[k] = (min(lo, v), max(hi, _round_up(v)))
    return ranges


def _round_up(v: float) -> float:
    """A slider end just above v, with two significant digits."""
    if v <= 0:
        return 0.0
    step = 10 ** (math.floor(math.log10(v)) - 1)
    return math.ceil(v * 1.05 / step) * step


def preset_of(p: th.Tradeoff, log10_N: float | None = None) -> dict[str, float]:
    """The slider values of a fitted bound (the link Phi is left out: it moves no optimum)."""
    values = {k: float(getattr(p, k)) for k in PARAMS if k != "c"}
    values["log10_c"] = float(np.clip(np.log10(max(p.c, 1e-12)), *LOG10_C_RANGE))
    if log10_N is not None:
        values["log10_N"] = float(log10_N)
    return values


def explorer_readout(values: Mapping[str, float]) -> dict[str, float]:
    """What the explorer prints, from the package's formulas (the browser test's reference)."""
    p = th.Tradeoff(c=10.0 ** values["log10_c"], **{k: values[k] for k in PARAMS if k != "c"})
    N = 10.0 ** values["log10_N"]
    x = float(th.constrained_optimal_log_ratio(p, N))
    K, n = (float(v) for v in th.allocation(x, N))
    return {
        "N": N,
        "r_star": math.exp(x),
        "K_star": K,
        "n_star": n,
        "log2_r_star": x / math.log(2),
        "drift": th.drift_exponent(p),
        "bound_at_optimum": float(th.deviation(K, n, p)),
    }


# Vega expressions for the same quantities; ``datum.*``-free so both layers share them.
_LN_N = "(log10_N * LN10)"
_X_STAR = (
    f"clamp(2 / (alpha + beta) * log(alpha * a / (beta * b))"
    f" + (beta - alpha) / (alpha + beta) * {_LN_N}, -{_LN_N}, {_LN_N})"
)


def _bound(x: str) -> str:
    """g at budget N and natural log-ratio ``x`` (an expression)."""
    K = f"exp(({_LN_N} + {x}) / 2)"
    n = f"exp(({_LN_N} - {x}) / 2)"
    return f"(a * pow({K}, -alpha) + b * pow({n}, -beta) + pow(10, log10_c - gamma * log10_N))"


def explorer_chart(presets: Mapping[str, Mapping[str, float]] = {}, width: int = 290):
    """Left: the bound against log2(K/n) at the chosen N, its optimum marked and printed.
    Right: r*(N) over every budget for the chosen constants, the chosen N marked."""
    import altair as alt

    ranges = slider_ranges(presets)
    params = []
    labels = {"a": "a (class term)", "b": "b (sample term)", "log10_c": "log10 c (cross term)",
              "alpha": "α (class exponent)", "beta": "β (sample exponent)",
              "gamma": "γ (cross exponent)", "log10_N": "log10 N (budget)"}
    for name, (lo, hi) in ranges.items():
        step = 0.01 if hi - lo <= 20 else 0.1
        params.append(alt.param(name=name, value=DEFAULTS[name],
                                bind=alt.binding_range(min=lo, max=hi, step=step, name=labels[name])))

    t = alt.sequence(0, 1 + 1e-9, 1 / CURVE_POINTS, as_="t")
    curve = (
        alt.Chart(t)
        .transform_calculate(x=f"(2 * datum.t - 1) * {_LN_N}")
        .transform_calculate(log2_ratio="datum.x / LN2", bound=_bound("datum.x"))
        .mark_line(color="#1f77b4", strokeWidth=2.5)
        .encode(
            x=alt.X("log2_ratio:Q", title="log2(K / n)", scale=alt.Scale(nice=False)),
            y=alt.Y("bound:Q", title="bound g(K, n)", scale=alt.Scale(type="log")),
        )
    )
    star = alt.Chart(alt.Data(values=[{}])).transform_calculate(
        xs=_X_STAR
    ).transform_calculate(log2_ratio="datum.xs / LN2", bound=_bound("datum.xs"))
    optimum = star.mark_point(shape="triangle-down", size=160, filled=True, color="#d62728").encode(
        x="log2_ratio:Q", y="bound:Q"
    )
    rule = star.mark_rule(color="#d62728", strokeDash=[4, 3]).encode(x="log2_ratio:Q")
    left = alt.layer(curve, rule, optimum).properties(
        width=width, height=260, title="the bound at the chosen budget N"
    )

    n_grid = alt.sequence(LOG10_N_RANGE[0], LOG10_N_RANGE[1] + 1e-9, 0.05, as_="lg")
    x_at = _X_STAR.replace("log10_N", "datum.lg")
    path = (
        alt.Chart(n_grid)
        .transform_calculate(N="pow(10, datum.lg)", r=f"exp({x_at})")
        .mark_line(color="#2ca02c", strokeWidth=2.5)
        .encode(
            x=alt.X("N:Q", title="budget N = K n", scale=alt.Scale(type="log")),
            y=alt.Y("r:Q", title="optimal ratio r* = K*/n*", scale=alt.Scale(type="log")),
        )
    )
    here = (
        alt.Chart(alt.Data(values=[{}]))
        .transform_calculate(N="pow(10, log10_N)", r=f"exp({_X_STAR})")
        .mark_point(size=140, filled=True, color="#d62728")
        .encode(x="N:Q", y="r:Q")
    )
    right = alt.layer(path, here).properties(width=width, height=260,
                                             title="where the optimum sits, budget by budget")

    readout = (
        alt.Chart(alt.Data(values=[{}]))
        .transform_calculate(
            xs=_X_STAR,
            text=(
                "'N = ' + format(pow(10, log10_N), ',.4~r')"
                f" + ' → K* = ' + format(exp(({_LN_N} + datum.xs) / 2), ',.4~r')"
                f" + ', n* = ' + format(exp(({_LN_N} - datum.xs) / 2), ',.4~r')"
                " + ', r* = K*/n* = ' + format(exp(datum.xs), ',.4~r')"
                " + ' · drift exponent (β − α)/(α + β) = ' + format((beta - alpha) / (alpha + beta), '+.3f')"
            ),
        )
        .mark_text(align="left", fontSize=14, fontWeight="bold")
        .encode(text="text:N", x=alt.value(0), y=alt.value(10))
        .properties(width=2 * width + 60, height=20)
    )
    return alt.vconcat(readout, alt.hconcat(left, right)).add_params(*params).configure_axis(
        labelFontSize=12, titleFontSize=13
    ).configure_title(fontSize=14).configure_view(stroke=None)


def explorer_widget(presets: Mapping[str, Mapping[str, float]] = {}) -> LiveWidget:
    return LiveWidget(explorer_chart(presets), "theory-explorer",
                      presets={"paper's example": DEFAULTS, **presets})


def fitted_presets(fits: Mapping[str, th.TradeoffFit]) -> dict[str, dict[str, float]]:
    """One preset per task's free-exponent fit, at the task's largest measured budget."""
    return {
        f"fit: {task}": preset_of(f.params, float(np.log10(max(f.budgets))))
        for task, f in fits.items()
    }
