"""Typed settings, read from a TOML file and CLI flags, validated in one place.

Settings are data: each field carries its constraint in ``field(metadata=...)`` and
``Settings.validate`` checks them all with one generated message (the idea of scikit-learn's
``_param_validation``). The CLI only translates flags to dotted keys (``themes.n_themes``), so a
TOML file and flags always mean the same thing, and the manifest records the merged result.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voclens.errors import ConfigError

CHANNELS = ("review", "ticket", "sns", "interview", "other")


def _opt(default, *, choices=None, low=None, high=None, doc=""):
    meta = {"choices": choices, "low": low, "high": high, "doc": doc}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class IngestSettings:
    text_column: str | None = _opt(None, doc="column holding the text (found by name when unset)")
    id_column: str | None = _opt(None, doc="column holding a stable id")
    date_column: str | None = _opt(None, doc="column holding the date")
    rating_column: str | None = _opt(None, doc="column holding a star rating or score")
    channel_column: str | None = _opt(None, doc="column holding the channel")
    channel: str | None = _opt(None, choices=(None, *CHANNELS), doc="channel for every row (else guessed per file)")
    encoding: str | None = _opt(None, doc="force an encoding (else detected: UTF-8, UTF-8 BOM, CP932)")
    max_chars: int = _opt(20000, low=1, doc="texts longer than this are cut (and counted in the manifest)")
    engagement_columns: list = _opt([], doc="engagement counts named FIELD=COLUMN (likes, reposts, replies, quotes, "
                                        "followers, views), e.g. ['likes=お気に入り']; else found by name")


@dataclass
class TextSettings:
    mask_pii: bool = _opt(True, doc="mask e-mail, phone, address, card numbers and names in every output")
    split_clauses: bool = _opt(True, doc="split contrastive clauses (〜が、〜けど) into their own segments")
    min_clause_chars: int = _opt(4, low=1, doc="a clause shorter than this stays with its neighbour")
    mentions: str = _opt("keep", choices=("mask", "keep"), doc="@mentions in shown texts: kept, or masked as [MENTION] (with mask_pii on)")
    urls: str = _opt("keep", choices=("mask", "keep"), doc="URLs in shown texts: masked as [URL] or kept")


@dataclass
class EmbedSettings:
    embedder: str = _opt("use", doc="'use' (offline multilingual USE) or 'st:NAME_OR_PATH' (sentence-transformers)")
    batch_size: int = _opt(8192, low=1, doc="texts per embedder call. The default embedder sorts a call's texts and computes "
                            "the windows they share once: larger calls are faster (8,192: 10-17% less embedding "
                            "time than 256) and take ~20 MB more working memory per 1,000 texts")
    threads: int = _opt(2, low=1)


@dataclass
class ThemeSettings:
    n_themes: int | None = _opt(None, low=1, doc="fixed number of themes (found automatically when unset)")
    min_themes: int = _opt(4, low=1)
    max_themes: int = _opt(40, low=2)
    lexical_weight: float = _opt(1.0, low=0.0, high=5.0, doc="weight of the nouns' LSA features beside embeddings")
    lsa_dims: int = _opt(200, low=2, doc="LSA components of the noun TF-IDF")
    dims: int = _opt(32, low=2, doc="dimensions kept by PCA before clustering")
    context_weight: float = _opt(1.0, low=0.0, high=10.0, doc="weight of the document's mean embedding blended into each segment")
    sample_size: int = _opt(20000, low=100, doc="features are fitted on at most this many documents, the clustering on at most this many segments (docs/scaling.md)")
    outlier_z: float = _opt(3.0, low=0.0, doc="segments this many robust SDs below their theme's typical similarity stay unassigned")
    n_keywords: int = _opt(10, low=1)
    n_quotes: int = _opt(5, low=0)
    seed: int = _opt(0, low=0)


@dataclass
class SentimentSettings:
    model: str = _opt("default", doc="'default' (shipped model) or a path to a model folder")
    mixed_margin: float = _opt(0.25, low=0.0, high=1.0, doc="a document is mixed when both sides reach this share")


@dataclass
class DedupSettings:
    enabled: bool = _opt(True, doc="group duplicate posts; theme discovery counts each group once (tables keep every copy)")
    near: bool = _opt(True, doc="also near duplicates (edits, quote posts, templates), not only exact copies")
    threshold: float | None = _opt(None, low=0.0, high=1.0, doc="Jaccard of near duplicates (resources/social/dedup.toml when unset)")
    containment: float | None = _opt(None, low=0.0, high=1.0, doc="share of a quoted post inside a quote post (data file when unset)")
    themes_min_share: float = _opt(0.02, low=0.0, high=1.0, doc="themes are discovered on one copy per group when copies are at "
                                   "least this share of the documents; below it on every document, as without dedup")


@dataclass
class LensSettings:
    models: str = _opt("default", doc="'default' (shipped models/) or a folder holding lenses/<set>/ and emotion/")
    top_goals: int = _opt(5, low=0, doc="number of themes that get a proposed goal")


@dataclass
class AlertSettings:
    sensitivity: str = _opt("medium", choices=("high", "medium", "low"), doc="spike alert sensitivity")
    baseline_weeks: int = _opt(8, low=1, doc="weeks before the alert week that form the baseline")
    webhook: str | None = _opt(None, doc="URL that receives alerts as a Slack-compatible JSON payload")


@dataclass
class SocialSettings:
    watchlist: str | None = _opt(None, doc="TOML file of brands ([[brand]]) and alert terms ([[term]]) to follow")
    default_terms: bool = _opt(True, doc="add the shipped alert terms (リコール, 異物混入, 炎上 ...) to the watchlist's own")


@dataclass
class OutputSettings:
    formats: list = _opt(["csv", "parquet", "html"], doc="outputs to write")
    progress: bool = _opt(True, doc="show progress bars (CLI)")


@dataclass
class RunSettings:
    n_jobs: int = _opt(0, low=0, doc="worker processes for the text stages (0 = every core)")


@dataclass
class EngineSettings:
    name: str = _opt("auto", choices=("auto", "memory", "stream", "dask"),
                     doc="how the per-document stages run: 'memory' (whole corpus at once), 'stream' (chunks, "
                         "embeddings memory-mapped), 'dask' (chunks on a Dask cluster), 'auto' (stream above chunk_docs)")
    chunk_docs: int = _opt(5000, low=1, doc="documents per chunk for the stream and dask engines")
    embeddings_dtype: str = _opt("float16", choices=("float16", "float32"), doc="on-disk dtype of streamed embeddings")
    work_dir: str | None = _opt(None, doc="folder for the memory-mapped embeddings (a temporary folder when unset)")
    scheduler: str | None = _opt(None, doc="Dask scheduler address (tcp://host:8786); a LocalCluster when unset")
    workers: int = _opt(0, low=0, doc="workers of the LocalCluster started when no scheduler is given (0 = every core)")


@dataclass
class Settings:
    run: RunSettings = field(default_factory=RunSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    text: TextSettings = field(default_factory=TextSettings)
    embed: EmbedSettings = field(default_factory=EmbedSettings)
    themes: ThemeSettings = field(default_factory=ThemeSettings)
    sentiment: SentimentSettings = field(default_factory=SentimentSettings)
    lenses: LensSettings = field(default_factory=LensSettings)
    dedup: DedupSettings = field(default_factory=DedupSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    social: SocialSettings = field(default_factory=SocialSettings)
    output: OutputSettings = field(default_factory=OutputSettings)

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> "Settings":
        """Defaults, then the TOML file, then ``overrides`` (dotted keys), then validation."""
        settings = cls()
        if path is not None:
            settings = settings.merge(_flatten(read_toml(path, "--config", "Fix the file or remove --config.")))
        if overrides:
            settings = settings.merge({k: v for k, v in overrides.items() if v is not None})
        settings.validate()
        return settings

    def merge(self, flat: dict[str, Any]) -> "Settings":
        """A copy with dotted keys (``section.name``) set; unknown keys are errors."""
        new = dataclasses.replace(self, **{f.name: dataclasses.replace(getattr(self, f.name)) for f in dataclasses.fields(self)})
        for key, value in flat.items():
            section_name, _, name = key.partition(".")
            section = getattr(new, section_name, None)
            if section is None or not dataclasses.is_dataclass(section) or name not in {f.name for f in dataclasses.fields(section)}:
                raise ConfigError(f"Unknown setting '{key}'. Known settings: {', '.join(sorted(self.keys()))}.")
            setattr(section, name, value)
        return new

    def keys(self) -> list[str]:
        return [f"{s.name}.{f.name}" for s in dataclasses.fields(self) for f in dataclasses.fields(getattr(self, s.name))]

    def validate(self) -> None:
        """Check every field against its declared constraint; one message lists all problems."""
        problems = []
        for s in dataclasses.fields(self):
            section = getattr(self, s.name)
            for f in dataclasses.fields(section):
                value, meta = getattr(section, f.name), f.metadata
                key = f"{s.name}.{f.name}"
                if meta.get("choices") is not None and value not in meta["choices"]:
                    problems.append(f"{key} must be one of {[c for c in meta['choices'] if c is not None]}, got {value!r}")
                    continue
                if value is None:
                    continue
                kind = str(f.type).split("|")[0].strip()
                ok = {
                    "bool": isinstance(value, bool),
                    "int": isinstance(value, int) and not isinstance(value, bool),
                    "float": isinstance(value, (int, float)) and not isinstance(value, bool),
                    "str": isinstance(value, str),
                    "list": isinstance(value, (list, tuple)),
                }.get(kind, True)
                if not ok:
                    problems.append(f"{key} must be of type {kind}, got {value!r}")
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    if meta.get("low") is not None and value < meta["low"]:
                        problems.append(f"{key} must be >= {meta['low']}, got {value!r}")
                    if meta.get("high") is not None and value > meta["high"]:
                        problems.append(f"{key} must be <= {meta['high']}, got {value!r}")
        if self.themes.min_themes > self.themes.max_themes:
            problems.append("themes.min_themes must not exceed themes.max_themes")
        if problems:
            raise ConfigError("Invalid settings: " + "; ".join(problems) + ". Fix them in the TOML file or the flags.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def read_toml(path: str | Path, flag: str, fix: str) -> dict[str, Any]:
    """A user's TOML file (UTF-8, BOM allowed), or a ConfigError naming the flag and the fix."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p} does not exist. Check the path given to {flag}.")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p} is not valid TOML ({exc}). {fix}") from exc


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            flat.update(_flatten(v, key + "."))
        else:
            flat[key] = v
    return flat
