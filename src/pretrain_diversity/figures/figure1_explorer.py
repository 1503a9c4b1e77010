"""The Figure 1 explorer: measured U-curves at any budget, interpolated in the browser.

The browser evaluates ``analysis.ucurves.interpolate_at_budget`` as Vega-Lite transforms on the
embedded integer-grid table (``analysis.ucurves.integer_grid``): bracket the chosen budget by
measured ones, weight them linearly in log N, keep the ratios both cover, and take the minimum.
The invariance page's explorer is the same chart with one more choice (the condition), so
``explorer_chart`` takes extra dropdowns (``choices``) and extra layers rather than being copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from pretrain_diversity.figures.live import LiveWidget

COLUMNS = ["task", "split", "x", "error", "lo", "hi", "K", "n", "seeds", "measured", "log2_budget"]


def explorer_chart(grid: pd.DataFrame, *, task: str | None = None, split: str = "validation",
                   log2_budget: float | None = None, width: int = 600, title: str | None = None,
                   choices: Mapping[str, tuple[str, str]] | None = None,
                   layers: Sequence = ()):
    """The U-curve at the slider's budget, interpolated in log N between measured budgets.

    ``choices`` maps a further column of ``grid`` to (its dropdown's label, the value shown
    first): each becomes a parameter of that name, and the curves are filtered on it too.
    ``layers`` are drawn over the curves; they may use every parameter.
    """
    import altair as alt

    choices = dict(choices or {})
    data = grid[list(choices) + COLUMNS].copy()
    data[["error", "lo", "hi"]] = data[["error", "lo", "hi"]].round(2)
    data["K"] = data["K"].astype("Int64")
    data["n"] = data["n"].astype("Int64")
    tasks = sorted(data["task"].unique())
    lb = sorted(data["log2_budget"].unique())
    task = task or ("glyphs-heldout" if "glyphs-heldout" in tasks else tasks[0])
    start = log2_budget if log2_budget is not None else round((lb[0] + lb[-1]) / 2, 2)

    p_task = alt.param(name="task", value=task,
                       bind=alt.binding_select(options=tasks, name="downstream task "))
    splits = [s for s in ("validation", "test") if s in set(data["split"])]
    split = split if split in splits else splits[0]
    p_split = alt.param(name="split", value=split,
                        bind=alt.binding_radio(options=splits, name="error on "))
    p_n = alt.param(name="log2N", value=start,
                    bind=alt.binding_range(min=lb[0], max=lb[-1], step=0.01,
                                           name="budget log2 N "))
    p_more = [alt.param(name=col, value=first,
                        bind=alt.binding_select(options=list(dict.fromkeys(data[col])), name=label))
              for col, (label, first) in choices.items()]
    chosen = " && ".join(f"datum.{c} == {c}" for c in [*choices, "task", "split"])

    base = (
        alt.Chart(data)  # a DataFrame: Altair writes it once, at the top, for every layer
        .transform_filter(chosen)
        .transform_calculate(
            le="datum.log2_budget <= log2N + 1e-9 ? datum.log2_budget : -1",
            ge="datum.log2_budget >= log2N - 1e-9 ? datum.log2_budget : 99",
        )
        .transform_joinaggregate(b0="max(le)", b1="min(ge)")
        .transform_filter("datum.log2_budget == datum.b0 || datum.log2_budget == datum.b1")
    )
    curve = (
        base.transform_calculate(
            w="datum.b1 == datum.b0 ? 1 : (datum.log2_budget == datum.b1"
              " ? (log2N - datum.b0) / (datum.b1 - datum.b0)"
              " : (datum.b1 - log2N) / (datum.b1 - datum.b0))"
        )
        .transform_calculate(we="datum.w * datum.error", wlo="datum.w * datum.lo",
                             whi="datum.w * datum.hi")
        .transform_aggregate(error="sum(we)", lo="sum(wlo)", hi="sum(whi)", nb="count()",
                             b0="min(b0)", b1="min(b1)", groupby=["x"])
        .transform_filter("datum.nb == (datum.b0 == datum.b1 ? 1 : 2)")
        .transform_calculate(
            kind="datum.b0 == datum.b1 ? 'measured budget' : 'interpolated in log N'"
        )
    )
    # One x range for every budget, so that sliding the budget shows the optimum move.
    x_enc = alt.X("x:Q", title="log2(K / n)   (classes ÷ images per class)",
                  scale=alt.Scale(domain=[int(data["x"].min()), int(data["x"].max())], nice=False),
                  axis=alt.Axis(tickMinStep=1))
    y_title = "downstream error (%), seed mean and 95% interval"
    band = curve.mark_area(opacity=0.18, color="#1f77b4").encode(
        x=x_enc, y=alt.Y("lo:Q", title=y_title, scale=alt.Scale(zero=False)), y2="hi:Q"
    )
    line = curve.mark_line(color="#1f77b4", strokeWidth=2.5).encode(
        x=x_enc, y="error:Q",
        strokeDash=alt.StrokeDash("kind:N", title=None,
                                  scale=alt.Scale(domain=["measured budget", "interpolated in log N"],
                                                  range=[[1, 0], [6, 4]]),
                                  legend=alt.Legend(orient="bottom")),
    )
    best = (
        curve.transform_window(rank="row_number()", sort=[alt.SortField("error", "ascending"),
                                                          alt.SortField("x", "ascending")])
        .transform_filter("datum.rank == 1")
    )
    star = best.mark_point(shape="triangle-down", size=220, filled=True, color="#d62728").encode(
        x="x:Q", y="error:Q"
    )
    measured = base.transform_filter("datum.measured").mark_point(
        size=55, filled=True, opacity=0.85
    ).encode(
        x="x:Q", y="error:Q",
        color=alt.Color("log2_budget:O", title="measured budget (log2 N)",
                        scale=alt.Scale(scheme="viridis"), legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("task:N"), alt.Tooltip("split:N", title="error on"),
                 alt.Tooltip("K:Q", title="classes K"), alt.Tooltip("n:Q", title="images per class n"),
                 alt.Tooltip("error:Q", title="error (%)", format=".2f"),
                 alt.Tooltip("lo:Q", title="95% from", format=".2f"),
                 alt.Tooltip("hi:Q", title="95% to", format=".2f"),
                 alt.Tooltip("seeds:Q")],
    )
    readout = best.transform_calculate(
        text=(
            "'N = ' + format(pow(2, log2N), ',.0f')"
            " + (datum.b0 == datum.b1 ? ' (measured)' : ' (interpolated between '"
            " + format(pow(2, datum.b0), ',') + ' and ' + format(pow(2, datum.b1), ',') + ')')"
            " + '\\noptimum at log2(K/n) = ' + format(datum.x, 'd')"
            " + ' (K ≈ ' + format(sqrt(pow(2, log2N + datum.x)), ',.0f')"
            " + ', n ≈ ' + format(sqrt(pow(2, log2N - datum.x)), ',.0f') + ')'"
            " + ' · ' + split + ' error = ' + format(datum.error, '.2f') + '%'"
        )
    ).mark_text(align="left", fontSize=14, fontWeight="bold", lineBreak="\n").encode(
        text="text:N", x=alt.value(0), y=alt.value(-34)  # two lines: the column is ~790 px
    )
    chart = alt.layer(band, line, measured, *layers, star, readout).properties(width=width,
                                                                              height=330)
    if title:
        chart = chart.properties(title=title)
    return chart.add_params(*p_more, p_task, p_split, p_n).configure_axis(
        labelFontSize=12, titleFontSize=13
    ).configure_legend(labelFontSize=12, titleFontSize=12).configure_view(stroke=None)


def explorer_widget(grid: pd.DataFrame, name: str = "figure1-explorer", **kwargs) -> LiveWidget:
    return LiveWidget(explorer_chart(grid, **kwargs), name)
