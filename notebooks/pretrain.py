# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Pre-train on K classes x n images, then linear-probe
#
# One run of Zhang et al.'s experiment: draw K classes from the pre-training pool, n images of
# each (budget N = K n), pre-train a network with supervised cross-entropy for a number of steps
# fixed by N, then train linear classifiers on its frozen features for each downstream task
# (regularisation chosen on a validation split, error reported on a test split).
#
# Every parameter below is a field of `pretrain_diversity.config.RunConfig`; override any of them
# with papermill, e.g. `papermill notebooks/pretrain.ipynb out.ipynb -p n_classes 500`.
# The defaults finish in about a minute on 2 CPU cores with the embedded glyph data (no download).
# Real data and a GPU use the same notebook: `-p dataset imagenet32 -p device cuda`, with the data
# under `data_root` (or `$PRETRAIN_DIVERSITY_DATA`); the book's page "Running at full scale" says
# where each data set goes.

# %% tags=["parameters"]
dataset = "glyphs"  # glyphs (embedded), fonts (installed faces), or imagenet, imagenet32, imagenet64, cifar100
n_classes = 500  # K: classes drawn from the pre-training pool
samples_per_class = 32  # n: images per class
budget = None  # N: if set, overrides samples_per_class with N / n_classes (must divide)
image_size = 16  # pixels per side
styles_per_class = None  # intra-class variety: V styles per class; 0: unbounded; None: original
class_pool = None  # classes drawn from: None: every script, or latin, greek, cyrillic, math, letters, symbols
label_noise = None  # fraction of labels replaced by another class (uncurated data); None: clean
appearance = None  # None: as rendered; negative (dark on bright) or outline (hollow strokes)
method = "supervised"  # pre-training objective: supervised, simclr or clip (captions: glyph names)
arch = "convnet"  # convnet (CPU-sized ResNet), resnet18, resnet50
width = 8  # convnet: channels of the stem (stages have 2x, 4x, 8x)
depth = 1  # convnet: residual blocks per stage
epochs = 20.0  # passes over the N images; steps are epochs * N / batch_size, rounded up
batch_size = 128
lr = 0.1  # peak learning rate at batch 128, scaled by batch/128 above (SGD, Nesterov, cosine)
momentum = 0.9
weight_decay = 5e-4
warmup_frac = 0.03
augment = True  # random shifts during pre-training (and flips for real, natural images)
probe_tasks = "glyphs-heldout,digits,shapes"  # comma-separated; also fashion-mnist, mnist, cifar10, ...
shots = None  # few-shot transfer instead of the standard probe, e.g. 1,5,10,20,0 (0: all)
finetune = None  # with shots: also fine-tune end to end (lr and length chosen on validation)
seed = 0  # draws the classes, the images, the initialisation and the batch order
class_seed = None  # reseeds only which classes are drawn; None: derived from seed
image_seed = None  # reseeds only which images are drawn; None: derived from seed
fixed_steps = None  # the same SGD steps at every budget (fixed compute); None: epochs rule
pretrain = None  # False: no pre-training: probe the network as initialised (a baseline)
pool_hygiene = None  # glyphs: drop pool classes within this shape distance of a task class
captions = None  # method: "clip": coarse, constant or web (noisy, per image); None: Unicode names
lengths = None  # read the run at these multiples of its steps, e.g. 1,2,4,8 (cool-down branches)
cooldown_frac = None  # with lengths: fraction of each branch cooling the lr to zero; None: 0.2
device = "cpu"  # cpu, cuda, cuda:1, mps
compile = False  # torch.compile the model (for GPUs; on a CPU it compiles slowly)
data_root = None  # folder holding the real data sets; None: $PRETRAIN_DIVERSITY_DATA
output_dir = "runs"  # each run writes output_dir/<run id>/metrics.json
force = False  # retrain even if this exact configuration already finished

# %%
import os
import time

import matplotlib.pyplot as plt
from IPython.display import display

from pretrain_diversity.config import RunConfig
from pretrain_diversity.tasks.registry import load_task
from pretrain_diversity.runs.experiment import check, run_dir_for, run_experiment
from pretrain_diversity.figures.run_report import (
    lengths_table, probe_table, training_curve, transfer_table,
)
from pretrain_diversity.evaluation.probe import probe_pixels

if data_root is not None:  # where the real data sets lie is not part of a run's identity
    os.environ["PRETRAIN_DIVERSITY_DATA"] = str(data_root)
cfg = RunConfig.from_parameters(globals())
check(cfg)  # every parameter is checked here, before any data is drawn or trained
print(
    f"K = {cfg.n_classes} classes x n = {cfg.samples_per_class} images = N = {cfg.budget:,}; "
    f"{cfg.steps:,} steps of {cfg.batch_size} on {cfg.device}; run id {cfg.run_id()}"
)

# %% [markdown]
# ## Pre-training and probing
# A rerun of the same configuration loads the stored result instead of training again
# (`force=True` retrains); a run that was killed resumes from its last checkpoint.

# %%
start = time.perf_counter()
metrics = run_experiment(cfg, output_dir, force=force)
print(f"finished in {time.perf_counter() - start:.1f} s "
      f"(pre-training {metrics['timing']['train_s']:.1f} s at "
      f"{metrics['timing']['train_images_per_s']:,.0f} images/s)")

# %%
training_curve(metrics)
plt.show()

# %% [markdown]
# ## Downstream transfer
# Top-1 test error of a logistic-regression probe on frozen features; next to it, the same probe
# on raw pixels, the reference any useful pre-training must beat (left out for tasks with more
# than 20,000 training images, where a probe on raw pixels takes long).

# %%
if cfg.shots is None:
    tasks = {t: load_task(t, cfg.image_size) for t in cfg.probe_tasks}
    pixels = {
        t: probe_pixels(task).test_error for t, task in tasks.items() if len(task.train) <= 20_000
    }
    display(probe_table(metrics, baselines=pixels))
else:  # few-shot transfer: test error per task, protocol and k (k = 0: the whole train pool)
    display(transfer_table(metrics))
if cfg.lengths:  # the same run read at each training length; the result above is the longest
    display(lengths_table(metrics))

# %%
metrics_path = run_dir_for(cfg, output_dir) / "metrics.json"
print(f"metrics written to {metrics_path.resolve()}")
