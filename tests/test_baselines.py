"""The no-pre-training baselines read from their run records."""

import json

import pytest

from pretrain_diversity.studies.baselines import baseline_of, baseline_summary, load_baselines


def write_record(folder, rid, seed, probe, pixels):
    rec = {"run_id": rid, "config": {"seed": seed, "image_size": 16, "arch": "convnet", "width": 8},
           "metrics": {"probe": {t: {"test_error": e, "val_error": e, "C": 1.0} for t, e in probe.items()},
                       "probe_pixels": {t: {"test_error": e, "val_error": e, "C": 1.0}
                                        for t, e in pixels.items()}}}
    (folder / f"{rid}.json").write_text(json.dumps(rec))


def test_baselines_come_from_the_records(tmp_path, monkeypatch):
    import pretrain_diversity.studies.baselines as B

    folder = tmp_path / B.RECORDS
    folder.mkdir(parents=True)
    monkeypatch.setattr(B, "load_records", lambda d: [json.loads(p.read_text())
                                                      for p in sorted(d.glob("*.json"))])
    write_record(folder, "a", 0, {"digits": 0.5, "shapes": 0.7}, {"digits": 0.1, "shapes": 0.6})
    write_record(folder, "b", 1, {"digits": 0.3, "shapes": 0.5}, {"digits": 0.1, "shapes": 0.6})
    df = load_baselines(tmp_path)
    assert len(df) == 8 and set(df.kind) == {"random network", "raw pixels"}
    s = baseline_summary(df)
    assert baseline_of(s, "digits", "random network") == pytest.approx(0.4)
    assert baseline_of(s, "digits", "raw pixels") == pytest.approx(0.1)
    assert s[(s.task == "shapes") & (s.kind == "raw pixels")]["sd"].item() == 0.0
    with pytest.raises(KeyError, match="no 'raw pixels' baseline for task 'mnist'"):
        baseline_of(s, "mnist", "raw pixels")


def test_missing_baselines_say_how_to_make_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="studies/baselines.toml"):
        load_baselines(tmp_path)


def test_the_committed_baselines_cover_every_task():
    s = baseline_summary(load_baselines())
    assert {"glyphs-heldout", "digits", "shapes", "fashion-mnist", "mnist"} <= set(s.task)
    assert (s["mean"] > 0).all() and (s["mean"] < 1).all()
