"""One registry of study files by name (``sweeps.catalog``): the rule, that it covers every
committed table, and that the CLI and the pages' loaders take their paths from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pretrain_diversity.sweeps import catalog
from pretrain_diversity.sweeps import provenance as prov

ROOT = Path(__file__).resolve().parents[1]


def test_the_naming_rule():
    f = catalog.study("figure1")
    assert (f.spec, f.results_dir, f.table, f.records, f.runs_dir) == (
        Path("studies/figure1.toml"), Path("results/figure1"), Path("results/figure1/runs.csv"),
        Path("results/figure1/records"), "runs/figure1")
    g = catalog.study("invariance-v2-epochs")
    assert g.results_dir == Path("results/invariance/v2-epochs") and g.runs_dir == "runs/invariance"
    assert g.command == prov.sweep_command("studies/invariance-v2-epochs.toml",
                                           "results/invariance/v2-epochs/runs.csv", "runs/invariance")
    assert g.make_command == "make studies STUDY=invariance-v2-epochs"
    for bad in ("", "a/b", "-x", "x-"):
        with pytest.raises(ValueError):
            catalog.study(bad)


def test_every_study_is_named_by_its_spec_and_every_table_by_a_study():
    names = catalog.names(ROOT)
    assert "figure1" in names and "invariance-v2-sampler" in names
    assert all((ROOT / catalog.study(n).spec).is_file() for n in names)
    folders = {catalog.study(n).results_dir for n in names}
    committed = [p.relative_to(ROOT).parent for p in
                 [*ROOT.glob("results/**/runs.csv"), *ROOT.glob("results/**/records/")]]
    assert committed and not [p for p in committed if p not in folders], \
        "a results folder that no studies/*.toml names"


def test_names_keep_the_order_of_the_spec_files(tmp_path):
    (tmp_path / "studies").mkdir()
    for n in ("figure1", "figure1-hygiene", "application"):
        (tmp_path / "studies" / f"{n}.toml").write_text("")
    assert catalog.names(tmp_path) == ["application", "figure1-hygiene", "figure1"]


def test_the_loaders_read_where_the_catalog_says():
    from pretrain_diversity.studies import application as A
    from pretrain_diversity.studies import baselines as B
    from pretrain_diversity.studies import figure1 as F
    from pretrain_diversity.studies.invariance import load as I
    from pretrain_diversity.studies.real_images import load as R
    from pretrain_diversity.studies.figure1 import load as FL

    c = catalog.study
    assert (F.STUDY, F.RESULTS, F.RUNS_DIR, F.COMMAND) == (
        c("figure1").spec, c("figure1").table, c("figure1").runs_dir, c("figure1").command)
    assert (A.STUDY, A.RESULTS, A.COMMAND) == (
        c("application").spec, c("application").table, c("application").command)
    assert B.RECORDS == c("baselines").records
    assert FL.CONTROLS["fixed steps"] == (c("figure1-fixed-steps").spec,
                                          c("figure1-fixed-steps").table)
    assert I.results_path("epochs") == c("invariance-v2-epochs").table
    assert I.command("variety") == c("invariance-v2-variety").command
    assert R.TABLES["fonts"].csv == c("fonts-tradeoff").table
    assert R.TABLES["glyphs"].records == c("glyphs-realtasks").records
