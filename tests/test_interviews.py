"""Interview coding: codebooks, agreement statistics, masking, exploration, the `voclens code` command."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from voclens.interviews.agreement import agreement_table, cohen_kappa, krippendorff_alpha, read_codings_csv, unit_matrix
from voclens.interviews.codebook import builtin_names, load_codebook, save_codebook
from voclens.interviews.coding import mask_in_place
from voclens.interviews.explore import cooccurrence, cross_table, kwic, network_svg
from voclens.interviews.model import Code, Codebook, Coding, Transcript, Turn

INTERVIEWS = Path(__file__).resolve().parents[1] / "corpora" / "interviews"


def test_builtin_codebooks_come_from_the_seeds():
    assert set(builtin_names()) >= {"alt-model", "job-map", "job-types", "journey-stages"}
    alt = load_codebook("alt-model")
    assert [c.name for c in alt.codes] == ["きっかけ", "欲求", "抑圧", "行動", "報酬"]
    assert all(c.description and c.examples and c.rule and c.color for c in alt.codes)
    assert [c.name for c in load_codebook("job-map").codes] == ["定義", "収集", "準備", "確認", "実行", "観察", "修正", "完了"]


def test_codebook_files_round_trip_with_hierarchy(tmp_path):
    f = tmp_path / "book.yaml"
    f.write_text("name: study\ncodes:\n  - name: 抑圧\n    rule: 不安 or 面倒\n    children:\n      - {id: cost, name: 費用, color: '#D55E00'}\n",
                 encoding="utf-8")
    book = load_codebook(f)
    assert [(c.name, c.parent) for c in book.codes] == [("抑圧", None), ("費用", book.codes[0].id)]
    for ext in ("json", "yaml"):
        again = load_codebook(save_codebook(book, tmp_path / f"copy.{ext}"))
        assert [(c.id, c.name, c.parent, c.color, c.rule) for c in again.codes] == [(c.id, c.name, c.parent, c.color, c.rule) for c in book.codes]
    with pytest.raises(Exception, match="neither a built-in"):
        load_codebook("no-such-codebook")


def test_cohen_kappa_and_krippendorff_alpha_match_published_values():
    a = np.array([1, 1, 0, 0, 1, 0, 1, 1, 0, 0])
    b = np.array([1, 0, 0, 0, 1, 0, 1, 1, 1, 0])
    assert cohen_kappa(a, b) == pytest.approx(0.6)
    nan = np.nan  # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 0.743
    data = np.array([
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ])
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=0.001)
    table = agreement_table(np.vstack([a, a]).T, np.vstack([b, a]).T, ["x", "y"])
    assert list(table["code"]) == ["x", "y", "(overall)"] and table.loc[1, "cohen_kappa"] == 1.0


def _transcript() -> Transcript:
    text = "Q：きっかけは？\nA：健康診断で指摘されました😊。それでジムに入会しました。\nQ：続いていますか？\nA：運動の仕方がわからなくて不安でした。"
    turns = []
    for k, line in enumerate(text.split("\n")):
        start = text.index(line) + 2
        turns.append(Turn(k, line[0], "interviewer" if line[0] == "Q" else "respondent", start, start + len(line) - 2))
    return Transcript("t1.txt", text, turns, case="田中")


def test_unit_matrix_counts_a_code_when_it_covers_half_a_unit(tmp_path):
    from voclens.interviews.coding import coding_units

    t = _transcript()
    units = coding_units([t])
    assert list(units["text"]) == ["健康診断で指摘されました😊。", "それでジムに入会しました。", "運動の仕方がわからなくて不安でした。"]
    for u in units.itertuples():
        assert t.text[u.start:u.end] == u.text
    whole_answer = Coding("t1.txt", units["start"].iat[0], units["end"].iat[1], "trigger", "研究者A")
    m = unit_matrix(units, [whole_answer], ["trigger"])
    assert m[:, 0].tolist() == [1, 1, 0]
    csv = tmp_path / "human.csv"
    csv.write_text("source,code,quote\nt1.txt,抑圧,わからなくて不安でした\n", encoding="utf-8-sig")
    book = load_codebook("alt-model")
    (coding,) = read_codings_csv(csv, [t], book, coder="研究者A")
    assert t.text[coding.start:coding.end] == "わからなくて不安でした" and coding.code == "barrier"


def test_masking_keeps_every_offset():
    text = "A：担当の山田太郎さんに090-1234-5678で連絡しました。"
    masked = mask_in_place(text)
    assert len(masked) == len(text) and "山田" not in masked and "090" not in masked
    assert masked.index("で連絡") == text.index("で連絡")


def test_kwic_by_lemma_cooccurrence_and_cross_table():
    t = _transcript()
    lines = kwic([t], "する")
    assert len(lines) >= 1 and all(t.text[r.start:r.end] == r.keyword for r in lines.itertuples())
    m = np.array([[1, 1, 0], [1, 0, 1], [0, 0, 1]])
    cooc = cooccurrence(m, ["a", "b", "c"])
    assert cooc.iloc[0].to_dict() == {"code_a": "a", "code_b": "b", "both": 1, "jaccard": 0.5}
    units = pd.DataFrame({"case": ["x", "x", "y"]})
    assert cross_table(units, m, ["a", "b", "c"]).loc["x"].tolist() == [2, 1, 1]
    svg = network_svg(cooc, {"a": 2, "b": 1, "c": 2})
    ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


@pytest.mark.slow
def test_code_command_end_to_end(tmp_path):
    from voclens.cli import main

    if not INTERVIEWS.is_dir():
        pytest.skip("demo interviews not present")
    out = tmp_path / "out"
    human = [str(INTERVIEWS / "codings" / "human_codings.csv")]
    assert main(["code", str(INTERVIEWS), "--codebook", "alt-model", "--out", str(out), "--human", human[0]]) == 0
    for name in ("codings.csv", "units.csv", "project.qdpx", "codebook.qdc", "report.html", "agreement.csv", "cooccurrence.csv",
                 "code_by_case.csv", "network.svg", "manifest.json"):
        assert (out / name).is_file(), name
    codings = pd.read_csv(out / "codings.csv", encoding="utf-8-sig")
    assert {"voclens:rule", "voclens:similarity", "研究者A"} <= set(codings["coder"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["units"] > 20
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "きっかけ" in html and "@example" not in html
    agreement = pd.read_csv(out / "agreement.csv", encoding="utf-8-sig")
    assert "(overall)" in set(agreement["code"])
    from voclens.interviews.refi import read_qdpx

    transcripts, book, back = read_qdpx(out / "project.qdpx")
    texts = {t.name: t.text for t in transcripts}
    for c in back[:50]:  # positions come back exactly: same characters as written
        row = codings[(codings["source"] == c.source) & (codings["start"] == c.start) & (codings["end"] == c.end)]
        assert len(row) and texts[c.source][c.start:c.end] == row["text"].iat[0]
