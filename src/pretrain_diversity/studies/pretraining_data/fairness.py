"""Fair comparisons and the paper's numbers beside ours.

- ``select_on_validation``: of several budgets for one method, the one with the best mean
  validation accuracy (never the test accuracy), so "SimCLR was under-trained" can be ruled out
  without choosing the budget on the numbers being compared;
- ``training_accuracy``: each method's final pre-training accuracy (supervised: the labels;
  SimCLR: picking the other view of an image; CLIP: picking an image's caption), the record's
  ``pretrain.final_accuracy``;
- ``testselection_shift``: how a difference between two methods changes when both are selected on
  test, as the paper's protocol did; compared with the paper's own gaps it says whether that
  protocol could have made them;
- ``reference_table``: the paper's series (``analysis.reference_numbers``) at the shots we use,
  labelled as theirs.
"""

from __future__ import annotations

import pandas as pd

from pretrain_diversity.analysis import reference_numbers as R
from pretrain_diversity.studies.pretraining_data.claims import claim_robustness, methods_claim
from pretrain_diversity.studies.pretraining_data.load import FULL, PROTOCOL_NAMES, TASK_NAMES, k_label
from pretrain_diversity.studies.pretraining_data.stats import method_differences


def select_on_validation(df: pd.DataFrame, candidates) -> tuple[str, pd.DataFrame]:
    """(chosen variant, table of each candidate's mean validation and test accuracy): the chosen
    one has the best validation accuracy averaged over every task, protocol and k."""
    have = [c for c in candidates if c in set(df.variant)]
    if not have:
        raise ValueError(f"none of the candidates {list(candidates)} is in the table")
    t = df[df.variant.isin(have)].assign(val_accuracy=lambda d: 100 * (1 - d.val_error))
    s = (t.groupby("variant")[["val_accuracy", "accuracy"]].mean()
         .reindex(have).reset_index().rename(columns={"accuracy": "test_accuracy"}))
    return str(s.loc[s.val_accuracy.idxmax(), "variant"]), s


def training_accuracy(df: pd.DataFrame, order) -> pd.DataFrame:
    """Per variant: its pre-training objective's final accuracy (mean and range over seeds) and
    its steps. Not comparable across objectives as a score: it says whether each one trained."""
    runs = df.drop_duplicates("run_id")
    rows = []
    for v in order:
        r = runs[runs.variant == v]
        if r.empty:
            continue
        acc = 100 * r.pretrain_final_accuracy
        rows.append({"variant": v, "objective": r.method.fillna("supervised").iloc[0],
                     "training accuracy (%)": f"{acc.mean():.1f} [{acc.min():.1f}, {acc.max():.1f}]",
                     "steps": int(r.pretrain_steps.iloc[0]),
                     "batch": int(r.batch_size.iloc[0]), "seeds": len(r)})
    return pd.DataFrame(rows)


def testselection_shift(df: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Per task, protocol and k: a minus b with validation selection, with test selection, and
    the shift (test minus validation) that the paper's protocol would have added."""
    val = method_differences(df, a, b)
    test = method_differences(df.assign(accuracy=df.accuracy_testselected), a, b)
    out = val.merge(test[["task", "protocol", "k", "difference"]], on=["task", "protocol", "k"],
                    suffixes=("", "_testselected"))
    out["shift"] = out.difference_testselected - out.difference
    return out


def shift_summary(shift: pd.DataFrame, a: str, b: str, paper_gap: float) -> str:
    """Markdown: the largest shift test selection makes to a - b here, against a gap of the paper."""
    worst = shift.loc[shift["shift"].abs().idxmax()]
    return (f"Choosing on test moves {a} minus {b} by {shift['shift'].abs().mean():.2f} points on "
            f"average over our {len(shift)} cells and by at most {worst['shift']:+.2f} "
            f"({TASK_NAMES.get(worst.task, worst.task).split(' (')[0]}, "
            f"{PROTOCOL_NAMES[worst.protocol]}, {k_label(int(worst.k))}); the paper's gap of "
            f"{paper_gap:.0f} points is {paper_gap / max(shift['shift'].abs().max(), 1e-9):.0f} "
            f"times that, so test selection alone cannot have made it, while any of our "
            f"differences below {shift['shift'].abs().max():.1f} points could change sign under it.")


def shift_table(shift: pd.DataFrame) -> pd.DataFrame:
    s = shift.assign(_o=shift.k.replace(FULL, 10**9)).sort_values(["task", "protocol", "_o"])
    return pd.DataFrame({
        "task": s.task.map(lambda x: TASK_NAMES.get(x, x).split(" (")[0]),
        "protocol": s.protocol.map(PROTOCOL_NAMES), "k": s.k.map(lambda k: k_label(int(k))),
        "chosen on validation": s.difference.map("{:+.1f}".format),
        "chosen on test": s.difference_testselected.map("{:+.1f}".format),
        "shift": s["shift"].map("{:+.2f}".format),
    })


def reference_table(series: dict) -> pd.DataFrame:
    """The paper's series as one table, a column per shot count any of them reports (all data
    last), labelled as theirs."""
    shots = sorted({k for s in series.values() for k in s.shots}, key=lambda k: (k == FULL, k))
    rows = []
    for s in series.values():
        by = s.by_shots()
        rows.append({"theirs": s.quantity, "task": s.task, "model": s.model,
                     **{k_label(k): by.get(k, float("nan")) for k in shots}})
    return pd.DataFrame(rows)


def reference_difference(a: R.Series, b: R.Series) -> dict:
    """Their a minus b at each shot count both report."""
    ka, kb = a.by_shots(), b.by_shots()
    return {k: ka[k] - kb[k] for k in ka if k in kb}


def difference_text(a: R.Series, b: R.Series, what: str) -> str:
    d = reference_difference(a, b)
    return (f"Theirs ({theirs_note()}): {what} on {a.task}: " + ", ".join(
        f"{k_label(k)} {v:+.1f}" for k, v in sorted(d.items(), key=lambda kv: (kv[0] == 0, kv[0])))
        + " points.")


def theirs_note() -> str:
    """How their numbers were selected, for 'Theirs (...)' (``reference_numbers.THEIRS``)."""
    return R.THEIRS.split(": ", 1)[-1]


def statements_text(statements) -> str:
    return "; ".join(f"{s.text}: {s.low:g}" + ("" if s.low == s.high else f" to {s.high:g}") + "%"
                     for s in statements)


def simclr_budget(methods: pd.DataFrame, budget: pd.DataFrame, baseline: str = "simclr",
                  against: str = "clip") -> dict:
    """SimCLR's budget chosen on validation among the methods study's ``baseline`` and the
    budget study's variants, compared with ``against``: the chosen name, the candidates'
    validation and test accuracy, their training accuracies, the claim and its panel."""
    both = pd.concat([methods, budget], ignore_index=True)
    chosen, candidates = select_on_validation(both, [baseline, *sorted(set(budget.variant))])

    def claim(t):
        return methods_claim(t, chosen, against)

    return {"chosen": chosen, "candidates": candidates,
            "training": training_accuracy(both, [against, *candidates.variant]),
            "claim": claim(both), "robust": claim_robustness(both, claim)}


def caption_claims(methods: pd.DataFrame, captions: pd.DataFrame, simclr: str = "simclr") -> dict:
    """'SimCLR beats CLIP' against each caption variant, with its robustness panel: the paper's
    claim where its mechanism (captions that say little) predicts it holds."""
    both = pd.concat([methods, captions], ignore_index=True)
    out = {}
    for variant in sorted(set(captions.variant)):
        def claim(t, variant=variant):
            return methods_claim(t, simclr, variant)

        out[variant] = (claim(both), claim_robustness(both, claim))
    return out


def training_by_budget(df: pd.DataFrame) -> pd.DataFrame:
    """Per pre-training size N: the SGD steps and the final training accuracy (mean over seeds),
    which shows how much of "more data" is "more training" at fixed epochs."""
    runs = df.drop_duplicates("run_id")
    g = runs.groupby("budget")
    return pd.DataFrame({"N": g.budget.first().map("{:,}".format),
                         "steps": g.pretrain_steps.first(),
                         "training accuracy (%)": (100 * g.pretrain_final_accuracy.mean()).map("{:.1f}".format),
                         "seeds": g.size()}).reset_index(drop=True)
