"""The four findings read on runs that trained: each run of an ``entezari-*-trained`` study is read
at several training lengths (``training.lengths``), and each claim is read three ways.

At 20 epochs three of the four first verdicts rested on runs that had not fitted their classes:
size's "contradicted" on N = 256 (40 steps, 6% training accuracy), curation's matching factors on
80%-noise runs whose accuracy fell as N grew, and methods on a SimCLR at 45% of its own task. Here
the same claim functions (``claims``) read the rows of one protocol at a time
(``analysis.readings``):

- ``trained``: each run at its plateau, the headline;
- ``fixed epochs``: length 1, the first studies' protocol;
- ``fixed compute``: the same SGD steps at every budget (only where a study has several budgets;
  the smallest budgets are left out, and named, when their longest reading is shorter than what
  the others share).

A group of runs (a budget, a source, a method) that did not reach the plateau, or that fits under
half of its own training images even there, is named by ``training_status``; a verdict never
rests on such a group alone (``size_by_start``, ``decided_by_trained``).
"""

from __future__ import annotations

import os

import pandas as pd

from pretrain_diversity.analysis import claim_power as CP
from pretrain_diversity.analysis import readings as R
from pretrain_diversity.analysis import verdict_rule as VR
from pretrain_diversity.analysis.verdict_rule import ClaimVerdict, combine_cells
from pretrain_diversity.studies.pretraining_data.load import TASK_NAMES, load, recorded
from pretrain_diversity.studies.pretraining_data.stats import gain_contrast

PROTOCOLS = R.PROTOCOLS


def trained_name(study: str) -> str:
    """``size`` -> ``size-trained``: the study of the same finding read at several lengths."""
    return study if study.endswith("-trained") else f"{study}-trained"


def is_complete(study: str, root: str | os.PathLike | None = None) -> bool:
    r = recorded(trained_name(study), root)
    return r["table"] and r["recorded"] == r["runs"]


def load_readings(study: str, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """A trained study's table (one row per run, length, task, protocol and k), the plateau
    recomputed by the current rule from each run's held-out accuracies."""
    return R.with_plateau(load(trained_name(study), root))


def compute_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    """The fixed-compute rows, and the budgets left out to get them: the smallest budgets are
    dropped one by one until every remaining budget was read at a shared step count."""
    dropped: list[int] = []
    budgets = sorted(int(b) for b in df["budget"].unique())
    while len(budgets) > 1:
        sub = df[df["budget"].isin(budgets)]
        try:
            return R.protocol_rows(sub, R.FIXED_COMPUTE), dropped
        except ValueError:
            dropped.append(budgets.pop(0))
    raise ValueError("no two budgets share a step count: there is no fixed-compute reading")


def readings(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Protocol -> its rows. One-budget studies have no fixed-compute reading (it would be the
    longest length, not a control); the budgets a multi-budget study's fixed-compute reading
    leaves out are in ``.attrs['dropped']`` of its rows."""
    out = {R.TRAINED: R.protocol_rows(df, R.TRAINED),
           R.FIXED_EPOCHS: R.protocol_rows(df, R.FIXED_EPOCHS)}
    if df["budget"].nunique() > 1:
        rows, dropped = compute_rows(df)
        rows.attrs["dropped"] = dropped
        out[R.FIXED_COMPUTE] = rows
    return out


def training_status(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group (``by``: 'budget' or 'variant'): runs, how many reached the plateau, the
    median plateau length, and seed-mean training accuracy (%) at 20 epochs and at the plateau.
    ``trained`` is True where most runs reached the plateau and the mean training accuracy
    there is at least half (``readings.TRAINED_ENOUGH``)."""
    runs = df.drop_duplicates(["run_id", "length"])
    at = runs[runs["at_plateau"].astype(bool)]
    one = runs[runs["length"] == 1]
    g = at.groupby(by)
    out = pd.DataFrame({
        "runs": g["run_id"].nunique(),
        "plateaued": g["plateau_reached"].sum().astype(int),
        "plateau length": g["plateau_length"].median(),
        "training accuracy at 20 epochs (%)": 100 * one.groupby(by)["pretrain_final_accuracy"].mean(),
        "training accuracy at the plateau (%)": 100 * g["pretrain_final_accuracy"].mean(),
        "held-out accuracy at the plateau (%)": 100 * g["pretrain_heldout_accuracy"].mean(),
    })  # fmt: skip
    plateaued = out["plateaued"] > out["runs"] / 2
    fits = out["training accuracy at the plateau (%)"] >= 100 * R.TRAINED_ENOUGH
    out["trained"] = plateaued & fits
    out["why not"] = [
        "" if ok else
        (f"reached the plateau in {p} of {n} runs" if not pl else
         f"fits {acc:.0f}% of its training images at the plateau")
        for ok, pl, p, n, acc in zip(out["trained"], plateaued, out["plateaued"], out["runs"],
                                     out["training accuracy at the plateau (%)"])]
    return out.reset_index()


def last_doubling(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group, what the last doubling of training (the two longest lengths) changed, in
    points: the run's own objective on held-out images (what the plateau rule reads) and the
    linear probe's accuracy on each task, averaged over shots and seeds. A group still rising
    here is read at a length that understates it."""
    top = sorted(df["length"].unique())[-2:]
    if len(top) < 2:
        raise ValueError("one training length: there is no last doubling to read")
    d = df[df["length"].isin(top)]
    runs = d.drop_duplicates(["run_id", "length"])
    own = runs.pivot_table(index=by, columns="length", values="pretrain_heldout_accuracy")
    out = pd.DataFrame({"own objective, held-out": 100 * (own[top[1]] - own[top[0]])})
    probe = d[d["protocol"] == "probe"].pivot_table(index=[by, "task"], columns="length",
                                                    values="accuracy")
    gain = (probe[top[1]] - probe[top[0]]).unstack("task")
    out = out.join(gain.rename(columns=lambda t: f"probe, {TASK_NAMES.get(t, t).split(' (')[0]}"))
    out.attrs["lengths"] = tuple(float(x) for x in top)
    return out.reset_index()


def untrained(status: pd.DataFrame, by: str) -> list:
    """The groups of ``training_status`` that did not train, in order."""
    return status.loc[~status["trained"], by].tolist()


# ------------------------------------------------------------------------------------- size
def size_by_start(rows: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """The size contrast (gain at the fewest shots minus gain with all images,
    ``stats.gain_contrast``) from every starting budget to the largest: one row per start, task
    and protocol. A verdict read from N = 256 alone and one read from N = 1,024 can disagree; this
    shows every start."""
    budgets = sorted(int(b) for b in rows["budget"].unique())
    if len(budgets) < 2:
        raise ValueError(f"the size contrast needs two budgets, the rows hold {budgets}")
    parts = []
    for start in budgets[:-1]:
        c = gain_contrast(rows[rows["budget"].isin([start, budgets[-1]])], seed=seed)
        parts.append(c.assign(start=start, end=budgets[-1]))
    return pd.concat(parts, ignore_index=True)


def size_claim_by_start(rows: pd.DataFrame, trained_starts, *, seed: int = 0) -> ClaimVerdict:
    """'More pre-training data helps most at few shots', one cell per (start, task, protocol),
    read over the starting budgets that trained (``trained_starts``); the others are shown by
    ``size_by_start`` and named on the page, but do not decide."""
    from pretrain_diversity.studies.pretraining_data.claims import _names

    cells = size_by_start(rows, seed=seed)
    cells = cells[cells["start"].isin(list(trained_starts))]
    if cells.empty:
        raise ValueError("no starting budget trained: the size claim cannot be read")
    cells = cells.assign(start=cells["start"].map(lambda n: f"from N = {n:,}"))
    return combine_cells(_names(cells), keys=("start", "task", "protocol"), effect="difference",
                         direction=1)


# ------------------------------------------------------------------------- every finding
def decided_by_trained(rows: pd.DataFrame, status: pd.DataFrame, by: str) -> pd.DataFrame:
    """``rows`` without the groups that did not train (``training_status``)."""
    return rows[~rows[by].isin(untrained(status, by))]


def claim_by_protocol(rows_by_protocol: dict[str, pd.DataFrame], claim) -> pd.DataFrame:
    """One finding read under each protocol by its claim function (``claims``: rows ->
    ``ClaimVerdict``), each after the robustness panel (test selection, each seed left out):
    protocol, verdict, as reported, cells passing / contradicting / in all, the worst cell, the
    panel's reason. The trained row is the headline; the others show what the protocol does."""
    from pretrain_diversity.studies.pretraining_data.claims import claim_robustness, worst_cell
    from pretrain_diversity.analysis.verdict_rule import CONTRADICTS, PASSES

    from pretrain_diversity.analysis.verdict_rule import INCONCLUSIVE

    out = []
    for protocol, rows in rows_by_protocol.items():
        try:
            v = claim(rows)
        except ValueError as e:  # nothing left to read, e.g. every cell left out as untrained
            out.append({"protocol": protocol, "verdict": INCONCLUSIVE,
                        "as reported": INCONCLUSIVE, "cells passing": 0,
                        "cells contradicting": 0, "cells": 0, "worst cell": "—",
                        "why": str(e), "claim": None, "robust": None})
            continue
        robust = claim_robustness(rows, claim)
        effect, lo, hi = worst_cell(v)
        status = v.cells["status"]
        out.append({"protocol": protocol, "verdict": robust.label, "as reported": v.label,
                    "cells passing": int((status == PASSES).sum()),
                    "cells contradicting": int((status == CONTRADICTS).sum()),
                    "cells": len(status), "worst cell": f"{effect:+.1f} [{lo:+.1f}, {hi:+.1f}]",
                    "why": robust.reason, "claim": v, "robust": robust})
    return pd.DataFrame(out)


def claim_view(table: pd.DataFrame) -> pd.DataFrame:
    """``claim_by_protocol`` for a reader: one row per protocol, the verdict in plain words."""
    from pretrain_diversity.studies.findings import plain

    return pd.DataFrame({
        "reading": table["protocol"],
        "verdict": table["verdict"].map(plain),
        "cells that agree": [f"{r['cells passing']} of {r['cells']}"
                             + (f", {r['cells contradicting']} contradict"
                                if r["cells contradicting"] else "")
                             for _, r in table.iterrows()],
        "cell nearest the opposite (points, 95%)": table["worst cell"],
    })


# ------------------------------------------------------------------------------- methods
HEADLINE_METHODS = ("simclr", "clip-web-captions")  # image-image against web-like image-text


def methods_claim_of(status: pd.DataFrame | None = None, a: str = HEADLINE_METHODS[0],
                     b: str = HEADLINE_METHODS[1]):
    """The claim function 'a beats b' for ``claim_by_protocol``. Both methods are read whatever
    ``status`` says: the comparison is between them, and the page names one that did not train."""
    from pretrain_diversity.studies.pretraining_data.claims import methods_claim

    return lambda rows: methods_claim(rows, a, b)


def size_claim_of(status: pd.DataFrame):
    """The size claim for ``claim_by_protocol``, read from the starting budgets that trained
    (``training_status`` by budget); the others are shown, named, and do not decide."""
    starts = [b for b in status.loc[status["trained"], "budget"].tolist()]
    return lambda rows: size_claim_by_start(rows, starts)


# ------------------------------------------------------------------------ what a page shows
def pending(study: str, root: str | os.PathLike | None = None) -> dict[str, str]:
    """The glue of a finding whose trained study is not complete: how far it is, and how to
    run the rest."""
    r = recorded(trained_name(study), root)
    command = f"make studies STUDY=entezari-{trained_name(study)}"
    return {"trained_verdict": f"not yet measured ({r['recorded']} of {r['runs']} runs recorded)",
            "trained_ours": "nothing read yet",
            "trained_why": f"its runs are still training (`{command}` runs the rest)",
            "trained_power": "measured once its runs are in",
            "trained_command": command}


def finding_glue(table: pd.DataFrame, status: pd.DataFrame, by: str) -> dict[str, str]:
    """A finding read under every protocol (``claim_by_protocol``) in the words its page glues:
    ``trained_*`` (the headline), ``epochs_*`` and, where there is one, ``compute_*``; the
    groups that did not train are named in ``trained_why``."""
    from pretrain_diversity.studies import findings as FD

    prefixes = {R.TRAINED: "trained", R.FIXED_EPOCHS: "epochs", R.FIXED_COMPUTE: "compute"}
    out = {}
    for _, r in table.iterrows():
        found = (FD.claim_findings(r["claim"], r["robust"]) if r["claim"] is not None else
                 {"verdict": FD.plain(r["verdict"]), "ours": "no cell can be read",
                  "why": r["why"]})
        out.update(FD.glued(prefixes[r["protocol"]], found))
    bad = status[~status["trained"]]
    if len(bad):
        note = "not trained: " + "; ".join(
            f"{f'N = {g:,}' if by == 'budget' else g} ({why})"
            for g, why in zip(bad[by], bad["why not"]))
        out["trained_why"] = note if out.get("trained_why", "—") == "—" else \
            f"{out['trained_why']}; {note}"
    return out


def page_reading(study: str, make_claim, by: str,
                 root: str | os.PathLike | None = None) -> dict:
    """What a finding's page needs of its trained study: ``complete``; when complete also its
    ``runs`` (every length), the ``readings``, the ``power`` of its headline claim
    (``analysis.claim_power`` on the trained reading's cells), the ``status`` of each group (``by``), the ``table`` of the claim (made by
    ``make_claim(status)``, so that it can leave out the groups that did not train) under every
    protocol, and its ``glue``; when not, the ``glue`` of ``pending``."""
    if not is_complete(study, root):
        return {"complete": False, "glue": pending(study, root)}
    df = load_readings(study, root)
    status = training_status(df, by)
    rows = readings(df)
    table = claim_by_protocol(rows, make_claim(status))
    return _complete_reading(study, df, rows, status, table, by)


def _complete_reading(study: str, runs: pd.DataFrame, rows: dict, status: pd.DataFrame,
                      table: pd.DataFrame, by: str) -> dict:
    headline = table.iloc[0]["claim"]
    power = CP.claim_power(headline) if headline is not None else None
    return {"complete": True, "runs": runs, "readings": rows, "status": status, "table": table,
            "power": power,
            "glue": {**finding_glue(table, status, by),
                     "trained_power": (CP.power_sentence(power) if power is not None else
                                       "no cell can be read, so nothing could be told"),
                     "trained_command": f"make studies STUDY=entezari-{trained_name(study)}"}}


def power_view(power: pd.DataFrame) -> pd.DataFrame:
    """``claim_power`` for a reader: how often each verdict (in plain words) comes out, in %."""
    from pretrain_diversity.studies.findings import plain

    labels = (VR.REPRODUCED, VR.PARTLY, VR.CONTRADICTED, VR.INCONCLUSIVE)
    out = power[["true effect"]].rename(columns={"true effect": "true effect (points)"})
    for label in labels:
        out[f"{plain(label)} (%)"] = (100 * power[label]).round(0).astype(int)
    return out


def headline_glue(first: dict[str, str], reading: dict) -> dict[str, str]:
    """The ``claim_*`` words the intro's findings table pastes: the trained reading once its
    study is complete, else the first (20-epoch) study's, saying so."""
    g = reading["glue"]
    if reading["complete"]:
        return {"claim_verdict": g["trained_verdict"],
                "claim_ours": f"trained to the plateau: {g['trained_ours']}",
                "claim_why": g["trained_why"]}
    why = first.get("claim_why", "—")
    later = "the trained runs are " + g["trained_verdict"]
    return {"claim_verdict": first["claim_verdict"],
            "claim_ours": f"at 20 epochs: {first['claim_ours']}",
            "claim_why": later if why == "—" else f"{why}; {later}"}


# ------------------------------------------------------------------------------- sources
SHIFTED_SOURCE = "negative"  # dark ink on a bright ground: unlike every downstream task


def spread_with_and_without(rows: pd.DataFrame, left_out: str = SHIFTED_SOURCE) -> pd.DataFrame:
    """The best-minus-worst spread between sources (points) per task, protocol and k, with every
    source and without ``left_out``: how much of the spread is one source whose images look
    unlike the downstream tasks."""
    from pretrain_diversity.studies.pretraining_data.stats import source_spread

    cols = ["task", "protocol", "k", "spread", "spread_lo", "spread_hi", "worst"]
    every = source_spread(rows)[cols]
    rest = source_spread(rows[rows["variant"] != left_out])[cols[:-1]]
    return every.merge(rest, on=["task", "protocol", "k"], suffixes=("", f" without {left_out}"))


def spread_peak(spreads: pd.DataFrame, column: str = "spread") -> pd.DataFrame:
    """Per task and protocol, the number of shots k (all images counted last) at which the
    spread ``column`` is largest: the paper's spread peaks at 5 to 10 shots, not at 1."""
    from pretrain_diversity.studies.pretraining_data.load import k_label

    idx = spreads.groupby(["task", "protocol"])[column].idxmax()
    out = spreads.loc[idx, ["task", "protocol", "k", column]].reset_index(drop=True)
    out["peak"] = out["k"].map(lambda k: k_label(int(k)))
    return out


def sources_claim_of(status: pd.DataFrame | None = None):
    """The sources claim for ``claim_by_protocol`` (``claims.sources_claim``, every source)."""
    from pretrain_diversity.studies.pretraining_data.claims import sources_claim

    return sources_claim


# ------------------------------------------------------------------------------ curation
def noise_cell(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``cell``: its label noise and budget in words, the group a curation run's
    training is judged in ('80% wrong labels, N = 32,768')."""
    noise = df["label_noise"].fillna(0).astype(float)
    return df.assign(cell=[f"{r:.0%} wrong labels, N = {int(n):,}"
                           for r, n in zip(noise, df["budget"])])


def curation_reading(root: str | os.PathLike | None = None) -> dict:
    """``page_reading`` for curation, whose clean curve is the size study's: matching factors
    only between trained runs. A (noise, budget) cell of either study that did not train is left
    out of the noisy or clean curve and named (``status``), so the factor is read where both
    curves learned their classes."""
    from pretrain_diversity.studies.pretraining_data.claims import (
        clean_and_noisy, curation_table_claim,
    )

    for study in ("curation", "size"):  # the page's own study first, then its clean curve
        if not is_complete(study, root):
            return {"complete": False, "glue": pending(study, root)}
    noisy = noise_cell(load_readings("curation", root))
    clean = noise_cell(load_readings("size", root))
    clean = clean[clean["budget"].isin(set(noisy["budget"]))]
    status = pd.concat([training_status(clean, "cell"), training_status(noisy, "cell")],
                       ignore_index=True)
    noisy_rows = readings(noisy)
    rows = {p: clean_and_noisy(decided_by_trained(c, status, "cell"),
                               decided_by_trained(noisy_rows[p], status, "cell"))
            for p, c in readings(clean).items() if p in noisy_rows}
    table = claim_by_protocol(rows, curation_table_claim)
    return _complete_reading("curation", noisy, rows, status, table, "cell")


# ------------------------------------------------------------------------- the chapter
FINDINGS = {  # finding -> (the question, in the words of its page's answer box; its reading)
    "sources": ("Does the pre-training source matter less with more labelled images?",
                lambda root: page_reading("sources", sources_claim_of, "variant", root)),
    "size": ("Does more pre-training data help most at few shots?",
             lambda root: page_reading("size", size_claim_of, "budget", root)),
    "curation": ("Do noisy labels need more images to match clean ones?", curation_reading),
    "methods": ("Does SimCLR beat CLIP with web-like captions?",
                lambda root: page_reading("methods", methods_claim_of, "variant", root)),
}


def chapter_table(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every finding's verdict at a glance: trained (the headline), at 20 epochs of the same
    runs, and at fixed compute where a study has several budgets; what the trained design could
    tell. A finding whose trained study is still running says how far it is."""
    from pretrain_diversity.studies.findings import plain

    rows = []
    for finding, (question, read) in FINDINGS.items():
        r = read(root)
        g = r["glue"]
        row = {"finding": finding, "question": question,
               "trained to the plateau": (f"{g['trained_verdict']} ({g['trained_ours']})"
                                          if r["complete"] else g["trained_verdict"])}
        if r["complete"]:
            by = r["table"].set_index("protocol")
            for protocol, column in ((R.FIXED_EPOCHS, "at 20 epochs"),
                                     (R.FIXED_COMPUTE, "at fixed compute")):
                row[column] = plain(by.loc[protocol, "verdict"]) if protocol in by.index else "—"
        else:
            row["at 20 epochs"] = row["at fixed compute"] = "—"
        row["what the design could tell"] = g["trained_power"]
        rows.append(row)
    return pd.DataFrame(rows)
