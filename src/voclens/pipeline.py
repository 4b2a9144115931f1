"""Stages and the runner that checks their contracts (spaCy's ``Language.__call__`` + E005).

A stage is any object with ``name``, ``requires``, ``assigns`` and
``__call__(corpus, ctx) -> Corpus``. ``requires``/``assigns`` name fields as ``table.column`` or
``embeddings``. The runner refuses to start a stage whose inputs are missing and fails loudly if
a stage returns something else than a ``Corpus`` or forgets a field it promised, so a swapped-in
stage cannot silently break the ones after it. Timings go into ``corpus.meta``.

A stage may also set ``chunkable = True``: its output for a document depends only on that
document (and fixed resources), so the streaming and Dask engines (``voclens.engine``) may run it
on chunks of documents in any order and on any worker. Stages without it see the whole corpus.

A corpus-wide stage may set ``input_only = True``: it reads only what ingest produced (documents
and original texts) and no chunkable stage reads what it writes, so its result does not depend on
where it runs. Those engines then run it beside the chunks in a forked process (or before them on
one core) instead of on top of every segment's results (a million posts' duplicate search needs
~2 GB while it works), and it no longer holds up the chunks.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence, runtime_checkable

from voclens.config import Settings
from voclens.corpus import Corpus
from voclens.errors import StageContractError

# progress(stage_name, done, total): a CLI renders it as a bar; the library never prints.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class RunContext:
    """What every stage may read besides the corpus: the settings and a progress hook."""

    settings: Settings = field(default_factory=Settings)
    progress: ProgressFn | None = None

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


@runtime_checkable
class Stage(Protocol):
    name: str
    requires: tuple[str, ...]
    assigns: tuple[str, ...]

    def __call__(self, corpus: Corpus, ctx: RunContext) -> Corpus: ...


def peak_rss_mib() -> float | None:
    """This process's peak resident memory so far (MiB), or None where the OS does not say.

    Recorded after every stage (``meta["peak_rss_mib"]``, in the manifest): the first stage
    after which it jumps is the one that set the peak."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)  # bytes on macOS, KiB on Linux


def is_chunkable(stage: Stage) -> bool:
    """True when ``stage`` promises per-document independence (see the module docstring)."""
    return bool(getattr(stage, "chunkable", False))


def is_input_only(stage: Stage) -> bool:
    """True when ``stage`` reads only ingest's output (see the module docstring)."""
    return bool(getattr(stage, "input_only", False)) and not is_chunkable(stage)


class Pipeline:
    """An ordered list of stages run over one corpus."""

    def __init__(self, stages: Sequence[Stage]):
        self.stages = list(stages)
        names = [s.name for s in self.stages]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise StageContractError(f"Stage names must be unique; repeated: {sorted(dupes)}. Rename the stages.")

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def replace(self, name: str, stage: Stage) -> "Pipeline":
        """A new pipeline with the stage called ``name`` swapped for ``stage``."""
        if name not in self.names:
            raise StageContractError(f"No stage named '{name}'. Stages: {', '.join(self.names)}.")
        return Pipeline([stage if s.name == name else s for s in self.stages])

    def __call__(self, corpus: Corpus, ctx: RunContext | None = None) -> Corpus:
        ctx = ctx or RunContext()
        timings = corpus.meta.setdefault("timings", {})
        for stage in self.stages:
            missing = [f for f in stage.requires if not corpus.has(f)]
            if missing:
                raise StageContractError(
                    f"Stage '{stage.name}' requires {missing}, which no earlier stage assigned. "
                    f"Add a stage that assigns them before '{stage.name}' (stages: {', '.join(self.names)})."
                )
            t0 = time.perf_counter()
            result = stage(corpus, ctx)
            timings[stage.name] = round(time.perf_counter() - t0, 4)
            peak = peak_rss_mib()
            if peak is not None and isinstance(result, Corpus):
                result.meta.setdefault("peak_rss_mib", {})[stage.name] = peak
            if not isinstance(result, Corpus):
                raise StageContractError(
                    f"Stage '{stage.name}' returned {type(result).__name__}, not a Corpus. "
                    "A stage must return the corpus it was given (or a new one)."
                )
            unassigned = [f for f in stage.assigns if not result.has(f)]
            if unassigned:
                raise StageContractError(
                    f"Stage '{stage.name}' declares that it assigns {unassigned} but did not. "
                    "Fix the stage or its 'assigns' declaration."
                )
            corpus = result
        return corpus
