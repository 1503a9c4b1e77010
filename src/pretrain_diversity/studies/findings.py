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

import pandas as pd

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
    VR.CONTRADICTED: "no, the opposite holds",
    VR.NOT_REPRODUCED: "no",
}
# Why a slope reads "cannot tell" by the rule itself (the interval straddles 0 and the margin).
WHY_WIDE = "the 95% interval holds both 0 and slopes beyond ±{m:g}"
WHY_BROKEN = "a robustness check ({checks}) reads it differently"


def plain(label: str) -> str:
    """``label`` of the shared rule in plain words (unknown labels are returned as they are)."""
    return PLAIN.get(label, label)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _first_check(broken: str) -> str:
    """The first check of a ``broken`` list (``"without seed 2, estimator argmin"``)."""
    return broken.split(", ")[0] if broken and broken != "-" else ""


def slope_findings(verdicts: pd.DataFrame, *, margin: float = VR.MARGIN) -> dict[str, str]:
    """Per-task slope verdicts (``slope_verdicts.robust_verdicts`` rows: task, slope, verdict,
    rule, broken) read together: ``verdict`` (plain words by task, e.g. "no for glyphs-heldout
    (it grows with N); cannot tell for digits and shapes"), ``ours`` (each task's slope) and
    ``why`` (one sentence for the "cannot tell" tasks, empty if there are none)."""
    groups: dict[str, list[str]] = defaultdict(list)
    whys: list[str] = []
    for r in verdicts.sort_values("task").itertuples():
        groups[r.verdict].append(r.task)
        if r.verdict == VR.INCONCLUSIVE:
            check = _first_check(getattr(r, "broken", ""))
            whys.append((f"{r.task}: " + (WHY_BROKEN.format(checks=check) if check and
                         r.rule != VR.INCONCLUSIVE else WHY_WIDE.format(m=margin))))
    order = [VR.INVARIANT, VR.SMALL, VR.UP, VR.DOWN, VR.INCONCLUSIVE]
    parts = []
    for label in order + sorted(set(groups) - set(order)):
        if label in groups:
            words = plain(label)
            head, _, tail = words.partition(", ")
            parts.append(f"{head} for {_join(groups[label])}" + (f" ({tail})" if tail else ""))
    ours = "; ".join(f"{r.task} {r.slope:+.2f}" for r in verdicts.sort_values("task").itertuples())
    return {"verdict": "; ".join(parts), "ours": ours, "why": "; ".join(whys)}


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
    ours = f"{n} of {m} cells agree" + (f", {bad} contradict" if bad else "")
    return {"verdict": plain(label), "ours": ours, "why": why}


def glued(prefix: str, found: dict[str, str]) -> dict[str, str]:
    """``{prefix_verdict: ..., prefix_ours: ..., prefix_why: ...}``: the keys a page glues.
    An empty ``why`` becomes "—", so a pasted cell is never blank."""
    return {f"{prefix}_{k}": (v if v else "—") for k, v in found.items()}
