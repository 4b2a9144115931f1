"""Ingest: every format and encoding a Japanese team exports, column detection, rejects, ids, dates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from voclens.config import IngestSettings
from voclens.corpus import DOCUMENT_COLUMNS, REJECT_COLUMNS, Corpus
from voclens.errors import ColumnNotFoundError, ConfigError, InputError
from voclens.ingest import corpus_from_records, detect_encoding, load_corpus, read_table

TEXTS = [
    "配送が予定より二日遅れました。",
    "スタッフの対応がとても丁寧で安心しました。",
    "アプリの動作が重く、ログインに時間がかかります。",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def load(*paths, **settings) -> Corpus:
    return load_corpus(list(paths), IngestSettings(**settings))


def check_invariants(c: Corpus) -> None:
    m = c.meta["ingest"]
    assert m["rows_in"] == m["rows_ok"] + m["rows_rejected"]
    for f in m["files"]:
        assert f["rows_in"] == f["rows_ok"] + f["rows_rejected"]
    assert m["rows_ok"] == len(c.documents) and m["rows_rejected"] == len(c.rejects)
    assert list(c.documents.columns) == DOCUMENT_COLUMNS
    assert list(c.rejects.columns) == REJECT_COLUMNS
    assert c.documents["doc_id"].tolist() == list(range(len(c.documents)))
    assert str(c.documents["date"].dtype) == "datetime64[ns]"
    assert c.documents["rating"].dtype == np.float64
    assert c.originals.tolist() == c.documents["text"].tolist()
    assert c.originals.index.tolist() == c.documents["doc_id"].tolist()


CSV = "id,text,date,rating\n" + "\n".join(f"A{i},{t},2026-09-2{i} 10:00,{i + 3}" for i, t in enumerate(TEXTS)) + "\n"


# -- formats -----------------------------------------------------------------------------------
def test_csv(tmp_path):
    c = load(write(tmp_path / "reviews.csv", CSV))
    check_invariants(c)
    d = c.documents
    assert d["text"].tolist() == TEXTS
    assert d["id"].tolist() == ["A0", "A1", "A2"]
    assert d["row"].tolist() == [1, 2, 3]
    assert d["source"].unique().tolist() == ["reviews.csv"]
    assert d["rating"].tolist() == [3.0, 4.0, 5.0]
    assert d["date"].iloc[0] == pd.Timestamp("2026-09-20 10:00")
    assert d["extra"].tolist() == ["{}"] * 3
    f = c.meta["ingest"]["files"][0]
    assert f["format"] == "csv" and f["encoding"] == "utf-8" and f["text_column"] == "text"
    assert f["columns"] == ["id", "text", "date", "rating"]


def test_tsv_and_tab(tmp_path):
    body = "本文\t評価\n" + "\n".join(f"{t}\t{i}" for i, t in enumerate(TEXTS, 1)) + "\n"
    c = load(write(tmp_path / "a.tsv", body), write(tmp_path / "b.tab", body))
    check_invariants(c)
    assert c.documents["text"].tolist() == TEXTS * 2
    assert [f["format"] for f in c.meta["ingest"]["files"]] == ["tsv", "tsv"]


def test_txt_one_text_per_line(tmp_path):
    c = load(write(tmp_path / "voices.txt", "\n".join(TEXTS) + "\n\n   \n"))
    check_invariants(c)
    assert c.documents["text"].tolist() == TEXTS
    assert c.documents["row"].tolist() == [1, 2, 3]
    assert c.rejects["row"].tolist() == [4, 5]
    assert set(c.rejects["reason"]) == {"empty_text"}


def test_jsonl(tmp_path):
    lines = [json.dumps({"id": i, "text": t, "rating": 4.0, "tags": ["配送"]}, ensure_ascii=False) for i, t in enumerate(TEXTS)]
    c = load(write(tmp_path / "posts.ndjson", "\n".join(lines) + "\n\n"))
    check_invariants(c)
    d = c.documents
    assert d["text"].tolist() == TEXTS
    assert d["id"].tolist() == ["0", "1", "2"]  # ids are strings, ints are not written as 0.0
    assert d["rating"].tolist() == [4.0] * 3
    assert json.loads(d["extra"].iloc[0]) == {"tags": '["配送"]'}
    assert d["channel"].unique().tolist() == ["sns"]  # guessed from the file name


def test_json_list_and_records_object(tmp_path):
    recs = [{"コメント": t, "投稿日": "2026/9/28"} for t in TEXTS]
    a = write(tmp_path / "a.json", json.dumps(recs, ensure_ascii=False))
    b = write(tmp_path / "b.json", json.dumps({"records": recs}, ensure_ascii=False))
    c = write(tmp_path / "c.json", json.dumps({"meta": {"n": 3}, "data": recs}, ensure_ascii=False))
    corpus = load(a, b, c)
    check_invariants(corpus)
    assert corpus.documents["text"].tolist() == TEXTS * 3
    assert (corpus.documents["date"] == pd.Timestamp("2026-09-28")).all()


def test_json_bad_shape_and_structured_text(tmp_path):
    with pytest.raises(InputError, match="records"):
        load(write(tmp_path / "x.json", '{"a": 1, "b": 2}'))
    recs = [{"text": TEXTS[0]}, {"text": {"body": "入れ子"}}, {"text": None}, {"text": 12345}]
    c = load(write(tmp_path / "y.json", json.dumps(recs, ensure_ascii=False)))
    check_invariants(c)
    assert c.documents["text"].tolist() == [TEXTS[0], "12345"]  # a number-only text is kept
    assert dict(zip(c.rejects["row"], c.rejects["reason"])) == {2: "not_text", 3: "empty_text"}


def test_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["問い合わせID", "受付日時", "件名", "問い合わせ内容", "対応チャネル"])
    ws.append([1001, dt.datetime(2026, 9, 28, 10, 0), "配送について", TEXTS[0], "電話"])
    ws.append([None, None, None, None, None])
    ws.append([1003, 45000, "アプリ", TEXTS[2] + "_x000D_\nよろしく", "チャット"])
    ws.append([None, None, None, None, None])  # trailing blank rows are formatting, not records
    path = tmp_path / "tickets.xlsx"
    wb.save(path)
    c = load(path)
    check_invariants(c)
    d = c.documents
    assert d["text"].tolist() == [TEXTS[0], TEXTS[2] + "\nよろしく"]  # Excel's escaped CR, normalised
    assert d["id"].tolist() == ["1001", "1003"]
    assert d["row"].tolist() == [1, 3]
    assert d["date"].tolist() == [pd.Timestamp("2026-09-28 10:00"), pd.Timestamp("2023-03-15")]
    assert d["channel"].tolist() == ["ticket", "ticket"]
    assert json.loads(d["extra"].iloc[0]) == {"件名": "配送について"}
    assert c.rejects["row"].tolist() == [2]
    f = c.meta["ingest"]["files"][0]
    assert f["format"] == "xlsx" and f["encoding"] is None and f["rows_in"] == 3


def test_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    df = pd.DataFrame(
        {
            "review_id": [1.0, np.nan, 3.0],
            "body": TEXTS,
            "created_at": pd.to_datetime(["2026-09-28T01:00:00Z", None, "2026-09-29T00:00:00Z"], utc=True),
            "stars": [5, 4, 1],
        }
    )
    path = tmp_path / "r.parquet"
    df.to_parquet(path)
    c = load(path)
    check_invariants(c)
    d = c.documents
    assert d["text"].tolist() == TEXTS
    assert d["id"].iloc[0] == "1" and d["id"].iloc[2] == "3" and len(d["id"].iloc[1]) == 12
    assert d["date"].iloc[0] == pd.Timestamp("2026-09-28 10:00")  # UTC -> Asia/Tokyo
    assert pd.isna(d["date"].iloc[1])
    assert d["rating"].tolist() == [5.0, 4.0, 1.0]


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"\.csv.*\.xlsx"):
        load(write(tmp_path / "a.doc", "x"))
    with pytest.raises(InputError, match="not found"):
        load(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="No input files"):
        load_corpus([], IngestSettings())


def test_one_bad_file_stops_the_run(tmp_path):
    good = write(tmp_path / "good.csv", CSV)
    bad = write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{broken\n')
    with pytest.raises(InputError, match=r"bad\.jsonl.*line 2"):
        load(good, bad)


# -- encodings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "encoding,expected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp932", "cp932"), ("utf-16", "utf-16")],
)
def test_csv_encodings(tmp_path, encoding, expected):
    text = "レビューID,口コミ,評価\n" + "\n".join(f"R{i},{t},{i}" for i, t in enumerate(TEXTS, 1)) + "\n"
    c = load(write(tmp_path / f"{encoding}.csv", text, encoding))
    check_invariants(c)
    assert c.documents["text"].tolist() == TEXTS
    assert c.documents["id"].tolist() == ["R1", "R2", "R3"]
    assert c.meta["ingest"]["files"][0]["encoding"] == expected


def test_cp932_specific_characters(tmp_path):
    # ①, ～ and 髙 exist in CP932 but not in plain Shift_JIS: Excel Japan writes them.
    text = "コメント\n①の件、対応ありがとうございました～\n髙橋さんの説明が分かりやすかった。\n"
    c = load(write(tmp_path / "survey.csv", text, "cp932"))
    assert c.documents["text"].tolist() == ["①の件、対応ありがとうございました～", "髙橋さんの説明が分かりやすかった。"]


def test_euc_jp_is_not_read_as_cp932_mojibake(tmp_path):
    c = load(write(tmp_path / "old.csv", "本文\n" + "\n".join(TEXTS) + "\n", "euc_jp"))
    assert c.documents["text"].tolist() == TEXTS
    assert c.meta["ingest"]["files"][0]["encoding"] == "euc_jp"


def test_one_column_csv_with_unquoted_commas(tmp_path):
    text = "感想\n安い、早い、うまい。でも量が少ない,残念\n" + TEXTS[0] + "\n"
    c = load(write(tmp_path / "a.csv", text))
    assert c.documents["text"].tolist() == ["安い、早い、うまい。でも量が少ない,残念", TEXTS[0]]


def test_excel_unicode_text_is_tab_separated_utf16(tmp_path):
    text = "本文\t評価\r\n" + "\r\n".join(f"{t}\t{i}" for i, t in enumerate(TEXTS, 1)) + "\r\n"
    c = load(write(tmp_path / "export.txt", text, "utf-16"))
    check_invariants(c)
    assert c.documents["text"].tolist() == TEXTS
    assert c.documents["rating"].tolist() == [1.0, 2.0, 3.0]
    assert c.meta["ingest"]["files"][0]["format"] == "tsv"


def test_detect_encoding():
    jp = "配送が遅い。対応は丁寧でした。\n".encode
    assert detect_encoding(jp("utf-8")) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + jp("utf-8")) == "utf-8-sig"
    assert detect_encoding(jp("cp932")) == "cp932"
    assert detect_encoding(jp("utf-16")) == "utf-16"
    assert detect_encoding(jp("utf-16-le")) is not None
    # UTF-8 with one broken line is still UTF-8, not CP932 mojibake
    mixed = jp("utf-8") * 5 + "壊れた行\n".encode("cp932") + jp("utf-8") * 5
    assert detect_encoding(mixed) == "utf-8"


def test_undecodable_line_goes_to_rejects(tmp_path):
    data = ("id,text\n1," + TEXTS[0] + "\n").encode() + "2,壊れた行です\n".encode("cp932") + ("3," + TEXTS[1] + "\n").encode()
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    c = load(path)
    check_invariants(c)
    assert c.documents["text"].tolist() == [TEXTS[0], TEXTS[1]]
    assert c.rejects[["row", "id", "reason"]].values.tolist() == [[2, "2", "undecodable"]]
    assert "\ufffd" in c.rejects["text"].iloc[0]


def test_wrong_encoding_stops_with_advice(tmp_path):
    path = write(tmp_path / "a.csv", "text\n" + "\n".join(TEXTS) + "\n", "cp932")
    with pytest.raises(InputError, match="--encoding"):
        load(path, encoding="utf-8")
    with pytest.raises(ConfigError):
        load(path, encoding="no-such-codec")
    assert load(path, encoding="cp932").documents["text"].tolist() == TEXTS


# -- columns -----------------------------------------------------------------------------------
def test_japanese_and_variant_headers(tmp_path):
    text = "ＩＤ,投稿日時,星,レビュー,チャネル\n" + "\n".join(
        f"x{i},2026年9月{i}日,{'★' * i}{'☆' * (5 - i)},{t},App Store" for i, t in enumerate(TEXTS, 1)
    )
    c = load(write(tmp_path / "data.csv", text))
    f = c.meta["ingest"]["files"][0]
    assert (f["text_column"], f["id_column"], f["date_column"], f["rating_column"], f["channel_column"]) == (
        "レビュー", "ＩＤ", "投稿日時", "星", "チャネル")
    assert c.documents["rating"].tolist() == [1.0, 2.0, 3.0]
    assert c.documents["channel"].unique().tolist() == ["review"]

    c = load(write(tmp_path / "b.csv", "Review_Text,Created At\n" + TEXTS[0] + ",2026-09-28\n"))
    assert c.meta["ingest"]["files"][0]["text_column"] == "Review_Text"
    assert c.meta["ingest"]["files"][0]["date_column"] == "Created At"


def test_subject_and_body(tmp_path):
    text = "件名,内容,回答\n配送遅延," + TEXTS[0] + ",ご迷惑をおかけしました。\n"
    c = load(write(tmp_path / "inquiries.csv", text))
    d = c.documents
    assert d["text"].tolist() == [TEXTS[0]]
    assert json.loads(d["extra"].iloc[0]) == {"件名": "配送遅延", "回答": "ご迷惑をおかけしました。"}
    assert d["channel"].iloc[0] == "ticket"


def test_flags_override(tmp_path):
    text = "text,note,no,when,score\n短い,{0},7,2026-01-02,2\n短い2,{1},8,2026-01-03,3\n".format(*TEXTS)
    path = write(tmp_path / "a.csv", text)
    c = load(path, text_column="note", id_column="no", date_column="when", rating_column="score")
    assert c.documents["text"].tolist() == TEXTS[:2]
    assert c.documents["id"].tolist() == ["7", "8"]
    assert json.loads(c.documents["extra"].iloc[0]) == {"text": "短い"}
    c = load(path, text_column="NOTE")  # flags match loosely too
    assert c.documents["text"].tolist() == TEXTS[:2]
    with pytest.raises(ColumnNotFoundError) as err:
        load(path, text_column="本文")
    assert "本文" in str(err.value) and "note" in str(err.value) and "--text-column" in str(err.value)
    with pytest.raises(ColumnNotFoundError, match="--date-column"):
        load(path, date_column="日付")


def test_missing_text_column_lists_columns(tmp_path):
    path = write(tmp_path / "a.csv", "番号,性別,年代\n1,女性,30代\n2,男性,40代\n")
    with pytest.raises(ColumnNotFoundError) as err:
        load(path)
    msg = str(err.value)
    assert "a.csv" in msg and "性別" in msg and "年代" in msg and "--text-column" in msg
    assert err.value.found == ["番号", "性別", "年代"]


def test_text_column_by_content(tmp_path):
    one = write(tmp_path / "one.csv", "お客様アンケート\n" + "\n".join(TEXTS) + "\n")
    assert load(one).documents["text"].tolist() == TEXTS
    text = "会員番号,年代,自由欄\n" + "\n".join(f"{i},30代,{t}" for i, t in enumerate(TEXTS)) + "\n"
    c = load(write(tmp_path / "two.csv", text))
    assert c.documents["text"].tolist() == TEXTS
    assert c.meta["ingest"]["files"][0]["text_found_by"] == "content"
    # two prose-like columns and no known name: refuse to guess
    text = "欄A,欄B\n" + "\n".join(f"{t},{t}" for t in TEXTS) + "\n"
    with pytest.raises(ColumnNotFoundError, match="欄A, 欄B"):
        load(write(tmp_path / "three.csv", text))


# -- rows --------------------------------------------------------------------------------------
def test_empty_rows_are_rejected_and_counted(tmp_path):
    text = "id,text\n1,{0}\n2,\n3,   \n4,。。。\n\n5,12345\n6,{1}\n".format(*TEXTS)
    c = load(write(tmp_path / "a.csv", text))
    check_invariants(c)
    assert c.documents["text"].tolist() == [TEXTS[0], "12345", TEXTS[1]]
    assert c.rejects["row"].tolist() == [2, 3, 4, 5]
    assert c.rejects["id"].tolist() == ["2", "3", "4", ""]
    assert set(c.rejects["reason"]) == {"empty_text"}
    m = c.meta["ingest"]
    assert (m["rows_in"], m["rows_ok"], m["rows_rejected"]) == (7, 3, 4)
    assert m["rejected"] == {"empty_text": 4}


def test_all_rows_empty_is_an_error(tmp_path):
    with pytest.raises(InputError, match="No usable texts"):
        load(write(tmp_path / "a.csv", "text\n\n \n"))


def test_extra_field_row_is_rejected_not_fatal(tmp_path):
    text = f"id,text\n1,{TEXTS[0]}\n2,はい,いいえ\n3,{TEXTS[1]}\n"
    c = load(write(tmp_path / "a.csv", text))
    check_invariants(c)
    assert c.documents["text"].tolist() == [TEXTS[0], TEXTS[1]]
    assert c.rejects[["row", "reason"]].values.tolist() == [[2, "malformed"]]


def test_line_endings_and_nul(tmp_path):
    text = 'id,text\r\n1,"一行目です。\r\n二行目です。"\r\n2,"古いMacの\r改行"\r\n3,"NUL\x00入り"\r\n'
    c = load(write(tmp_path / "a.csv", text))
    assert c.documents["text"].tolist() == ["一行目です。\n二行目です。", "古いMacの\n改行", "NUL入り"]
    c = load(write(tmp_path / "b.txt", "一つ目\r\n二つ目\r三つ目"))
    assert c.documents["text"].tolist() == ["一つ目", "二つ目", "三つ目"]


def test_text_kept_exactly(tmp_path):
    t = "　ＡＢＣ①ｶﾀｶﾅ😀  です  "
    c = load(write(tmp_path / "a.jsonl", json.dumps({"text": t}, ensure_ascii=False)))
    assert c.documents["text"].iloc[0] == t


def test_truncation_is_counted_not_rejected(tmp_path):
    text = "text\n" + "あ" * 50 + "\n" + TEXTS[0] + "\n"
    c = load(write(tmp_path / "a.csv", text), max_chars=20)
    check_invariants(c)
    assert c.documents["text"].tolist() == ["あ" * 20, TEXTS[0][:20]]
    assert c.meta["ingest"]["truncated"] == 1


def test_stable_ids(tmp_path):
    text = "text\n" + "\n".join([TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[0]]) + "\n"
    path = write(tmp_path / "a.csv", text)
    first, second = load(path), load(path)
    ids = first.documents["id"].tolist()
    assert ids == second.documents["id"].tolist()
    assert len(set(ids)) == 4
    assert ids[2] == ids[0] + "-2" and ids[3] == ids[0] + "-3"
    assert all(len(i.split("-")[0]) == 12 for i in ids)
    # the id depends on the file name, not on its folder
    other = tmp_path / "sub"
    other.mkdir()
    assert load(write(other / "a.csv", text)).documents["id"].tolist() == ids
    assert load(write(tmp_path / "b.csv", text)).documents["id"].tolist() != ids


def test_id_column_with_gaps(tmp_path):
    text = f"id,text\nT-1,{TEXTS[0]}\n,{TEXTS[1]}\n"
    ids = load(write(tmp_path / "a.csv", text)).documents["id"].tolist()
    assert ids[0] == "T-1" and len(ids[1]) == 12


def test_channels(tmp_path):
    text = "channel,text\n" + "\n".join(
        f"{ch},{TEXTS[0]}" for ch in ["レビュー", "電話", "X (Twitter)", "Instagram", "インタビュー", "メール問い合わせ", "FAX", ""]
    )
    c = load(write(tmp_path / "mixed.csv", text))
    assert c.documents["channel"].tolist() == ["review", "ticket", "sns", "sns", "interview", "ticket", "other", "other"]
    c = load(write(tmp_path / "mixed2.csv", text), channel="ticket")  # unmapped values take the setting
    assert c.documents["channel"].tolist()[-2:] == ["ticket", "ticket"]

    plain = "text\n" + TEXTS[0] + "\n"
    for name, want in [("app_reviews.csv", "review"), ("口コミ.csv", "review"), ("support_tickets.csv", "ticket"),
                       ("問い合わせ履歴.csv", "ticket"), ("tweets.csv", "sns"), ("interview_notes.csv", "interview"),
                       ("survey.csv", "other")]:
        assert load(write(tmp_path / name, plain)).documents["channel"].iloc[0] == want, name
    assert load(write(tmp_path / "survey2.csv", plain), channel="interview").documents["channel"].iloc[0] == "interview"


def test_dates_in_many_formats(tmp_path):
    cases = {
        "2026-09-28": "2026-09-28 00:00",
        "2026-09-28 10:00:00": "2026-09-28 10:00",
        "2026/09/28 10:00": "2026-09-28 10:00",
        "2026/9/8": "2026-09-08 00:00",
        "2026年9月28日": "2026-09-28 00:00",
        "２０２６年９月２８日（月） 10時30分": "2026-09-28 10:30",
        "令和8年9月28日": "2026-09-28 00:00",
        "2026-09-28T01:00:00Z": "2026-09-28 10:00",
        "2026-09-28T10:00:00+09:00": "2026-09-28 10:00",
        "2026-09-27T21:00:00-04:00": "2026-09-28 10:00",
        "45000": "2023-03-15 00:00",
        "20260928": "2026-09-28 00:00",
        "Sep 28, 2026": "2026-09-28 00:00",
    }
    text = "date,text\n" + "\n".join(f'"{k}",{TEXTS[0]}' for k in cases) + f"\nいつか,{TEXTS[0]}\n,{TEXTS[0]}\n"
    c = load(write(tmp_path / "a.csv", text))
    got = c.documents["date"].tolist()
    assert got[: len(cases)] == [pd.Timestamp(v) for v in cases.values()]
    assert pd.isna(got[-2]) and pd.isna(got[-1])
    assert c.meta["ingest"]["dates_unparsed"] == 1  # 'いつか' counted; the blank one is just missing
    assert len(c.documents) == len(cases) + 2  # bad dates are not rejects


def test_ratings(tmp_path):
    vals = ["5", "４", "3.5", "★★☆☆☆", "星4つ", "4/5", "", "不明"]
    text = "rating,text\n" + "\n".join(f"{v},{TEXTS[0]}" for v in vals)
    c = load(write(tmp_path / "a.csv", text))
    r = c.documents["rating"].tolist()
    assert r[:6] == [5.0, 4.0, 3.5, 2.0, 4.0, 4.0]
    assert np.isnan(r[6]) and np.isnan(r[7])
    assert c.meta["ingest"]["files"][0]["rating_range"] == [2.0, 5.0]


def test_several_files_one_corpus(tmp_path):
    a = write(tmp_path / "reviews.csv", CSV)
    b = write(tmp_path / "posts.txt", "\n".join(TEXTS[:2]) + "\n\n")
    c = load(a, b)
    check_invariants(c)
    assert c.documents["source"].tolist() == ["reviews.csv"] * 3 + ["posts.txt"] * 2
    assert c.documents["channel"].tolist() == ["review"] * 3 + ["sns"] * 2
    assert c.meta["ingest"]["rows_in"] == 6 and len(c.meta["ingest"]["files"]) == 2


def test_read_table_gives_strings(tmp_path):
    df, info = read_table(write(tmp_path / "a.csv", "id,text\n001,はい\n"), IngestSettings())
    assert df.to_dict("records") == [{"id": "001", "text": "はい"}]  # leading zeros survive
    assert info["format"] == "csv" and info["encoding"] == "utf-8"


# -- in memory ---------------------------------------------------------------------------------
def test_corpus_from_records_and_from_texts():
    c = corpus_from_records(
        [
            {"text": TEXTS[0], "id": 1, "date": pd.Timestamp("2026-09-28 10:00"), "rating": 4, "channel": "review", "店舗": "新宿"},
            {"text": "", "id": 2},
            {"text": TEXTS[1], "date": "2026/9/29"},
        ]
    )
    check_invariants(c)
    d = c.documents
    assert d["id"].iloc[0] == "1" and d["channel"].iloc[0] == "review"
    assert d["date"].tolist() == [pd.Timestamp("2026-09-28 10:00"), pd.Timestamp("2026-09-29")]
    assert json.loads(d["extra"].iloc[0]) == {"店舗": "新宿"}
    assert c.rejects["reason"].tolist() == ["empty_text"]

    c = Corpus.from_texts(TEXTS, ids=["a", "b", "c"], channel="sns")
    assert c.documents["id"].tolist() == ["a", "b", "c"] and set(c.documents["channel"]) == {"sns"}
    assert Corpus.from_texts(TEXTS).documents["id"].tolist() == Corpus.from_texts(TEXTS).documents["id"].tolist()
    assert len(Corpus.from_texts([]).documents) == 0
    with pytest.raises(ColumnNotFoundError, match="'text' key"):
        corpus_from_records([{"body_x": 1}])
