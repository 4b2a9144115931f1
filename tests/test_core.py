"""Settings (TOML + flags, validated in one place), the stage contract, and the public API."""

from __future__ import annotations

import pytest

import voclens
from voclens import ConfigError, Corpus, Pipeline, RunContext, Settings, StageContractError


def test_settings_from_toml_and_overrides(tmp_path):
    cfg = tmp_path / "voclens.toml"
    cfg.write_text('[themes]\nn_themes = 7\nseed = 3\n[text]\nmask_pii = false\n', encoding="utf-8")
    s = Settings.load(cfg, {"themes.seed": 5})
    assert s.themes.n_themes == 7 and s.themes.seed == 5 and s.text.mask_pii is False


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"themes.n_themes": 0}, "themes.n_themes must be >= 1"),
        ({"themes.seed": "x"}, "themes.seed must be of type int"),
        ({"ingest.channel": "fax"}, "ingest.channel must be one of"),
        ({"themes.nope": 1}, "Unknown setting 'themes.nope'"),
    ],
)
def test_invalid_settings_say_what_and_how(overrides, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        Settings.load(None, overrides)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml")


class _Stage:
    def __init__(self, name, requires=(), assigns=(), result="corpus"):
        self.name, self.requires, self.assigns, self.result = name, requires, assigns, result

    def __call__(self, corpus, ctx):
        if self.result == "corpus":
            corpus.segments = corpus.segments.assign(extra_col=1)
            return corpus
        return self.result


def test_runner_refuses_missing_inputs():
    with pytest.raises(StageContractError, match="requires \\['segments.terms'\\]"):
        Pipeline([_Stage("a", requires=("segments.terms",))])(Corpus(), RunContext())


def test_runner_checks_return_type_and_promises():
    with pytest.raises(StageContractError, match="returned NoneType"):
        Pipeline([_Stage("a", result=None)])(Corpus(), RunContext())
    with pytest.raises(StageContractError, match="did not"):
        Pipeline([_Stage("a", assigns=("segments.nothing",))])(Corpus(), RunContext())
    out = Pipeline([_Stage("a", assigns=("segments.extra_col",))])(Corpus(), RunContext())
    assert "a" in out.meta["timings"]


def test_stages_can_be_swapped_by_name():
    p = voclens.default_pipeline()
    assert p.names == ["segment", "tokenize", "embed", "sentiment", "lenses", "engagement", "social_tags", "dedup", "themes",
                       "summarize", "lens_summary", "goals", "social"]
    i = p.names.index("themes")
    q = p.replace("themes", _Stage("themes"))
    assert q.stages[i].__class__ is _Stage and p.stages[i].__class__ is not _Stage
    with pytest.raises(StageContractError, match="No stage named"):
        p.replace("nope", _Stage("x"))


def test_public_api_is_pinned():
    assert set(voclens.__all__) == {
        "analyze", "default_pipeline", "Corpus", "Pipeline", "RunContext", "Stage", "Settings", "VoclensError",
        "ConfigError", "InputError", "ColumnNotFoundError", "MissingDependencyError", "ModelError",
        "StageContractError", "NotFittedError", "__version__",
    }
    for name in voclens.__all__:
        assert hasattr(voclens, name)
    assert all(issubclass(getattr(voclens, e), voclens.VoclensError) for e in voclens.__all__ if e.endswith("Error") and e != "VoclensError")
