"""The web-like caption model for CLIP: its mix of captions, and a tiny CLIP run trained on it."""

from __future__ import annotations

import pytest
import torch

from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.data.captions import (
    WEB_MIX, class_captions, shared_words, web_captions, words,
)  # fmt: skip
from pretrain_diversity.data.glyphs import load_bank
from pretrain_diversity.runs.validation import validate


@pytest.fixture(scope="module")
def names() -> list[str]:
    bank = load_bank()
    return [bank.name(c) for c in range(0, 4000, 80)]  # 50 classes across the scripts


def test_web_captions_follow_the_stated_mix(names):
    labels = torch.arange(1000) % len(names)
    web = web_captions(names, labels, seed=3)
    texts = [web.texts[i] for i in web.image_ids.tolist()]
    for kind, share in WEB_MIX:  # exact counts, not just on average
        assert sum(k == kind for k in web.kinds) == round(share * 1000), kind
    assert web.informative() == pytest.approx(0.30)
    common = shared_words(names)
    assert common and len(common) < len({w for n in names for w in words(n)}) / 2
    for text, kind, c in zip(texts, web.kinds, labels.tolist()):
        own = names[c]
        if kind == "exact":
            assert text == own
        elif kind == "coarse":
            assert text == words(own)[0]
        elif kind == "shared":
            assert set(words(text)) <= common & set(words(own))
        elif kind == "wrong":
            assert text in names and text != own
        else:
            assert text == ""
    # what the mix says about an image's class: only the exact kind names it one to one
    names_own = sum(t == names[c] for t, c in zip(texts, labels.tolist())) / len(texts)
    assert names_own == pytest.approx(0.30)
    assert sum(t == "" for t in texts) >= 0.20 * len(texts)  # empty, plus shared with no word
    assert web.prompts == names


def test_web_captions_are_drawn_under_the_seed(names):
    labels = torch.arange(200) % len(names)
    a, b = web_captions(names, labels, 0), web_captions(names, labels, 0)
    assert a.texts == b.texts and torch.equal(a.image_ids, b.image_ids)
    assert a.kinds != web_captions(names, labels, 1).kinds


def test_the_two_ends_are_kept(names):
    assert class_captions(names, None) == names
    assert set(class_captions(names, "constant")) == {"CHARACTER"}
    assert class_captions(names, "coarse") == [words(n)[0] for n in names]


def test_web_captions_set_a_new_run_id_and_need_clip():
    clip = RunConfig.from_budget(8192, 256, method="clip")
    assert clip.with_(captions="web").run_id() not in {
        clip.run_id(), clip.with_(captions="coarse").run_id()}
    with pytest.raises(ConfigError, match="captions='web' needs method='clip'"):
        validate(RunConfig(captions="web"))
    with pytest.raises(ConfigError, match="captions"):
        validate(clip.with_(captions="alt-text"))


def test_a_tiny_clip_run_trains_on_web_captions(tiny_cfg, tmp_path):
    from pretrain_diversity.data.pool import pretraining_set
    from pretrain_diversity.models.backbones import build_model
    from pretrain_diversity.runs.experiment import captions_of, run_experiment

    torch.set_num_threads(1)
    cfg = tiny_cfg.with_(method="clip", captions="web", epochs=4.0, batch_size=32,
                         probe_tasks=("digits",), lengths=(0.25, 8))
    data = pretraining_set(cfg)
    web = captions_of(cfg, data)
    model = build_model(cfg, 1, captions=web)
    assert torch.equal(model.image_captions, web.image_ids)
    assert len(model.tokens) == len(web.texts) and len(model.prompt_tokens) == cfg.n_classes
    m = run_experiment(cfg, tmp_path, progress=False)
    short, long = (m["metrics"]["lengths"][k]["pretrain"] for k in ("0.25", "8"))
    assert long["final_loss"] < short["final_loss"] - 0.1
    assert long["heldout_accuracy"] > short["heldout_accuracy"] + 0.05
    assert long["heldout_accuracy"] > 1.5 / cfg.n_classes  # the class prompts beat chance
