"""Shared fixtures: real small inputs, models loaded once per session, the demo run done once."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpora" / "demo"
DEMO_FILES = [DEMO / "reviews.csv", DEMO / "tickets.xlsx", DEMO / "posts.jsonl", DEMO / "survey_cp932.csv"]


@pytest.fixture(scope="session")
def demo_files() -> list[Path]:
    return DEMO_FILES


@pytest.fixture(scope="session")
def use_embedder():
    from voclens.embed import make_embedder

    return make_embedder("use")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The CLI on the demo data, once: (exit code, output folder)."""
    from voclens.cli import main

    out = tmp_path_factory.mktemp("demo_out")
    code = main(["analyze", *map(str, DEMO_FILES), "--out", str(out), "--no-progress"])
    return code, out
