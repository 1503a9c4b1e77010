"""Each results page's answer in plain words, for its answer box and the intro's findings table.

A page computes its verdicts as before and passes them here; the functions return plain strings
(``{key: text}``) that the page glues with ``myst_nb.glue``. The intro pastes them from the pages
with ``{glue:text}`page.md::key:s``` (myst-nb's cross-document glue), so nothing is computed twice
and the intro executes no code.

Plain words: the shared rule's labels (``analysis.verdict_rule``) are mapped to what a newcomer
reads ("cannot tell" instead of "inconclusive"), and every "cannot tell" says why in one sentence.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from pretrain_diversity.analysis.power import detection

from pretrain_diversity.analysis import verdict_rule as VR

# The shared rule's labels in plain words.
PLAIN = {
    VR.INVARIANT: "yes",
    VR.UP: "no, it grows with N",
    VR.DOWN: "no, it shrinks with N",
    VR.SMALL: "nearly: it moves, by less than the margin",
    VR.INCONCLUSIVE: "cannot tell",
    VR.REPRODUCED: "yes",
    VR.PARTLY: "partly",
    VR.CONTRADICTED: "no: some cells show the opposite",
    VR.NOT_REPRODUCED: "no",
}
# Why a slope reads "cannot tell" by the rule itself (the interval straddles 0 and the margin).
WHY_WIDE = "the 95% interval holds both 0 and slopes beyond ±{m:g}"
WHY_BROKEN = "a robustness check ({checks}) reads it differently"


# What each label of the shared rule means, for the glossary page (``vocabulary``); {m} is the
# margin and {level} the interval's level, filled in from ``analysis.verdict_rule``.
MEANING = {
    VR.INVARIANT: "the slope's {level} interval lies inside ±{m:g}: the best ratio does not move "
                  "with N by more than the margin",
    VR.UP: "the interval excludes 0 and the slope lies above +{m:g}: the best ratio grows with N",
    VR.DOWN: "the interval excludes 0 and the slope lies below −{m:g}: the best ratio shrinks "
             "with N",
    VR.SMALL: "the interval excludes 0, but the slope lies within ±{m:g}",
    VR.INCONCLUSIVE: "the data allow both answers (an interval holds 0 and effects beyond the "
                     "margin), or a check of the robustness panel reads it differently; the page "
                     "says which, in one sentence",
    VR.REPRODUCED: "every cell shows the claimed effect (its {level} interval excludes 0 on the "
                   "claimed side)",
    VR.PARTLY: "some cells show the claimed effect, none the opposite",
    VR.CONTRADICTED: "at least one cell shows the opposite effect, whatever the others show",
    VR.NOT_REPRODUCED: "every cell's interval lies inside the margin: no effect worth the name",
}


def vocabulary() -> pd.DataFrame:
    """The verdict labels of the shared rule (``analysis.verdict_rule``), as the pages say them
    (``PLAIN``), with what each means: the glossary's table, so that it cannot drift from the
    words the findings table and the answer boxes use."""
    rows = []
    for kind, labels in (("slope of the best ratio on N", VR.SLOPE_LABELS),
                         ("claim read over several cells", VR.CLAIM_LABELS)):
        for label in labels:
            rows.append({"reads": kind, "said as": plain(label), "the rule's label": label,
                         "means": MEANING[label].format(m=VR.MARGIN, level=f"{VR.LEVEL:.0%}")})
    return pd.DataFrame(rows)


def plain(label: str) -> str:
    """``label`` of the shared rule in plain words (unknown labels are returned as they are)."""
    return PLAIN.get(label, label)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _first_check(broken: str) -> str:
    """The first check of a ``broken`` list (``"without seed 2, estimator argmin"``)."""
    return broken.split(", ")[0] if broken and broken != "-" else ""


def slope_findings(verdicts: pd.DataFrame, *, margin: float = VR.MARGIN,
                   power: dict | None = None) -> dict[str, str]:
    """Per-task slope verdicts (``slope_verdicts.robust_verdicts`` rows: task, slope, verdict,
    rule, broken) read together: ``verdict`` (plain words by task, e.g. "no for glyphs-heldout
    (it grows with N); cannot tell for digits and shapes"), ``ours`` (each task's slope) and
    ``why`` (one sentence for the "cannot tell" tasks, empty if there are none). With ``power``
    ({task: ``analysis.power`` table of this design}) the sentence adds what the design could
    have told: how often it finds a drift of ±1, the largest slope simulated."""
    groups: dict[str, list[str]] = defaultdict(list)
    whys: dict[str, list[str]] = defaultdict(list)  # reason: tasks
    for r in verdicts.sort_values("task").itertuples():
        groups[r.verdict].append(r.task)
        if r.verdict == VR.INCONCLUSIVE:
            check = _first_check(getattr(r, "broken", ""))
            whys[WHY_BROKEN.format(checks=check) if check and r.rule != VR.INCONCLUSIVE
                 else WHY_WIDE.format(m=margin)].append(r.task)
    order = [VR.INVARIANT, VR.SMALL, VR.UP, VR.DOWN, VR.INCONCLUSIVE]
    parts = []
    for label in order + sorted(set(groups) - set(order)):
        if label in groups:
            words = plain(label)
            head, _, tail = words.partition(", ")
            parts.append(f"{head} for {_join(groups[label])}" + (f" ({tail})" if tail else ""))
    ours = "; ".join(f"{r.task} {r.slope:+.2f}" for r in verdicts.sort_values("task").itertuples())
    why = "; ".join(f"{_join(tasks)}: {reason}" for reason, tasks in whys.items())
    could = [(t, detection(power[t], 1.0)) for t in groups.get(VR.INCONCLUSIVE, [])
             if power and t in power]
    if could:
        why += ("; on this design a true drift of ±1 is found in " + _join(
            [f"{100 * p:.0f}% of simulated tables ({t})" for t, p in could]))
    return {"verdict": "; ".join(parts), "ours": ours, "why": why}


def interior_findings(edges: pd.DataFrame) -> dict[str, str]:
    """``analysis.interior.edge_tests`` read together: how many task x budget cells have both
    ends of the K grid measurably worse than the selected K."""
    from pretrain_diversity.analysis.interior import INTERIOR

    n, m = int((edges["shape"] == INTERIOR).sum()), len(edges)
    rest = edges[edges["shape"] != INTERIOR]
    if n == m:
        verdict, why = "yes", ""
    elif n == 0:
        verdict = "no"
        why = "no cell has both ends of the grid measurably worse"
    else:
        verdict = "yes, mostly"
        cells = _join([f"{r.task} at N = {r.budget:,}" for r in rest.itertuples()])
        shapes = _join(sorted(set(rest["shape"])))
        why = f"{cells}: {shapes} (an end of the grid is not measurably worse)"
    return {"verdict": verdict, "ours": f"{n} of {m} cells", "why": why}


def claim_findings(claim: VR.ClaimVerdict, robust=None) -> dict[str, str]:
    """A multi-cell claim (``ClaimVerdict``) after its robustness panel (``Robustness``, whose
    label is 'inconclusive' unless every check agrees): plain verdict, cells passing, why."""
    status = claim.cells["status"]
    n, m, bad = int((status == VR.PASSES).sum()), len(status), int((status == VR.CONTRADICTS).sum())
    label = robust.label if robust is not None else claim.label
    why = ""
    if label == VR.INCONCLUSIVE:
        broken = [] if robust is None else list(robust.panel.loc[~robust.panel.agrees, "check"])
        why = (WHY_BROKEN.format(checks=broken[0]) if broken and claim.label != VR.INCONCLUSIVE
               else "too few cells are decided either way")
    elif label == VR.CONTRADICTED:
        why = contradicting_cells(claim)
    ours = f"{n} of {m} cells agree" + (f", {bad} contradict" if bad else "")
    return {"verdict": plain(label), "ours": ours, "why": why}


def contradicting_cells(claim: VR.ClaimVerdict, most: int = 3) -> str:
    """The cells that make a claim 'contradicted', named with their effects: one such cell
    decides the verdict whatever the others say, so the reader must see which it is and how many
    cells say the reverse."""
    t = claim.cells
    keys = [c for c in t.columns if c not in ("effect", "lo", "hi", "direction", "status")]
    bad = t[t["status"] == VR.CONTRADICTS]
    named = [f"{' / '.join(str(v) for v in r[keys])}: {r['effect']:+.1f} (95% interval "
             f"{r['lo']:+.1f} to {r['hi']:+.1f})" for _, r in bad.head(most).iterrows()]
    if len(bad) > most:
        named.append(f"{len(bad) - most} more")
    return (f"{len(bad)} {'cell shows' if len(bad) == 1 else 'cells show'} the opposite, "
            f"which the rule lets decide: {'; '.join(named)}")


def glued(prefix: str, found: dict[str, str]) -> dict[str, str]:
    """``{prefix_verdict: ..., prefix_ours: ..., prefix_why: ...}``: the keys a page glues.
    An empty ``why`` becomes "—", so a pasted cell is never blank."""
    return {f"{prefix}_{k}": (v if v else "—") for k, v in found.items()}


def condition_findings(cv: pd.DataFrame, kc: pd.DataFrame | None = None,
                       skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Slope verdicts over many conditions (``invariance.robust.condition_verdicts`` rows:
    condition, task, verdict, ...; the conditions in ``skip`` left out), read together: does any
    setting make the ratio invariant? ``ours`` counts the condition x task readings; ``drifts``
    lists the tasks whose ratio drifts in some condition; ``knobs`` counts the knob effects
    (``knob_contrast_verdicts``) that survive as a measurable change of slope."""
    cv = cv[~cv["condition"].isin(skip)]
    m = len(cv)
    n_inv = int((cv.verdict == VR.INVARIANT).sum())
    drift = cv[cv.verdict.isin([VR.UP, VR.DOWN])]
    n_ct = int((cv.verdict == VR.INCONCLUSIVE).sum())
    if n_inv == m:
        verdict = "yes"
    elif n_inv == 0 and len(drift):
        verdict = "no: no setting reads invariant"
    elif n_inv == 0:
        verdict = "cannot tell"
    else:
        verdict = f"in some settings ({n_inv} of {m})"
    why = (f"{n_ct} of {m} readings are 'cannot tell': the interval holds both 0 and slopes "
           f"beyond ±{VR.MARGIN:g}, or a robustness check disagrees") if n_ct else ""
    ours = f"{n_inv} of {m} invariant, {len(drift)} drift, {n_ct} cannot tell"
    out = {"verdict": verdict, "ours": ours, "why": why}
    tasks = drift.groupby("task").condition.nunique()
    n_cond = cv.condition.nunique()
    out["drifts"] = _join([f"{t} ({PLAIN[drift[drift.task == t].verdict.iloc[0]].split(', ')[1]}"
                           f" in {k} of {n_cond} conditions)" for t, k in tasks.items()]) \
        if len(tasks) else "no task"
    if kc is not None:
        moved = kc[kc.verdict.isin([VR.UP, VR.DOWN])]
        out["knobs"] = (f"{len(moved)} of {len(kc)} knob × task changes of slope are measurable"
                        + (": " + _join([f"{r.knob} on {r.task}" for r in moved.itertuples()])
                           if len(moved) else ""))
    return out


def gain_findings(label: str, gain, oracle_gain, k_rec: int, k_std: int) -> dict[str, str]:
    """The application's verdict (``application.verdict`` label) with the paired gain of the
    recommended K over the standard one, in points of test error (``gain``/``oracle_gain``:
    objects with ``mean``, ``lo``, ``hi``, ``n``, as ``application.stats.paired`` returns)."""
    ours = f"K* = {k_rec:,} gains {gain.mean:+.2f} points over K = {k_std:,}"
    if gain.n > 1 and np.isfinite(gain.lo):
        ours += f" [{gain.lo:+.2f}, {gain.hi:+.2f}]"
    why = []
    if label != VR.REPRODUCED:
        if not (gain.n > 1 and gain.lo > 0):
            why.append("the 95% interval of the gain includes 0")
        if oracle_gain.mean > 0 and gain.mean < 0.5 * oracle_gain.mean:
            why.append(f"it captures under half of a full grid's gain ({oracle_gain.mean:+.2f})")
    return {"verdict": plain(label), "ours": ours, "why": "; ".join(why)}
