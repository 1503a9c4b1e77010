"""Each finding as a claim over cells, read by the one rule (``verdict_rule.combine_cells``), with
its noise null and its robustness panel.

The first verdicts of this chapter read "partly reproduced" whenever any cell passed, even when
another cell significantly said the opposite, and read the sources' role from the best-minus-worst
spread, which grows with seed noise alone. Here:

- sources: the claim is that the source's sd, net of seed noise (``spread_null.source_role_change``),
  is smaller with all downstream images than at 1 shot; the spread is kept beside its permutation
  null (``spread_null.spread_null``) so the reader sees how much of it noise explains;
- size: the gain from more pre-training data is larger at 1 shot than with all images;
- curation: noisy data needs more images (log2 of the matching factor above 0);
- methods: one method minus another, in every task x protocol x k cell.

``claim_robustness`` re-reads a claim with the hyper-parameters chosen on test instead of
validation, and with each seed left out (``robustness.robustness_panel``, the Zhang chapters'
panel, without its K-grid and estimator checks, which have no meaning here).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from pretrain_diversity.analysis import spread_null as SN
from pretrain_diversity.analysis.robustness import robustness_panel
from pretrain_diversity.analysis.verdict_rule import ClaimVerdict, combine_cells
from pretrain_diversity.studies.pretraining_data.load import FULL, PROTOCOL_NAMES, TASK_NAMES, k_label
from pretrain_diversity.studies.pretraining_data.stats import (
    gain_contrast, matching_factors, method_differences,
)

VAL, TEST = "accuracy", "accuracy_testselected"
N_BOOT = 2000


def _names(t: pd.DataFrame) -> pd.DataFrame:
    """Cells named as the pages name them (task and protocol in words, k as '1-shot')."""
    out = t.copy()
    out["task"] = out.task.map(lambda x: TASK_NAMES.get(x, x).split(" (")[0])
    out["protocol"] = out.protocol.map(PROTOCOL_NAMES)
    if "k" in out:
        out["k"] = out.k.map(lambda k: k_label(int(k)))
    return out


def sources_claim(df: pd.DataFrame, *, n_boot: int = N_BOOT, seed: int = 0,
                  paired: bool = False) -> ClaimVerdict:
    """'The source matters less with all downstream images than at 1 shot', net of seed noise:
    per task and protocol, the source sd at the smallest k minus with all images (positive
    predicted), with its interval over resampled seeds.

    ``paired`` reads the study as the randomized-block design it is (seed s of every source
    draws the same k-shot subsets, ``evaluation.transfer.fewshot_indices``), which takes the
    subset's shared part out of the noise; the default treats seeds as independent, the
    cautious read, and is the page's verdict."""
    change = SN.source_role_change(df, n_boot=n_boot, seed=seed, paired=paired)
    return combine_cells(_names(change), keys=("task", "protocol"), effect="change",
                         lo="change_lo", hi="change_hi", direction=1)


def size_claim(df: pd.DataFrame, *, seed: int = 0) -> ClaimVerdict:
    """'More pre-training data helps most at few shots': the gain (smallest to largest N) at the
    smallest k minus with all images, per task and protocol (positive predicted)."""
    c = gain_contrast(df, seed=seed)
    return combine_cells(_names(c), keys=("task", "protocol"), effect="difference", direction=1)


def curation_cells(factors: pd.DataFrame) -> pd.DataFrame:
    """The matching factors at the smallest clean size as log2 effects: above 0 means noisy data
    needs more images. A factor censored above the grid ('>') is a lower bound: its interval is
    taken as [log2 bound, log2 bound] (it passes whenever the bound exceeds 1x)."""
    f = factors[factors.n_clean == factors.n_clean.min()].copy()
    f["effect"] = np.log2(f.factor)
    censored = f.bound == ">"
    f["lo"] = np.where(censored, f.effect, np.log2(f.factor_lo))
    f["hi"] = np.where(censored, f.effect, np.log2(f.factor_hi))
    f["noise"] = f.label_noise.map(lambda r: f"{r:.0%} wrong labels")
    return f


def curation_claim(clean: pd.DataFrame, noisy: pd.DataFrame, *, seed: int = 0) -> ClaimVerdict:
    """'Noisy data needs many times more images to match clean data', per task, noise rate and k
    at the smallest clean size."""
    factors = matching_factors(clean, noisy, seed=seed)
    if factors.empty:
        raise ValueError("no matching factor can be read: no clean size lies below the largest "
                         "noisy size in any cell")
    cells = curation_cells(factors)
    return combine_cells(_names(cells), keys=("task", "noise", "k"), direction=1)


def clean_and_noisy(clean: pd.DataFrame, noisy: pd.DataFrame) -> pd.DataFrame:
    """One table of the clean curve (at the noisy grid's sizes, ``label_noise`` 0) and the noisy
    runs, so that one claim function (``curation_table_claim``) and the robustness panel, which
    leaves seeds out of one table, can read both."""
    clean = clean[clean.budget.isin(set(noisy.budget))]
    return pd.concat([clean.assign(label_noise=0.0), noisy], ignore_index=True)


def curation_table_claim(table: pd.DataFrame) -> ClaimVerdict:
    """``curation_claim`` of a ``clean_and_noisy`` table."""
    noise = table.label_noise.fillna(0)
    return curation_claim(table[noise == 0], table[noise > 0])


def methods_claim(df: pd.DataFrame, a: str, b: str, *, seed: int = 0) -> ClaimVerdict:
    """'Method a beats method b': a minus b in every task x protocol x k cell."""
    d = method_differences(df, a, b, seed=seed)
    if d.empty:
        raise ValueError(f"no cell has both {a!r} and {b!r}")
    return combine_cells(_names(d), keys=("task", "protocol", "k"), effect="difference",
                         direction=1)


def worst_cell(v: ClaimVerdict) -> tuple[float, float, float]:
    """(effect, lo, hi) of the cell nearest to contradicting the claim: the one whose interval's
    end on the predicted side is lowest. What the robustness panel prints for a claim."""
    t = v.cells
    near = np.minimum(t.direction * t.lo, t.direction * t.hi)
    r = t.iloc[int(np.argmin(near.to_numpy()))] if len(t) else None
    return (np.nan, np.nan, np.nan) if r is None else (r.effect, r.lo, r.hi)


def claim_robustness(table: pd.DataFrame, claim: Callable[[pd.DataFrame], ClaimVerdict]):
    """The claim as reported (validation-selected accuracy), with test-selected accuracy, and
    with each seed left out: ``robustness.Robustness`` (label 'inconclusive' unless all agree)."""

    def verdict(t: pd.DataFrame, metric: str, estimator: str) -> tuple:
        v = claim(t.assign(accuracy=t[metric]))
        return (v.label, *worst_cell(v))

    alt = TEST if TEST in table.columns else None
    return robustness_panel(table, verdict, metric=VAL, alt_metric=alt, estimators=(),
                            thin_offsets=())


def spread_null_table(df: pd.DataFrame, *, n_perm: int = SN.N_PERM, seed: int = 0) -> pd.DataFrame:
    """Per task, protocol and k: the observed best-minus-worst spread, its mean and 95% quantile
    when the source labels are shuffled among the runs (pure noise), the excess over that mean,
    the permutation p-value, and the source sd net of noise with its interval."""
    null = SN.spread_null(df, n_perm=n_perm, seed=seed)
    comp = SN.source_components(df, n_boot=N_BOOT, seed=seed)
    return null.merge(comp[["task", "protocol", "k", "sd_source", "sd_source_lo", "sd_source_hi",
                            "var_seed", "p_F"]], on=["task", "protocol", "k"])


def spread_null_display(t: pd.DataFrame) -> pd.DataFrame:
    """The page's table of ``spread_null_table``."""
    t = t.assign(_o=t.k.replace(FULL, 10**9)).sort_values(["task", "protocol", "_o"])
    return pd.DataFrame({
        "task": t.task.map(lambda x: TASK_NAMES.get(x, x).split(" (")[0]),
        "protocol": t.protocol.map(PROTOCOL_NAMES),
        "k": t.k.map(lambda k: k_label(int(k))),
        "spread": t.spread.map("{:.1f}".format),
        "noise alone: mean [95% quantile]": [f"{m:.1f} [{q:.1f}]" for m, q in zip(t.null_mean, t.null_hi)],
        "spread net of noise": t.excess.map("{:+.1f}".format),
        "p (shuffled sources)": t.p_perm.map("{:.3f}".format),
        "source sd net of seeds [95%]": [f"{s:.1f} [{lo:.1f}, {hi:.1f}]" for s, lo, hi in
                                         zip(t.sd_source, t.sd_source_lo, t.sd_source_hi)],
        "seed sd": np.sqrt(t.var_seed).map("{:.1f}".format),
    })


def verdict_markdown(what: str, v: ClaimVerdict, robust=None) -> str:
    """Markdown: the verdict after the robustness panel (the claim's label only if every check
    agrees, else 'inconclusive'), the claim's reason as reported, and what the panel found."""
    final = robust.label if robust is not None else v.label
    text = f"**Verdict on '{what}': {final}.**"
    if final != v.label:
        text += f" As reported it reads '{v.label}', but a check of the panel breaks it (below)."
    text += f" {v.reason[0].upper() + v.reason[1:]}."
    if robust is not None:
        text += (f"\n\n*Robustness* (test instead of validation selection, each seed left out): "
                 f"{robust.reason}.")
    return text


def panel_table(robust) -> pd.DataFrame:
    """The robustness panel as the page shows it: check, label, and the weakest cell."""
    p = robust.panel
    return pd.DataFrame({
        "check": p.check.str.replace("optima located on accuracy_testselected",
                                     "hyper-parameters chosen on test", regex=False),
        "verdict": p.label,
        "weakest cell [95%]": [f"{e:+.1f} [{lo:+.1f}, {hi:+.1f}]" for e, lo, hi in
                               zip(p.estimate, p.lo, p.hi)],
        "agrees": p.agrees.map({True: "yes", False: "no"}),
    })


def findings(tables: dict) -> dict:
    """Every finding's claim on the committed tables: name -> (statement, table, claim function).
    ``tables`` holds the four studies' tables by name (``load``)."""
    both = clean_and_noisy(tables["size"], tables["curation"])
    return {
        "sources": ("the source matters less with all images than at 1 shot (net of seed noise)",
                    tables["sources"], sources_claim),
        "size": ("more pre-training data helps most at few shots", tables["size"], size_claim),
        "curation": ("noisy labels need more images to match clean ones", both,
                     curation_table_claim),
        "methods": ("image-image (SimCLR) beats image-text (CLIP) contrastive pre-training",
                    tables["methods"], lambda t: methods_claim(t, "simclr", "clip")),
    }


def old_label(name: str, table: pd.DataFrame) -> str:
    """The chapter's first verdict of a finding (any passing cell made it 'partly')."""
    from pretrain_diversity.studies.pretraining_data.stats import spread_shrinkage
    from pretrain_diversity.studies.pretraining_data.verdicts import verdict_label

    if name == "sources":
        s = spread_shrinkage(table)
        return verdict_label(s.shrink_lo.tolist(), s.shrink.tolist())
    if name == "size":
        c = gain_contrast(table)
        return verdict_label(c.lo.tolist(), c.difference.tolist())
    if name == "curation":
        noise = table.label_noise.fillna(0)
        f = matching_factors(table[noise == 0], table[noise > 0])
        f = f[f.n_clean == f.n_clean.min()]
        share = ((f.bound == ">") | (f.factor_lo > 1)).mean()
        return "reproduced" if share == 1 else "partly reproduced" if share > 0 else "not reproduced"
    d = method_differences(table, "simclr", "clip")
    return verdict_label(d.lo.tolist(), d.difference.tolist())


def verdict_table(tables: dict) -> pd.DataFrame:
    """Old beside new for every finding: the first rule's label, the new rule's, whether it
    survives the robustness panel, and the reason in numbers."""
    rows = []
    for name, (what, table, claim) in findings(tables).items():
        v = claim(table)
        robust = claim_robustness(table, claim)
        rows.append({"finding": f"{name}: {what}", "old verdict": old_label(name, table),
                     "as reported": v.label, "new verdict (after the panel)": robust.label,
                     "robust": "yes" if robust.label == v.label else f"no ({robust.reason})",
                     "reason": v.reason})
    return pd.DataFrame(rows)
