"""The four studies' tables: where they are, how to remake them, reading them (with each run's
variant name and its accuracy in points), the names the pages give tasks, protocols and k, and
where the numbers came from."""

from __future__ import annotations

import os

import pandas as pd

from pretrain_diversity.paths import repo_root
from pretrain_diversity.sweeps import catalog
from pretrain_diversity.sweeps import provenance as prov


STUDIES = ("sources", "size", "curation", "methods")
# The fair-compute controls (issue 17): size and curation at a fixed number of steps, SimCLR with
# a larger budget, CLIP with captions that say less. Their pages say "not yet run" until they are.
CONTROLS = ("size-fixed-steps", "curation-fixed-steps", "methods-budget", "captions")
# Each finding's runs read at several training lengths (issue 26; ``trained``).
TRAINED_STUDIES = tuple(f"{s}-trained" for s in STUDIES)
SPECS = {s: catalog.study(f"entezari-{s}").spec for s in STUDIES + CONTROLS + TRAINED_STUDIES}
RESULTS = {s: catalog.study(f"entezari-{s}").table for s in STUDIES + CONTROLS + TRAINED_STUDIES}
RUNS_DIR = catalog.study("entezari-sources").runs_dir
FULL = 0  # k = 0 in the tables: the whole train pool
PROTOCOLS = ("probe", "finetune")
PROTOCOL_NAMES = {"probe": "linear probe", "finetune": "fine-tuning"}
TASK_NAMES = {"glyphs-heldout": "held-out glyphs (100-way)", "digits": "digits (10-way, real scans)"}

# What is known of the paper's numbers (from the issue that commissioned this chapter; the paper's
# full text is not available offline here).
PAPER = {
    "spread_1shot": 12.6,  # points between pre-training sources, CIFAR-100, 1 shot
    "spread_full": 2.1,  # ... with the whole downstream training set
    "match_factor": (15, 2000),  # x more web (LAION) data to match supervised ImageNet
}


def command(study: str) -> str:
    """The command (from the repository root) that regenerates one study's table."""
    return prov.sweep_command(SPECS[study], RESULTS[study], RUNS_DIR)


def load(study: str, root: str | os.PathLike | None = None) -> pd.DataFrame:
    """A study's table with ``variant`` (its name in the spec), ``accuracy`` and the k label."""
    from pretrain_diversity.config import RunConfig
    from pretrain_diversity.analysis.tables import load_results
    from pretrain_diversity.sweeps.runner import load_study, variant_of

    root = repo_root(root)
    path = root / RESULTS[study]
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: this page draws only measured results. Regenerate them from the "
            f"repository root with\n    {command(study)}\nand commit results/entezari/{study}/."
        )
    df = load_results(path)
    spec = load_study(root / SPECS[study])
    if spec.variants:
        fields = sorted({f for v in spec.variants.values() for f in v})
        for f in set(fields) - set(df.columns):  # a field no recorded run sets (None in all)
            df[f] = None
        keys = [tuple(None if pd.isna(v) else v for v in row)
                for row in df[fields].itertuples(index=False, name=None)]
        names = {key: variant_of(spec, RunConfig(**dict(zip(fields, key)))) for key in set(keys)}
        df["variant"] = [names[key] for key in keys]
    return with_accuracy(df)


def recorded(study: str, root: str | os.PathLike | None = None) -> dict:
    """How far a study is: its runs (the spec expanded), how many have a record under any
    ``results/entezari/*/records/`` (runs shared between studies are trained once), and the
    command that runs the rest. A page shows this in place of a table that does not exist yet."""
    from pretrain_diversity.sweeps.runner import load_study

    root = repo_root(root)
    ids = {cfg.run_id() for cfg in load_study(root / SPECS[study]).expand()}
    have = {p.stem for p in (root / "results" / "entezari").glob("*/records/*.json")}
    return {"study": study, "runs": len(ids), "recorded": len(ids & have),
            "table": (root / RESULTS[study]).exists(), "command": command(study)}


def not_yet_run(study: str, root: str | os.PathLike | None = None) -> str:
    """Markdown: 'not yet run: k of n runs recorded', with the command that runs the rest."""
    r = recorded(study, root)
    return (f"**Not yet run** (`{SPECS[study].as_posix()}`): {r['recorded']} of {r['runs']} runs "
            f"recorded. From the repository root:\n\n```\n{r['command']}\n```")


def with_accuracy(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["accuracy"] = 100 * (1 - df["test_error"])
    if "test_error_testselected" in df:
        df["accuracy_testselected"] = 100 * (1 - df["test_error_testselected"])
    return df


def k_label(k: int) -> str:
    return "all" if k == FULL else f"{k}-shot"


def k_order(ks) -> list[int]:
    """k values with the whole pool (0) last."""
    return sorted(set(int(k) for k in ks), key=lambda k: (k == FULL, k))


def provenance(study: str, df: pd.DataFrame, root: str | os.PathLike | None = None) -> str:
    """Markdown: the command that regenerates the table, what it holds, and its measured time."""
    from pretrain_diversity.sweeps.runner import load_study

    root = repo_root(root)
    spec = load_study(root / SPECS[study])
    runs = df.drop_duplicates("run_id")
    details = [
        f"- study spec: `{SPECS[study].as_posix()}` ({spec.description})",
        f"- {len(runs)} runs, {runs.seed.nunique()} seeds; downstream tasks: "
        f"{', '.join(sorted(df.task.unique()))}; k = "
        f"{', '.join(k_label(k) for k in k_order(df.k))}; protocols: "
        f"{', '.join(PROTOCOL_NAMES[p] for p in PROTOCOLS if p in set(df.protocol))}",
    ]
    return prov.provenance_block(prov.read_record(RESULTS[study], root), SPECS[study],
                                 RESULTS[study], RUNS_DIR, details, note=True)


def wall_times(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The measured wall time of each study's sweep (its ``sweep.json``), with its run counts;
    a trained study is listed once its table exists (while it runs, its page counts its runs)."""
    root = repo_root(root)
    listed = {s: p for s, p in RESULTS.items()
              if s not in TRAINED_STUDIES or (root / p).exists()}
    return prov.wall_times(listed, root)
