"""The glossary defines every verdict word the pages say, and a reader can reach it.

The glossary's table is ``findings.vocabulary()``: a label added to the shared rule without a
plain word and a meaning would show there as a KeyError or a raw label, and the intro's "cannot
tell" would be a word no page defines.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pretrain_diversity.analysis import verdict_rule as VR
from pretrain_diversity.studies import findings as FD

ROOT = Path(__file__).resolve().parents[1]


def test_every_rule_label_has_a_plain_word_and_a_meaning():
    v = FD.vocabulary()
    assert sorted(v["the rule's label"]) == sorted(VR.SLOPE_LABELS + VR.CLAIM_LABELS)
    assert (v["said as"] != "").all() and (v["means"].str.len() > 20).all()
    said = dict(zip(v["the rule's label"], v["said as"]))
    assert said[VR.INCONCLUSIVE] == "cannot tell"  # the one word for it, as the intro says
    assert f"±{VR.MARGIN:g}" in " ".join(v["means"])  # the margin is the rule's, not typed


def test_glossary_is_in_the_toc_and_linked_from_the_intro_and_the_invariance_pages():
    toc = (ROOT / "_toc.yml").read_text()
    files = str(yaml.safe_load(toc))
    assert "'glossary'" in files and "'invariance-controls'" in files
    for page in ("intro.md", "invariance.md", "invariance-controls.md"):
        assert "](glossary.md)" in (ROOT / "book" / page).read_text(), page
