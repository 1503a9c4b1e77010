"""The application's calculator: any budget N and pilot ratio r* give K*, n*, live in the browser.

The browser evaluates ``analysis.recommend.recommend`` as Vega-Lite transforms: every K that
divides N (the divisors up to sqrt(N) and their partners) within the data set's limits, on the
chosen grid, and the one nearest sqrt(r* N) in log K (ties to the smaller K), beside the standard
choice (the largest K that fits) and K = sqrt(N). The measured regret of each choice at the
application's target budget is drawn next to it: the calculator extrapolates, the regret is
what was measured.
"""

from __future__ import annotations

import math

import pandas as pd

from pretrain_diversity.figures.live import LiveWidget


def calculator_chart(*, pool_size: int, max_per_class: int, r_star: float, budget: int,
                     regret: pd.DataFrame | None = None, width: int = 600):
    """``regret``: rows (choice, regret, regret_lo, regret_hi) in points, one per choice, measured
    at ``budget``."""
    import altair as alt

    max_n = pool_size * max_per_class
    # Divisors are found in pairs (d, N/d) with d <= sqrt(N); the sequence covers every budget
    # the data set can realise.
    d_max = math.isqrt(max_n) + 1
    p_n = alt.param(name="N", value=budget, bind=alt.binding(input="number", name="budget N "))
    p_r = alt.param(name="r", value=round(r_star, 3),
                    bind=alt.binding(input="number", name="pilot ratio r* = K/n "))
    p_grid = alt.param(name="grid", value="powers_of_two",
                       bind=alt.binding_radio(options=["powers_of_two", "divisors"],
                                              name="K allowed: "))

    lo = f"max(1, ceil(N / {max_per_class}))"
    hi = f"min({pool_size}, N)"
    valid = f"(N >= 1 && N == floor(N) && N <= {max_n} && r > 0)"
    # Row d = 0 is a sentinel that survives every filter, so that the read-out always has a row
    # to speak from: when no K fits (or the entry is invalid) it says why instead of going blank.
    candidates = (
        alt.Chart(alt.sequence(0, d_max + 1, as_="d"))
        .transform_filter(f"datum.d == 0 || ({valid} && datum.d * datum.d <= N && N % datum.d == 0)")
        .transform_calculate(small="datum.d", large="N / datum.d")
        .transform_fold(["small", "large"], as_=["which", "K"])
        .transform_filter("datum.which == 'small' || (datum.d > 0 && datum.d * datum.d != N)")
        .transform_calculate(real="datum.d > 0")
        .transform_filter(f"!datum.real || (datum.K >= {lo} && datum.K <= {hi})")
        .transform_filter("!datum.real || grid == 'divisors' || abs(log(datum.K) / LN2"
                          " - round(log(datum.K) / LN2)) < 1e-9")
        .transform_calculate(
            log2K="datum.real ? log(datum.K) / LN2 : null",
            dist="datum.real ? abs(log(datum.K) - log(sqrt(r * N))) : 1e9",
        )
        .transform_joinaggregate(K_max="max(K)", found="sum(real)")
    )
    real = candidates.transform_filter("datum.real")
    pick = (
        candidates.transform_window(rank="row_number()",
                                    sort=[alt.SortField("dist", "ascending"),
                                          alt.SortField("K", "ascending")])
        .transform_filter("datum.rank == 1")
    )
    x = alt.X("log2K:Q", title="log2 K (classes)", scale=alt.Scale(domain=[0, math.log2(pool_size) + 0.5]))
    dots = real.mark_tick(color="#999", thickness=1.5, size=18).encode(
        x=x, tooltip=[alt.Tooltip("K:Q", title="feasible K", format=",")]
    )
    star = pick.transform_filter("datum.real").mark_point(shape="triangle-down", size=260, filled=True, color="#d62728").encode(
        x="log2K:Q", tooltip=[alt.Tooltip("K:Q", title="K*", format=",")]
    )
    std = (
        real.transform_filter("datum.K == datum.K_max")
        .mark_point(shape="square", size=150, filled=True, color="#1f77b4")
        .encode(x="log2K:Q", tooltip=[alt.Tooltip("K:Q", title="every class", format=",")])
    )
    exact = (
        alt.Chart(alt.Data(values=[{}]))
        .transform_filter(valid)
        .transform_calculate(log2K="log(sqrt(r * N)) / LN2")
        .mark_rule(color="#d62728", strokeDash=[4, 3])
        .encode(x="log2K:Q")
    )
    readout = pick.transform_calculate(
        text=(
            f"!{valid} ? 'N must be a whole number from 1 to {max_n:,} and r* > 0'"
            " : !datum.real ? 'no K on this grid splits N = ' + format(N, ',') + ' into K classes"
            f" of n = N/K images with K ≤ {pool_size:,} classes and n ≤ {max_per_class:,} images'"
            " : 'K* = ' + format(datum.K, ',') + ' classes × n* = ' + format(N / datum.K, ',')"
            " + ' images per class  (sqrt(r* N) = ' + format(sqrt(r * N), ',.1f') + ')'"
            " + ' · every class: K = ' + format(datum.K_max, ',')"
        ),
        bad=f"!{valid} || !datum.real",
    ).mark_text(align="left", fontSize=14, fontWeight="bold").encode(
        text="text:N", x=alt.value(0), y=alt.value(-14),
        color=alt.condition("datum.bad", alt.value("#b00"), alt.value("black")),
    )
    ks = alt.layer(dots, exact, std, star, readout).properties(
        width=width, height=60,
        title=alt.TitleParams("feasible K (ticks), K* (triangle), sqrt(r* N) (dashed), "
                              "every class (square)", anchor="start", fontSize=12, dy=-18),
    )
    charts = [ks]
    if regret is not None and len(regret):
        reg = alt.Chart(alt.Data(values=regret[["choice", "regret", "regret_lo",
                                                "regret_hi"]].round(2).to_dict("records")))
        order = list(regret["choice"])
        y = alt.Y("choice:N", sort=order, title=None)
        bars = reg.mark_rule(strokeWidth=3, color="#555").encode(
            x=alt.X("regret_lo:Q", title="measured regret at the target budget (points, 95%)"),
            x2="regret_hi:Q", y=y,
        )
        means = reg.mark_point(filled=True, size=90, color="#222").encode(
            x="regret:Q", y=y,
            tooltip=["choice:N", alt.Tooltip("regret:Q", format="+.2f"),
                     alt.Tooltip("regret_lo:Q", title="95% from", format="+.2f"),
                     alt.Tooltip("regret_hi:Q", title="95% to", format="+.2f")],
        )
        zero = alt.Chart(alt.Data(values=[{"x": 0}])).mark_rule(color="#999").encode(x="x:Q")
        charts.append(alt.layer(zero, bars, means).properties(
            width=width - 120, height=130,
            title=alt.TitleParams(f"what each choice cost at N = {budget:,}, measured "
                                  "(test error above the best K, mean over tasks)",
                                  anchor="start", fontSize=12)))
    return alt.vconcat(*charts, spacing=40).add_params(p_n, p_r, p_grid).configure_axis(
        labelFontSize=12, titleFontSize=13
    ).configure_view(stroke=None)


def calculator_widget(**kwargs) -> LiveWidget:
    return LiveWidget(calculator_chart(**kwargs), "recommend-calculator")


def regret_rows(regret_table: pd.DataFrame, task: str = "mean over tasks") -> pd.DataFrame:
    """The choices a practitioner compares (the test-selected best, zero by construction, left
    out), for one task of ``studies.application.regret.regret_table``."""
    rows = regret_table[(regret_table["task"] == task) & (regret_table["choice"] != "best K on test")]
    return rows[["choice", "regret", "regret_lo", "regret_hi"]]
