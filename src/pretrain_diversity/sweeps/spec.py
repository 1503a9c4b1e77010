"""A study spec and its expansion into run configurations.

A *study* names budgets N, the class counts K to try at each budget (or class-to-sample ratios
K/n), seeds, and any other run parameter. ``Study.plan()`` turns it into ``RunConfig``s (and a
message per (N, K) that cannot split the budget); a parameter outside its range, an unknown key
or a spec with no valid run raises StudyError before anything runs.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from pretrain_diversity.budget import split_reason
from pretrain_diversity.config import ConfigError, RunConfig
from pretrain_diversity.runs.validation import validate


class StudyError(ValueError):
    """A study spec is malformed or asks for runs that cannot exist."""


@dataclass(frozen=True)
class Study:
    """What to sweep. Exactly one of ``n_classes`` and ``ratios`` says which K to try per budget.

    - ``n_classes``: a list of K tried at every budget, or a mapping budget -> list of K;
      a K that does not divide N (or exceeds it) is skipped with a message.
    - ``ratios``: class-to-sample ratios r = K/n; at budget N, K = sqrt(r N) must be a whole
      divisor of N (with powers of two, odd powers of 2 of N pair with odd powers of r).
    - ``base``: RunConfig fields shared by every run (epochs, probe_tasks, image_size, ...).
    - ``grid``: RunConfig fields swept as a cross product on top of budgets, K and seeds.
    - ``variants``: named settings that are not a cross product (e.g. pre-training *sources*
      that differ in several fields at once): a mapping name -> RunConfig fields; every run is
      made once per variant, crossed with the grid. The name is for tables only
      (``variant_of``); the fields alone make the run's identity.
    """

    name: str
    budgets: tuple[int, ...]
    seeds: tuple[int, ...] = (0,)
    n_classes: tuple[int, ...] | dict[int, tuple[int, ...]] | None = None
    ratios: tuple[float, ...] | None = None
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise StudyError("a study needs a name (used for its manifest and progress bar)")
        if not self.budgets:
            raise StudyError(f"study {self.name!r}: 'budgets' is empty")
        if not self.seeds:
            raise StudyError(f"study {self.name!r}: 'seeds' is empty")
        if (self.n_classes is None) == (self.ratios is None):
            raise StudyError(
                f"study {self.name!r}: give exactly one of 'n_classes' (K values) and "
                f"'ratios' (K/n)"
            )
        known = {f.name for f in fields(RunConfig)}
        owned = {"n_classes", "samples_per_class", "seed"}
        for name, v in self.variants.items():
            if not isinstance(v, dict):
                raise StudyError(f"study {self.name!r}: variants.{name} must be a table of fields")
            both = set(v) & (set(self.base) | set(self.grid))
            if both:
                raise StudyError(f"study {self.name!r}: variants.{name} sets {sorted(both)}, "
                                 f"which [base] or [grid] also set")
        checked = [("base", self.base), ("grid", self.grid)]
        checked += [(f"variants.{n}", v) for n, v in self.variants.items() if isinstance(v, dict)]
        for where, d in checked:
            bad = set(d) - known
            if bad:
                raise StudyError(
                    f"study {self.name!r}: unknown run parameter(s) {sorted(bad)} in [{where}]; "
                    f"known: {sorted(known - owned)}"
                )
            clash = set(d) & owned
            if clash:
                raise StudyError(
                    f"study {self.name!r}: {sorted(clash)} in [{where}] are set by budgets, "
                    f"n_classes/ratios and seeds"
                )
        both = set(self.base) & set(self.grid)
        if both:
            raise StudyError(f"study {self.name!r}: {sorted(both)} given in both [base] and [grid]")
        for k, v in self.grid.items():
            if not isinstance(v, (list, tuple)) or not v:
                raise StudyError(f"study {self.name!r}: grid.{k} must be a non-empty list")
        if isinstance(self.n_classes, dict):
            extra = set(self.n_classes) - set(self.budgets)
            missing = set(self.budgets) - set(self.n_classes)
            if extra or missing:
                raise StudyError(
                    f"study {self.name!r}: n_classes per budget must name every budget exactly: "
                    f"missing {sorted(missing)}, not a budget {sorted(extra)}"
                )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, d: dict) -> Study:
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise StudyError(f"unknown study keys {sorted(unknown)}; known: {sorted(known)}")
        ncl = d.get("n_classes")
        if isinstance(ncl, dict):
            try:
                d["n_classes"] = {int(b): tuple(ks) for b, ks in ncl.items()}
            except ValueError as e:
                raise StudyError(f"n_classes keys must be budgets (integers): {e}") from None
        elif ncl is not None:
            d["n_classes"] = tuple(ncl)
        for key in ("budgets", "seeds", "ratios"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        base = dict(d.get("base", {}))
        if "probe_tasks" in base:
            base["probe_tasks"] = tuple(base["probe_tasks"])
        d["base"] = base
        d["grid"] = {
            k: [tuple(x) if isinstance(x, list) else x for x in v]
            for k, v in dict(d.get("grid", {})).items()
        }
        d["variants"] = {
            name: {k: tuple(x) if isinstance(x, list) else x for k, x in dict(v).items()}
            if isinstance(v, dict) else v
            for name, v in dict(d.get("variants", {})).items()
        }
        return cls(**d)

    def to_dict(self) -> dict:
        d = asdict(self)
        if isinstance(self.n_classes, dict):
            d["n_classes"] = {str(b): list(ks) for b, ks in self.n_classes.items()}
        return json.loads(json.dumps(d))  # tuples -> lists

    # ------------------------------------------------------------------ expansion
    def classes_for(self, budget: int) -> list[tuple[int | None, str | None]]:
        """(K, None) for each K to try at ``budget``, or (None, why) for one that cannot be."""
        out: list[tuple[int | None, str | None]] = []
        if self.ratios is not None:
            for r in self.ratios:
                k = math.sqrt(r * budget)
                ki = round(k)
                if r <= 0 or abs(k - ki) > 1e-9 * max(1.0, k) or ki < 1 or split_reason(budget, ki):
                    out.append((None, f"ratio K/n={r:g} at N={budget} needs K=sqrt(r*N)={k:.4g}, "
                                      f"not a whole divisor of N"))
                else:
                    out.append((ki, None))
            return out
        ks = self.n_classes[budget] if isinstance(self.n_classes, dict) else self.n_classes
        for k in ks:
            if not isinstance(k, int) or isinstance(k, bool) or k < 1:
                out.append((None, f"K={k!r} is not a positive integer"))
            elif k > budget:
                out.append((None, f"K={k} > N={budget}: fewer than one image per class"))
            elif split_reason(budget, k):
                out.append((None, f"K={k} does not divide N={budget} "
                                  f"(n would be {budget / k:.4g})"))
            else:
                out.append((k, None))
        return out

    def plan(self, *, pool_size: int | None = None) -> tuple[list[RunConfig], list[str]]:
        """All run configs of the study (deduplicated by run id) and a message per skipped combo.

        A (N, K) that cannot split the budget is skipped: a grid of K over several budgets
        rarely divides them all. A parameter outside its range is the spec's mistake, not a
        combination to skip: it raises StudyError with the ConfigError's message.
        """
        configs: dict[str, RunConfig] = {}
        skipped: list[str] = []
        keys = list(self.grid)
        combos = [dict(zip(keys, vals)) for vals in itertools.product(*self.grid.values())]
        if self.variants:
            combos = [{**v, **c} for v in self.variants.values() for c in combos]
        for budget in self.budgets:
            if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
                skipped.append(f"budget N={budget!r} is not a positive integer")
                continue
            for k, why in self.classes_for(budget):
                if k is None:
                    skipped.append(why)
                    continue
                for combo, seed in itertools.product(combos, self.seeds):
                    where = f"N={budget} K={k} seed={seed}" + (f" {combo}" if combo else "")
                    try:
                        cfg = RunConfig.from_budget(budget, k, seed=seed, **self.base, **combo)
                        # device is where a run executes, not what it is: check the rest here,
                        # on a driver that may have no GPU, and the device on the worker.
                        validate(cfg.with_(device="cpu"), pool_size=pool_size)
                    except (ConfigError, TypeError) as e:
                        raise StudyError(f"study {self.name!r}: {e} (in the run {where})") from None
                    configs.setdefault(cfg.run_id(), cfg)
        return list(configs.values()), skipped

    def expand(self, *, strict: bool = False, pool_size: int | None = None) -> list[RunConfig]:
        """The study's run configs; invalid combos are skipped with a warning (raise if strict)."""
        configs, skipped = self.plan(pool_size=pool_size)
        if skipped:
            msg = f"study {self.name!r}: {len(skipped)} combination(s) skipped:\n  " + "\n  ".join(
                skipped
            )
            if strict:
                raise StudyError(msg)
            warnings.warn(msg, stacklevel=2)
        if not configs:
            raise StudyError(f"study {self.name!r} expands to no valid run")
        return configs


def variant_of(study: Study, cfg: RunConfig) -> str | None:
    """The name of the study variant ``cfg`` belongs to (None if the study has no variants)."""
    for name, fields_ in study.variants.items():
        if all(getattr(cfg, k) == v for k, v in fields_.items()):
            others = [v for n, v in study.variants.items() if n != name]
            # a variant that is a subset of another matches both: take the most specific
            if not any(set(fields_.items()) < set(o.items()) and
                       all(getattr(cfg, k) == x for k, x in o.items()) for o in others):
                return name
    return None


def load_study(path: str | os.PathLike) -> Study:
    """Read a study spec from a .toml, .json or .yaml file; its name defaults to the file's stem.

    Only data is read (``yaml.safe_load``: no tags that build objects). A file that does not
    parse raises StudyError in one line naming the file, the line and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no study spec at {path}")
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json", ".yaml", ".yml"):
        raise StudyError(f"study spec {path} must be .toml, .json or .yaml")
    try:
        d = parse_spec(path.read_text(), suffix)
    except UnicodeDecodeError as e:
        raise StudyError(f"{path}: not a text file ({e.reason})") from None
    except SpecSyntaxError as e:
        raise StudyError(f"{path}: line {e.line}: {e.problem}") from None
    if not isinstance(d, dict):
        raise StudyError(f"{path}: a study spec is a table of keys, not a {type(d).__name__}")
    d.setdefault("name", path.stem)
    try:
        return Study.from_dict(d)
    except StudyError as e:
        raise StudyError(f"{path}: {e}") from None
    except (TypeError, ValueError, AttributeError) as e:
        raise StudyError(f"{path}: {e}") from None


class SpecSyntaxError(ValueError):
    def __init__(self, line, problem: str):
        self.line, self.problem = line, problem
        super().__init__(f"line {line}: {problem}")


def parse_spec(text: str, suffix: str):
    """The data of a spec file; SpecSyntaxError (line, problem) if it does not parse."""
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            msg = str(e)
            m = re.search(r"\(at line (\d+), column \d+\)", msg)
            line = m.group(1) if m else "?"
            raise SpecSyntaxError(line, re.sub(r"\s*\(at .*\)$", "", msg)) from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecSyntaxError(e.lineno, e.msg) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise SpecSyntaxError(mark.line + 1 if mark else "?", problem) from None
