"""The Entezari shots explorer: every source's accuracy against shots, computed in the browser.

The page embeds ``studies.pretraining_data.stats.shot_curves`` (seed mean, 95% interval and seed
count per task, protocol, source and k). The reader picks the protocol, the task, the shots to
read and which sources to compare; the browser takes the best and the worst of the sources shown
at those shots and prints their spread, which is ``stats.spread_among`` in Python (the browser
test compares the two). Below, the spread at every k for the sources shown, beside the paper's
spreads (``analysis.reference_numbers.SOURCE_SPREAD``) at the shots both report: theirs are
CIFAR-100 (and a six-task mean) with CLIP on 7 web sources, selected on test, one seed, so they
are drawn as theirs, not as a target.
"""

from __future__ import annotations

import json

import pandas as pd

from pretrain_diversity.figures.live import LiveWidget

FULL = 0  # k = 0 in the study tables: the whole downstream training pool
COLUMNS = ["task", "protocol", "variant", "k", "mean", "lo", "hi", "seeds"]
PROTOCOL_LABELS = {"probe": "linear probe", "finetune": "fine-tuning"}
OURS = "ours: the sources shown"


def _shot(k: int) -> str:
    return "all" if k == FULL else str(k)


def _theirs_rows(ks) -> tuple[list[dict], list[str]]:
    """The paper's spreads at the shots our study also ran, as rows for the lower panel, and
    their legend labels."""
    from pretrain_diversity.analysis.reference_numbers import SOURCE_SPREAD

    labels = {"source_spread_cifar100": "theirs: CIFAR-100, CLIP on 7 sources",
              "source_spread_six_task_mean": "theirs: mean of six tasks"}
    rows = [{"who": labels[name], "shot": _shot(k), "spread": v}
            for name, label in labels.items()
            for k, v in SOURCE_SPREAD[name].by_shots().items() if k in ks]
    return rows, list(labels.values())


def _theirs_expr(ks) -> str:
    """A Vega expression: the paper's CIFAR-100 spread at the chosen shots, or null where it
    reports none (the read-out prints it beside ours)."""
    from pretrain_diversity.analysis.reference_numbers import SOURCE_SPREAD

    theirs = SOURCE_SPREAD["source_spread_cifar100"].by_shots()
    expr = "null"
    for k in reversed(ks):
        if k in theirs:
            expr = f"(shots == {k} ? {theirs[k]} : {expr})"
    return expr


def explorer_chart(curves: pd.DataFrame, *, order=None, task_names=None, task: str | None = None,
                   protocol: str = "probe", k: int = 1, width: int = 600):
    """``curves``: ``shot_curves``'s table; ``order``: the sources in legend order (all by
    default); ``task_names``: labels for the task menu."""
    import altair as alt

    data = curves[COLUMNS].copy()
    data[["mean", "lo", "hi"]] = data[["mean", "lo", "hi"]].round(3)
    data["k"] = data["k"].astype(int)
    data["seeds"] = data["seeds"].astype(int)
    ks = sorted(data["k"].unique(), key=lambda v: (v == FULL, v))
    data["shot"] = data["k"].map(_shot)
    shots = [_shot(v) for v in ks]
    sources = list(order) if order is not None else sorted(data["variant"].unique())
    tasks = sorted(data["task"].unique())
    task = task or ("glyphs-heldout" if "glyphs-heldout" in tasks else tasks[0])
    protocols = [p for p in PROTOCOL_LABELS if p in set(data["protocol"])]
    names = dict(task_names or {})

    p_protocol = alt.param(name="protocol", value=protocol, bind=alt.binding_radio(
        options=protocols, labels=[PROTOCOL_LABELS[p] for p in protocols], name="protocol "))
    p_task = alt.param(name="task", value=task, bind=alt.binding_select(
        options=tasks, labels=[names.get(t, t) for t in tasks], name="downstream task "))
    p_shots = alt.param(name="shots", value=int(k), bind=alt.binding_radio(
        options=[int(v) for v in ks], labels=shots, name="read at shots per class "))
    # One checkbox a source: any subset is a state no frame ever showed.
    p_src = [alt.param(name=f"show{i}", value=True,
                       bind=alt.binding_checkbox(name=f"{s} "))
             for i, s in enumerate(sources)]
    shown = " || ".join(f"(show{i} && datum.variant == {json.dumps(s)})"
                        for i, s in enumerate(sources))

    base = (
        alt.Chart(data)  # a DataFrame: Altair writes it once, as a named dataset
        .transform_filter("datum.task == task && datum.protocol == protocol")
        .transform_filter(shown)
    )
    x_enc = alt.X("shot:O", sort=shots, title="downstream images per class (shots)",
                  axis=alt.Axis(labelAngle=0))
    color = alt.Color("variant:N", title="pre-training source",
                      scale=alt.Scale(domain=sources, scheme="tableau10"),
                      legend=alt.Legend(orient="bottom", symbolOpacity=1))
    band = base.mark_area(opacity=0.15).encode(
        x=x_enc, y=alt.Y("lo:Q", title="test accuracy (%), seed mean and 95% interval",
                         scale=alt.Scale(zero=False)),
        y2="hi:Q", color=color,
    )
    line = base.mark_line(strokeWidth=2).encode(x=x_enc, y="mean:Q", color=color)
    points = base.mark_point(size=60, filled=True).encode(
        x=x_enc, y="mean:Q", color=color,
        tooltip=[alt.Tooltip("variant:N", title="source"), alt.Tooltip("shot:N", title="shots"),
                 alt.Tooltip("mean:Q", title="accuracy (%)", format=".2f"),
                 alt.Tooltip("lo:Q", title="95% from", format=".2f"),
                 alt.Tooltip("hi:Q", title="95% to", format=".2f"),
                 alt.Tooltip("seeds:Q")],
    )
    at_shots = base.transform_filter("datum.k == shots")
    rule = at_shots.transform_aggregate(groupby=["shot"]).mark_rule(
        color="#555", strokeDash=[4, 3]).encode(x=x_enc)
    protocol_label = " : ".join(f"protocol == {json.dumps(p)} ? {json.dumps(PROTOCOL_LABELS[p])}"
                                for p in protocols) + " : protocol"
    # Three lines, so that each fits the column: the spread, then the sources behind it, then
    # the paper's spread at the same shots. argmax and argmin keep the first row on ties, in the
    # embedded table's order, as spread_among does.
    summary = (
        at_shots.transform_aggregate(
            [alt.AggregatedFieldDef(op="argmax", field="mean", **{"as": "top"}),
             alt.AggregatedFieldDef(op="argmin", field="mean", **{"as": "low"}),
             alt.AggregatedFieldDef(op="count", field="mean", **{"as": "nshown"})])
        .transform_calculate(head=(
            "(shots == 0 ? 'all images' : shots + '-shot') + ', ' + (" + protocol_label + ")"))
    )
    readout = summary.transform_calculate(text=(
        "datum.nshown < 2 ? datum.head + ': only ' + datum.top.variant + ' shown ('"
        " + format(datum.top.mean, '.2f') + '%); tick two or more sources to read a spread'"
        " : datum.head + ': spread = ' + format(datum.top.mean - datum.low.mean, '.2f')"
        " + ' points across ' + datum.nshown + ' of " + str(len(sources)) + " sources'"
    )).mark_text(align="left", fontSize=14, fontWeight="bold").encode(
        text="text:N", x=alt.value(0), y=alt.value(-52))
    extremes = summary.transform_filter("datum.nshown >= 2").transform_calculate(text=(
        "'best ' + datum.top.variant + ' = ' + format(datum.top.mean, '.2f') + '%, worst '"
        " + datum.low.variant + ' = ' + format(datum.low.mean, '.2f') + '%'"
    )).mark_text(align="left", fontSize=13).encode(
        text="text:N", x=alt.value(0), y=alt.value(-33))
    # With no box ticked there is no row to aggregate, so the read-out says so from a row of
    # its own rather than going blank.
    ticked = " + ".join(f"(show{i} ? 1 : 0)" for i in range(len(sources)))
    none_ticked = (
        alt.Chart(pd.DataFrame([{}]))
        .transform_calculate(text=f"({ticked}) == 0 ? 'no source ticked: tick two or more to "
                                  "read a spread' : ''")
        .mark_text(align="left", fontSize=14, fontWeight="bold")
        .encode(text="text:N", x=alt.value(0), y=alt.value(-52))
    )
    theirs_now = _theirs_expr(ks)
    theirs_line = (
        alt.Chart(pd.DataFrame([{}]))
        .transform_calculate(text=(
            f"{theirs_now} === null ? 'theirs (CIFAR-100, CLIP on 7 sources): not reported at '"
            " + (shots == 0 ? 'all images' : shots + ' shots')"
            f" : 'theirs (CIFAR-100, CLIP on 7 sources, selected on test, one seed): spread = '"
            f" + format({theirs_now}, '.1f') + ' points'"
        ))
        .mark_text(align="left", fontSize=13)
        .encode(text="text:N", x=alt.value(0), y=alt.value(-14))
    )
    top = alt.layer(band, line, points, rule, readout, extremes, none_ticked,
                    theirs_line).properties(width=width, height=300)

    # The spread at every k among the sources shown, beside the paper's.
    ours = (
        base.transform_aggregate(hi_mean="max(mean)", lo_mean="min(mean)", groupby=["shot", "k"])
        .transform_calculate(spread="datum.hi_mean - datum.lo_mean", who=f"'{OURS}'")
    )
    theirs_rows, theirs_labels = _theirs_rows(ks)
    who = alt.Color("who:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=400),
                    scale=alt.Scale(domain=[OURS] + theirs_labels,
                                    range=["#333333", "#d62728", "#9467bd"]))
    y_spread = alt.Y("spread:Q", title="best − worst (points)")
    ours_line = ours.mark_line(point=True, strokeWidth=2).encode(
        x=x_enc, y=y_spread, color=who,
        tooltip=[alt.Tooltip("shot:N", title="shots"),
                 alt.Tooltip("spread:Q", title="spread (points)", format=".2f")])
    theirs = alt.Chart(pd.DataFrame(theirs_rows)).mark_point(
        shape="diamond", size=120, filled=True).encode(
        x=x_enc, y=y_spread, color=who,
        tooltip=[alt.Tooltip("who:N", title="series"), alt.Tooltip("shot:N", title="shots"),
                 alt.Tooltip("spread:Q", title="spread (points)", format=".1f")])
    spread_rule = ours.transform_filter("datum.k == shots").mark_rule(
        color="#555", strokeDash=[4, 3]).encode(x=x_enc)
    bottom = alt.layer(ours_line, theirs, spread_rule).properties(width=width, height=170)

    chart = alt.vconcat(top, bottom, spacing=28).resolve_scale(color="independent")
    return chart.add_params(p_protocol, p_task, p_shots, *p_src).configure_axis(
        labelFontSize=12, titleFontSize=13
    ).configure_legend(labelFontSize=12, titleFontSize=12).configure_view(stroke=None)


def explorer_widget(curves: pd.DataFrame, name: str = "shots-explorer", **kwargs) -> LiveWidget:
    return LiveWidget(explorer_chart(curves, **kwargs), name)
