"""The CLI and the Python API end to end on the demo data: outputs, accounting, masking, offsets,
reproducibility."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import voclens
from voclens.cli import main
from voclens.ingest import load_corpus
from voclens.config import IngestSettings
from voclens.text.pii import EMAIL_RE, PHONE_RE

pytestmark = pytest.mark.slow

OUTPUTS = ["report.html", "documents.csv", "segments.csv", "themes.csv", "goals.csv", "rejects.csv", "manifest.json",
           "documents.parquet", "segments.parquet", "themes.parquet"]


def test_cli_writes_every_output(demo_run):
    code, out = demo_run
    assert code == 0
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    assert (out / "themes.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel-friendly UTF-8 BOM


def test_every_input_row_is_accounted_for(demo_run, demo_files):
    _, out = demo_run
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    c = m["counts"]
    assert c["rows_in"] == c["rows_analysed"] + c["rows_rejected"]
    docs = pd.read_csv(out / "documents.csv", encoding="utf-8-sig")
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert len(docs) == c["rows_analysed"] and len(rejects) == c["rows_rejected"] > 0
    assert set(rejects["reason"]) <= {"empty_text", "undecodable", "not_text", "malformed"}
    for col in ["id", "source", "channel", "theme_id", "sentiment", "sentiment_score",
                "job_type", "journey_stage", "intent", "pain_point", "emotion"]:
        assert col in docs.columns
    assert set(docs["pain_point"]) <= {0, 1}
    assert set(docs["journey_stage"]) <= {"awareness", "consideration", "purchase", "use", "support", "loyalty", "none"}
    goals = pd.read_csv(out / "goals.csv", encoding="utf-8-sig")
    assert len(goals) >= 1 and goals["kpi"].notna().all() and goals["target"].notna().all()
    assert set(docs["sentiment"]) <= {"positive", "neutral", "negative", "mixed"}
    assert docs["sentiment_score"].between(-1, 1).all()
    assert {"versions", "settings", "timings_s", "counts"} <= set(m)
    assert m["counts"]["themes"] >= 2 and m["counts"]["unassigned_share"] <= 0.10


def test_no_personal_data_in_any_output(demo_run):
    _, out = demo_run
    texts = {"report.html": (out / "report.html").read_text(encoding="utf-8")}
    for name, cols in [("documents.csv", ["text", "extra"]), ("segments.csv", ["text"]), ("themes.csv", ["quote_texts"]),
                       ("rejects.csv", ["text"])]:
        frame = pd.read_csv(out / name, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        texts[name] = "\n".join("\n".join(frame[c]) for c in cols if c in frame)
    for name, text in texts.items():
        assert not EMAIL_RE.search(text), name
        assert not [m for m in PHONE_RE.finditer(text) if 10 <= sum(ch.isdigit() for ch in m.group()) <= 11], name
    docs = pd.read_parquet(out / "documents.parquet")
    assert docs["text"].str.contains(r"\[(?:EMAIL|PHONE|NAME)\]").any()


def test_report_is_self_contained(demo_run):
    _, out = demo_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and 'charset="utf-8"' in html
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', html)


def test_segment_offsets_point_into_the_original_text(demo_files):
    corpus = load_corpus(demo_files, IngestSettings())
    originals = corpus.originals.copy()
    result = voclens.analyze(corpus, mask_pii=False, n_themes=4)
    seg = result.segments
    assert len(seg) > len(result.documents)
    for row in seg.itertuples():
        assert originals[row.doc_id][row.start:row.end] == row.text


def test_same_input_and_seed_give_identical_themes(demo_files):
    runs = [voclens.analyze(demo_files, seed=7) for _ in range(2)]
    a, b = (r.segments["theme_id"].tolist() for r in runs)
    assert a == b
    assert runs[0].themes["label"].tolist() == runs[1].themes["label"].tolist()


def test_fixed_theme_count_and_missing_column_error(tmp_path, demo_files, capsys):
    out = tmp_path / "o"
    assert main(["analyze", str(demo_files[0]), "--out", str(out), "--themes", "3", "--no-progress", "--formats", "csv"]) == 0
    assert len(pd.read_csv(out / "themes.csv", encoding="utf-8-sig")) == 3
    assert main(["analyze", str(demo_files[0]), "--out", str(out), "--text-column", "本文X", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "本文X" in err and "本文" in err and "--text-column" in err


def test_greetings_are_kept_but_not_themed():
    texts = ["お世話になっております。配送が三日も遅れています。よろしくお願いいたします。",
             "お世話になっております。アプリにログインできません。よろしくお願いいたします。"] * 15
    corpus = voclens.analyze(voclens.Corpus.from_texts(texts), n_themes=2)
    seg = corpus.segments
    greet = seg[seg["kind"] == "boilerplate"]
    assert len(greet) == 60 and (greet["theme_id"] == -1).all()
    assert (seg.loc[seg["kind"] == "content", "theme_id"] >= 0).all()
    assert corpus.meta["themes"]["not_clustered"] == {"boilerplate": 60}


def test_csv_outputs_are_safe_against_formula_injection(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("text\n=HYPERLINK(\"http://x\")配送が遅い\n+81 電話がつながらない\n普通の感想です\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["analyze", str(src), "--out", str(out), "--no-progress", "--formats", "csv"]) == 0
    docs = pd.read_csv(out / "documents.csv", encoding="utf-8-sig", dtype=str)
    assert docs["text"].str.startswith("'=").any() and docs["text"].str.startswith("'+").any()
    assert not docs["text"].str.match(r"^[=+@-]").any()


def test_csv_cells_in_bulk_equal_cell_by_cell():
    """Text and list-of-text columns are joined and escaped in bulk; the file is byte for byte
    what converting each cell gives (lists of numbers, dicts, tuples and None: cell by cell)."""
    import numpy as np

    from voclens import outputs

    vals = ["=SUM(A1)", "+1", "-x", "@u", "\tt", "\rr", "普通", "", "a'b", "改行\nあり", '引用"符'] * 30
    n = len(vals)
    frame = pd.DataFrame({
        "text": vals, "terms": [["配送", "=遅い"] if i % 3 else [] for i in range(n)],
        "nums": [["x", 1] if i % 3 else [] for i in range(n)], "maybe": [None if i % 7 == 0 else v for i, v in enumerate(vals)],
        "typed": pd.array(vals, dtype="string"), "score": np.arange(n) * 0.123456,
        "quote_texts": [["q1", "=q2"]] * n, "pair": [("t",)] * n, "mix": [{"use": 0.5}] * n,
    })
    want = frame.copy()
    for col in want.columns:
        if want[col].dtype == object or pd.api.types.is_string_dtype(want[col]):
            sep = "\n" if col == "quote_texts" else "、"
            want[col] = want[col].astype(object).map(lambda v, sep=sep: outputs._safe_cell(outputs._flat(v, sep)))
        else:
            want[col] = want[col].round(4)
    got = outputs._csv_cells(frame)
    assert got.to_csv(index=False) == want.to_csv(index=False)
    assert got["terms"].str.startswith("'").sum() == 0 and got["text"].str.startswith("'=").any()


def test_tables_written_in_slices_read_back_whole(demo_run, tmp_path, monkeypatch):
    """Large tables are converted and written a slice at a time (bounded memory); the files
    read back exactly as the one-piece write, BOM and header once, lists and empty slices alike."""
    from voclens import outputs

    _, out = demo_run
    seg = pd.read_parquet(out / "segments.parquet")
    seg.loc[seg.index[:7], "terms"] = None  # a column empty in the first slice, filled later
    monkeypatch.setattr(outputs, "ROWS_PER_SLICE", 7)
    outputs._write_csv(seg, tmp_path / "s.csv")
    outputs._write_parquet(seg, tmp_path / "s.parquet")
    raw = (tmp_path / "s.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1 and raw.count(b"seg_id,") == 1
    monkeypatch.setattr(outputs, "ROWS_PER_SLICE", 10**9)
    outputs._write_csv(seg, tmp_path / "whole.csv")
    assert raw == (tmp_path / "whole.csv").read_bytes()
    back = pd.read_parquet(tmp_path / "s.parquet")
    assert len(back) == len(seg) and back["terms"].iloc[:7].isna().all()
    assert [list(x) for x in back["terms"].iloc[7:]] == [list(x) for x in seg["terms"].iloc[7:]]


def test_large_tables_written_by_worker_processes_are_the_same_bytes(demo_run, tmp_path, monkeypatch):
    """ParallelCsv: slices formatted and written by forked workers, parts joined in order, give
    the file a sequential write gives; a worker's error is raised and no part file is left."""
    from voclens import outputs

    _, out = demo_run
    seg = pd.read_parquet(out / "segments.parquet")
    monkeypatch.setattr(outputs, "PARALLEL_CSV_ROWS", 100)
    monkeypatch.setattr(outputs, "ROWS_PER_SLICE", 333)  # more pieces than workers
    csv = outputs.ParallelCsv(2)
    csv.add(seg, tmp_path / "par.csv")
    csv.add(seg.head(50), tmp_path / "small.csv")  # below the threshold: written at once
    assert (tmp_path / "small.csv").exists() and not (tmp_path / "par.csv").exists()
    csv.start()
    csv.finish()
    outputs._write_csv(seg, tmp_path / "seq.csv")
    assert (tmp_path / "par.csv").read_bytes() == (tmp_path / "seq.csv").read_bytes()
    assert not list(tmp_path.glob("*.part*"))
    def fail(part):
        raise ValueError("cannot format: fix the table")

    monkeypatch.setattr(outputs, "_csv_cells", fail)  # the workers are forked after this: they fail
    csv = outputs.ParallelCsv(2)
    csv.add(seg, tmp_path / "bad.csv")
    csv.start()
    with pytest.raises(ValueError, match="fix the table"):
        csv.finish()
    assert not list(tmp_path.glob("*.part*"))
