"""The papers' numbers as data: a few values against the transcription, shots aligned with the
series, every number labelled as theirs (test-selected, one seed)."""

from __future__ import annotations

import pytest

from pretrain_diversity.analysis import reference_numbers as P


def test_source_spread_values_and_shots():
    c = P.SOURCE_SPREAD["source_spread_cifar100"].by_shots()
    assert c == {1: 12.6, 5: 10.7, 10: 9.8, 100: 6.0, 200: 3.8, P.ALL: 2.1}
    m = P.SOURCE_SPREAD["source_spread_six_task_mean"].by_shots()
    assert m == {1: 3.7, 5: 7.7, 10: 8.8, P.ALL: 3.5}
    assert max(m, key=m.get) == 10  # it peaks at a few shots
    assert all(s.units == P.POINTS for s in P.SOURCE_SPREAD.values())


def test_size_series_align_on_shots_and_grow_with_size():
    series = [P.LAION_SIZE[n] for n in sorted(P.LAION_SIZE, key=P.LAION_SIZES.get)]
    assert all(s.shots == P.SERIES_SHOTS == (1, 5, 10, 20, 0) for s in series)
    assert P.LAION_SIZE["laion_2.7m"].by_shots()[20] == 54.5
    assert P.LAION_SIZE["laion_2b"].by_shots()[P.ALL] == 90.5 and "ViT" in series[-1].model
    for k in (1, 5, 10, 20):  # larger sets transfer better at every few-shot k
        vals = [s.by_shots()[k] for s in series]
        assert vals == sorted(vals)
    assert P.NO_PRETRAINING.by_shots() == {P.ALL: 72.8}


def test_curation_and_method_numbers():
    sup = P.SUPERVISED_VS_CLIP["supervised_imagenet_cifar100"].by_shots()
    assert sup[1] == 2.6 and sup[P.ALL] == 84.9
    assert P.SUPERVISED_VS_CLIP["clip_laion15m_pets"].by_shots()[5] == 29.3
    clean = P.CAPTIONS["clip_imagenet_classname_captions"].by_shots()
    web = P.CAPTIONS["clip_imagenet_web_captions"].by_shots()
    assert clean[10] == 50.6 and web[10] == 32.0 and all(clean[k] > web[k] for k in clean)
    assert (P.SIMCLR_VS_CLIP["simclr_dtd_1shot"].low, P.SIMCLR_VS_CLIP["simclr_dtd_1shot"].high) == (62, 67)
    assert "DomainNet Real" in P.SIMCLR_BEHIND_ALL_DATA
    assert (P.MATCH_FACTOR.low, P.MATCH_FACTOR.high) == (15, 2000)
    assert P.APPLICATION_GAIN.low == 2.0 and "Zhang" in P.APPLICATION_GAIN.source


def test_every_number_says_whose_protocol_it_is():
    t = P.table()
    assert set(t.columns) == {"name", "quantity", "task", "model", "k", "value", "units", "note"}
    assert (t.note == P.THEIRS).all() and len(t) == sum(len(s.shots) for s in P.all_series().values())
    assert all("2302.13602" in s.source for s in P.all_series().values())
    with pytest.raises(ValueError, match="shots"):
        P.Series("x", "q", "t", "m", (1, 5), (1.0,))
