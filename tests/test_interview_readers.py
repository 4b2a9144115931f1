"""Interview transcript readers: every format, every label style, roles, times, offsets, encodings."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from voclens.errors import InputError
from voclens.interviews.model import Transcript
from voclens.interviews.readers import clock_seconds, match_label, read_transcript, read_transcripts


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def check_offsets(tr: Transcript) -> None:
    """Every span is inside the text, in order, and carries no surrounding whitespace or label."""
    prev = 0
    for i, t in enumerate(tr.turns):
        assert t.index == i
        assert 0 <= t.start <= t.end <= len(tr.text)
        assert t.start >= prev
        prev = t.end
        span = tr.text[t.start:t.end]
        assert span == span.strip()
        assert t.role in ("interviewer", "respondent", "unknown")


def said(tr: Transcript) -> list[tuple[str, str, str]]:
    return [(t.speaker, t.role, tr.turn_text(t)) for t in tr.turns]


# -- TXT: labels of every kind -----------------------------------------------------------------
QA = """インタビュー記録（2024年5月10日）
日時：2024年5月10日 14:00
場所：オンライン

Q：本日はよろしくお願いします。まず、サービスを使い始めたきっかけを教えてください。
A：友人に勧められたのがきっかけです。
最初は半信半疑でしたが、使ってみたら便利でした😊

実は、今では毎日使っています。
Q: 不満な点はありますか？
A:　アプリが少し重いことですね。
"""


def test_txt_qa_labels_roles_and_multiline_turns(tmp_path):
    tr = read_transcript(write(tmp_path / "int_01.txt", QA))
    check_offsets(tr)
    assert tr.format == "txt" and tr.name == "int_01.txt" and tr.path.endswith("int_01.txt")
    assert said(tr) == [
        ("Q", "interviewer", "本日はよろしくお願いします。まず、サービスを使い始めたきっかけを教えてください。"),
        ("A", "respondent", "友人に勧められたのがきっかけです。\n最初は半信半疑でしたが、使ってみたら便利でした😊\n\n実は、今では毎日使っています。"),
        ("Q", "interviewer", "不満な点はありますか？"),
        ("A", "respondent", "アプリが少し重いことですね。"),
    ]
    # the title and the 日時/場所 header before the first label are no turns; "A" names no case
    assert tr.case == "int_01"
    assert tr.text == QA  # the file's own text (LF already)
    assert all(t.time_start is None for t in tr.turns)


def test_txt_role_labels_and_names(tmp_path):
    text = (
        "インタビュアー：今日はありがとうございます。\n"
        "回答者：こちらこそ。\n"
        "聞き手：普段どのくらい使いますか。\n"
        "司会：補足ですが、平日の話です。\n"
        "佐藤さん:週に三回くらいです。\n"
        "モデレーター：ありがとうございます。\n"
    )
    tr = read_transcript(write(tmp_path / "roles.txt", text))
    check_offsets(tr)
    assert [(s, r) for s, r, _ in said(tr)] == [
        ("インタビュアー", "interviewer"),
        ("回答者", "respondent"),
        ("聞き手", "interviewer"),
        ("司会", "interviewer"),
        ("佐藤さん", "respondent"),
        ("モデレーター", "interviewer"),
    ]
    assert tr.turn_text(tr.turns[4]) == "週に三回くらいです。"
    assert tr.case == "roles"  # two respondent speakers (回答者, 佐藤さん): the file stem


def test_case_is_the_single_named_respondent_and_interviewer_labels(tmp_path):
    text = "山田：最近どうですか。\nAさん：忙しいです。\n山田：そうですか。\nAさん：はい、でも楽しいです。\n"
    path = write(tmp_path / "a.txt", text)
    tr = read_transcript(path)
    assert {t.speaker: t.role for t in tr.turns} == {"山田": "respondent", "Aさん": "respondent"}
    assert tr.case == "a"  # two non-interviewer speakers
    tr = read_transcript(path, interviewer_labels=["山田さん"])  # honorific ignored when matching
    assert {t.speaker: t.role for t in tr.turns} == {"山田": "interviewer", "Aさん": "respondent"}
    assert tr.case == "Aさん"
    assert read_transcript(path, interviewer_labels=["山田"], case="P07").case == "P07"


def test_full_width_labels_numbers_and_english(tmp_path):
    text = "Ｑ１：年齢を教えてください。\nＡ１：３５歳です。\nInterviewer: ok\nSpeaker 2: はい\nI: 次へ\n"
    tr = read_transcript(write(tmp_path / "fw.txt", text))
    assert said(tr) == [
        ("Ｑ１", "interviewer", "年齢を教えてください。"),
        ("Ａ１", "respondent", "３５歳です。"),
        ("Interviewer", "interviewer", "ok"),
        ("Speaker 2", "respondent", "はい"),
        ("I", "interviewer", "次へ"),
    ]
    check_offsets(tr)


def test_timestamps_in_txt(tmp_path):
    text = (
        "[00:00:05] 山田：では始めます。\n"
        "[00:01:23] 鈴木：はい、お願いします。\n"
        "えーと、何から話しましょう。\n"
        "00:02:10 山田：使い始めた時期から。\n"
        "鈴木（00:02:30）：去年の春です。\n"
    )
    tr = read_transcript(write(tmp_path / "ts.txt", text), interviewer_labels=["山田"])
    check_offsets(tr)
    assert said(tr) == [
        ("山田", "interviewer", "では始めます。"),
        ("鈴木", "respondent", "はい、お願いします。\nえーと、何から話しましょう。"),
        ("山田", "interviewer", "使い始めた時期から。"),
        ("鈴木", "respondent", "去年の春です。"),
    ]
    assert [t.time_start for t in tr.turns] == [5.0, 83.0, 130.0, 150.0]
    assert all(t.time_end is None for t in tr.turns)
    assert tr.case == "鈴木"


def test_name_and_timestamp_on_their_own_line(tmp_path):
    """Transcription services write 'name time' on one line and the words below it."""
    text = "話者1 00:00:03\nそれでは始めます。\n\n話者2 00:00:07\nよろしくお願いします。\n続けて話します。\n"
    tr = read_transcript(write(tmp_path / "notta.txt", text), interviewer_labels=["話者1"])
    check_offsets(tr)
    assert said(tr) == [
        ("話者1", "interviewer", "それでは始めます。"),
        ("話者2", "respondent", "よろしくお願いします。\n続けて話します。"),
    ]
    assert [t.time_start for t in tr.turns] == [3.0, 7.0]
    assert tr.case == "notta"  # 話者2 is a generic label, not a name


def test_not_labels_long_sentences_urls_and_list_items(tmp_path):
    text = (
        "Q：詳しく教えてください。\n"
        "A：理由は二つあります。\n"
        "メリット：価格が安い\n"
        "理由は：ほかにもあって\n"
        "この機能を毎日使っているのですが正直に言うと：\n"
        "https://example.com/help を見ました。\n"
        "10:30から使いました。\n"
    )
    tr = read_transcript(write(tmp_path / "nl.txt", text))
    assert [t.speaker for t in tr.turns] == ["Q", "A"]
    assert tr.turn_text(tr.turns[1]) == text.split("A：", 1)[1].rstrip("\n")
    check_offsets(tr)


def test_match_label_rules():
    assert match_label("Q：はい").speaker == "Q"
    assert match_label("Q：はい").content == 2
    assert match_label("  - **Q**: はい").speaker == "Q"
    assert match_label("**山田:** はい").speaker == "山田"
    assert match_label("【山田】：はい").speaker == "山田"
    assert match_label("x" * 21 + "：長すぎるラベル") is None
    assert match_label("x" * 20 + "：ちょうど").speaker == "x" * 20
    assert match_label("日時：5月10日") is None
    assert match_label("今日は：") is None
    assert match_label("はい、そうです：") is None
    assert match_label("それは違うと思いますね、私はこう考えています Q：") is None
    assert match_label("山田\tはい") is None
    assert match_label("山田\tはい", allow_tab=True).speaker == "山田"
    assert clock_seconds("01:02:03.5") == 3723.5
    assert clock_seconds("1:23") == 83.0
    assert clock_seconds("００:０１:２３") == 83.0
    assert clock_seconds("83") == 83.0
    assert clock_seconds("午後") is None


# -- Markdown ----------------------------------------------------------------------------------
MD = """---
title: インタビュー
date: 2024-05-10
---
# インタビュー記録：フィットネスジム

- 日時：2025年5月18日（日）14:00〜15:00
- 記録者：調査チーム

## 導入

- **Q**: 自己紹介をお願いします。
- **A**: 会社員です。
  二人の子どもがいます👨‍👩‍👧

## 本題

**Q:** 困っていることは？
- A: 時間が足りないことです。
> インタビュアー：なるほど。
"""


def test_markdown_labels_headings_front_matter(tmp_path):
    tr = read_transcript(write(tmp_path / "m.md", MD))
    check_offsets(tr)
    assert tr.format == "md"
    assert said(tr) == [
        ("Q", "interviewer", "自己紹介をお願いします。"),
        ("A", "respondent", "会社員です。\n  二人の子どもがいます👨‍👩‍👧"),
        ("Q", "interviewer", "困っていることは？"),
        ("A", "respondent", "時間が足りないことです。"),
        ("インタビュアー", "interviewer", "なるほど。"),
    ]
    # the heading '## 本題' ends the A turn: it is no turn's text
    assert "本題" not in tr.turn_text(tr.turns[1])


# -- offsets with emoji, full-width, CRLF, BOM, CP932 ------------------------------------------
def test_offsets_emoji_fullwidth_crlf_bom(tmp_path):
    lines = ["ｲﾝﾀﾋﾞｭｰ記録", "Ｑ：　最近うれしかったことは？🎉", "回答者：孫が来たことです😊😊", "", "本当に🥰ＡＢＣ！", "Q:最後に一言。"]
    raw = "\r\n".join(lines) + "\r\n"
    tr = read_transcript(write(tmp_path / "crlf.txt", raw, "utf-8-sig"))
    assert "\r" not in tr.text and not tr.text.startswith("\ufeff")
    assert tr.text == raw.replace("\r\n", "\n")
    check_offsets(tr)
    assert [tr.turn_text(t) for t in tr.turns] == [
        "最近うれしかったことは？🎉",
        "孫が来たことです😊😊\n\n本当に🥰ＡＢＣ！",
        "最後に一言。",
    ]
    # code points, not bytes or UTF-16 units
    emoji_at = tr.text.index("😊")
    assert tr.turns[1].start < emoji_at < tr.turns[1].end
    assert tr.turns[1].end - tr.turns[1].start == len("孫が来たことです😊😊\n\n本当に🥰ＡＢＣ！")


def test_cp932_file(tmp_path):
    text = "インタビュー\r\nQ：使い心地はいかがですか。\r\nA：①とても良い　②少し高い\r\n髙橋さんにも勧めました。\r\n"
    tr = read_transcript(write(tmp_path / "sjis.txt", text, "cp932"))
    check_offsets(tr)
    assert said(tr) == [
        ("Q", "interviewer", "使い心地はいかがですか。"),
        ("A", "respondent", "①とても良い　②少し高い\n髙橋さんにも勧めました。"),
    ]


def test_cp932_csv_and_utf16_txt(tmp_path):
    csv_text = "話者,発言\r\nインタビュアー,よろしくお願いします。\r\n高橋,はい、お願いします。\r\n"
    tr = read_transcript(write(tmp_path / "s.csv", csv_text, "cp932"))
    assert said(tr) == [("インタビュアー", "interviewer", "よろしくお願いします。"), ("高橋", "respondent", "はい、お願いします。")]
    tr = read_transcript(write(tmp_path / "u16.txt", "Q：はい？\nA：いいえ。\n", "utf-16"))
    assert [tr.turn_text(t) for t in tr.turns] == ["はい？", "いいえ。"]


# -- no labels ---------------------------------------------------------------------------------
def test_no_labels_one_unknown_turn_per_paragraph(tmp_path):
    text = "# 面談メモ\n\n最初の段落です。\n二行目も同じ段落。\n\n次の段落😊\n\n\n最後の段落。\n"
    tr = read_transcript(write(tmp_path / "memo.md", text))
    check_offsets(tr)
    assert said(tr) == [
        ("", "unknown", "最初の段落です。\n二行目も同じ段落。"),
        ("", "unknown", "次の段落😊"),
        ("", "unknown", "最後の段落。"),
    ]
    assert tr.case == "memo"
    # a file without blank lines: every line is a paragraph
    tr = read_transcript(write(tmp_path / "lines.txt", "一行目です。\n二行目です。\n"))
    assert [tr.turn_text(t) for t in tr.turns] == ["一行目です。", "二行目です。"]
    assert {t.role for t in tr.turns} == {"unknown"}


# -- WebVTT / SRT ------------------------------------------------------------------------------
VTT = """WEBVTT
Kind: captions

NOTE 自動生成された字幕を編集

1
00:00:01.000 --> 00:00:04.500
<v 山田>今日はありがとうございます。</v>

2
00:00:05.000 --> 00:00:09.250 align:start
<v.loud 佐藤>こちらこそ😊
よろしくお願いします。</v>

00:10.000 --> 00:12.000
佐藤：二つ目の話題ですが

3
00:00:12.500 --> 00:00:14.000
<v 山田>はい</v>
<v 佐藤>どうぞ</v>

4
00:00:15.000 --> 00:00:16.000
（笑い）
"""


def test_vtt_cues_voices_times(tmp_path):
    tr = read_transcript(write(tmp_path / "rec.vtt", VTT.replace("\n", "\r\n")), interviewer_labels=["山田"])
    check_offsets(tr)
    assert tr.format == "vtt"
    assert said(tr) == [
        ("山田", "interviewer", "今日はありがとうございます。"),
        ("佐藤", "respondent", "こちらこそ😊\nよろしくお願いします。"),
        ("佐藤", "respondent", "二つ目の話題ですが"),
        ("山田", "interviewer", "はい"),
        ("佐藤", "respondent", "どうぞ"),
        ("", "unknown", "（笑い）"),
    ]
    assert [(t.time_start, t.time_end) for t in tr.turns] == [
        (1.0, 4.5), (5.0, 9.25), (10.0, 12.0), (12.5, 14.0), (12.5, 14.0), (15.0, 16.0)
    ]
    assert tr.case == "佐藤"
    for t in tr.turns:  # header, NOTE, ids and timing lines are no turn's text
        assert "-->" not in tr.turn_text(t) and "WEBVTT" not in tr.turn_text(t) and "<v" not in tr.turn_text(t)


SRT = """1
00:00:01,000 --> 00:00:03,000
インタビュアー：それでは始めます。

2
00:00:03,500 --> 00:00:07,000
Speaker 1: はい。
長くなりますが、説明します。

3
00:01:02,000 --> 00:01:05,120
えー、そうですね。
"""


def test_srt_cues_speakers_times(tmp_path):
    tr = read_transcript(write(tmp_path / "rec.srt", SRT, "utf-8-sig"))
    check_offsets(tr)
    assert tr.format == "srt"
    assert said(tr) == [
        ("インタビュアー", "interviewer", "それでは始めます。"),
        ("Speaker 1", "respondent", "はい。\n長くなりますが、説明します。"),
        ("", "unknown", "えー、そうですね。"),
    ]
    assert [(t.time_start, t.time_end) for t in tr.turns] == [(1.0, 3.0), (3.5, 7.0), (62.0, 65.12)]
    assert tr.case == "rec"  # 'Speaker 1' is generic


def test_subtitle_without_cues_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no cues found.*save"):
        read_transcript(write(tmp_path / "bad.vtt", "WEBVTT\n\nただの文章です。\n"))


# -- DOCX --------------------------------------------------------------------------------------
def make_docx(path: Path, blocks: list) -> Path:
    """A minimal .docx: strings are paragraphs ('\\n' = soft line break), lists are table rows."""

    def para(text: str) -> str:
        runs = "<w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\"></w:t></w:r>"
        for i, piece in enumerate(text.split("\n")):
            if i:
                runs += "<w:r><w:br/></w:r>"
            runs += f'<w:r><w:t xml:space="preserve">{escape(piece)}</w:t></w:r>'
        return f"<w:p><w:pPr><w:pStyle w:val=\"Normal\"/></w:pPr>{runs}</w:p>"

    body = ""
    for b in blocks:
        if isinstance(b, list):
            body += "<w:tbl>"
            for row in b:
                body += "<w:tr>" + "".join(f"<w:tc>{para(c)}</w:tc>" for c in row) + "</w:tr>"
            body += "</w:tbl>"
        else:
            body += para(b)
    body += (  # deleted revision text and field codes are not text
        '<w:p><w:del w:id="1" w:author="x"><w:r><w:delText>消した文</w:delText></w:r></w:del></w:p>'
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}<w:sectPr/></w:body></w:document>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        zf.writestr("word/document.xml", xml)
    return path


def test_docx_paragraphs_labels_and_tables(tmp_path):
    path = make_docx(
        tmp_path / "int.docx",
        [
            "インタビュー逐語録",
            "Q：最近の買い物について教えてください。",
            "A：ネットで服を買いました👗",
            "サイズが合わなくて返品しました。\n（ため息）",
            "",
            [["話者", "発言"], ["Q", "返品は簡単でしたか？"], ["A", "はい、とても簡単でした。"]],
        ],
    )
    tr = read_transcript(path)
    assert tr.format == "docx"
    # Transcript.text is the paragraphs joined with "\n"; a table row is cells joined with "\t"
    assert tr.text == (
        "インタビュー逐語録\nQ：最近の買い物について教えてください。\nA：ネットで服を買いました👗\n"
        "サイズが合わなくて返品しました。\n（ため息）\n\n話者\t発言\nQ\t返品は簡単でしたか？\nA\tはい、とても簡単でした。\n"
    )
    check_offsets(tr)
    assert said(tr) == [
        ("Q", "interviewer", "最近の買い物について教えてください。"),
        ("A", "respondent", "ネットで服を買いました👗\nサイズが合わなくて返品しました。\n（ため息）"),
        ("Q", "interviewer", "返品は簡単でしたか？"),
        ("A", "respondent", "はい、とても簡単でした。"),
    ]


def test_docx_without_labels_and_broken_docx(tmp_path):
    tr = read_transcript(make_docx(tmp_path / "notes.docx", ["一つ目の段落。", "", "二つ目の段落。\n改行あり"]))
    assert said(tr) == [("", "unknown", "一つ目の段落。"), ("", "unknown", "二つ目の段落。\n改行あり")]
    with pytest.raises(InputError, match="not a valid .docx.*save it as .docx"):
        read_transcript(write(tmp_path / "old.docx", "これはdocではない"))


# -- CSV / TSV ---------------------------------------------------------------------------------
def test_csv_japanese_columns_times_and_case(tmp_path):
    text = (
        "回答者ID,時刻,発言者,発言内容\n"
        "P03,00:00:05,インタビュアー,本日はよろしくお願いします。\n"
        "P03,00:00:09,田中,\"よろしくお願いします😊\n（少し緊張しています）\"\n"
        "P03,,田中,\n"
        "P03,00:01:10,インタビュアー,  ありがとうございました。  \n"
    )
    tr = read_transcript(write(tmp_path / "p03.csv", text))
    assert tr.format == "csv"
    check_offsets(tr)
    assert tr.text == "本日はよろしくお願いします。\nよろしくお願いします😊\n（少し緊張しています）\nありがとうございました。"
    assert said(tr) == [
        ("インタビュアー", "interviewer", "本日はよろしくお願いします。"),
        ("田中", "respondent", "よろしくお願いします😊\n（少し緊張しています）"),
        ("インタビュアー", "interviewer", "ありがとうございました。"),
    ]
    assert [t.time_start for t in tr.turns] == [5.0, 9.0, 70.0]
    assert tr.case == "P03"


def test_tsv_english_columns_and_inline_labels(tmp_path):
    text = "speaker\ttext\tstart\tend\nQ\tHow often?\t1.5\t3\nA\t毎日です\t3.2\t4.0\n"
    tr = read_transcript(write(tmp_path / "t.tsv", text))
    assert said(tr) == [("Q", "interviewer", "How often?"), ("A", "respondent", "毎日です")]
    assert [(t.time_start, t.time_end) for t in tr.turns] == [(1.5, 3.0), (3.2, 4.0)]
    # no speaker column: a label at the start of the text names the speaker, outside the span
    tr = read_transcript(write(tmp_path / "inline.csv", "内容\nQ：好きな色は？\n回答者：青です。\n"))
    check_offsets(tr)
    assert said(tr) == [("Q", "interviewer", "好きな色は？"), ("回答者", "respondent", "青です。")]


def test_csv_without_text_column_and_several_cases(tmp_path):
    with pytest.raises(InputError, match="no text column. Columns found: 名前, 年齢.*発言"):
        read_transcript(write(tmp_path / "x.csv", "名前,年齢\n田中,30\n"))
    many = write(
        tmp_path / "all.csv",
        "case,speaker,text\nP01,Q,はい？\n,P01さん,はい。\nP02,Q,いかが？\nP02,鈴木,良いです。\n",
    )
    with pytest.raises(InputError, match="holds 2 interviews.*read_transcripts"):
        read_transcript(many)
    a, b = read_transcripts([many])
    assert (a.name, a.case, [t.speaker for t in a.turns]) == ("all.csv#P01", "P01", ["Q", "P01さん"])
    assert (b.name, b.case, b.text) == ("all.csv#P02", "P02", "いかが？\n良いです。")
    check_offsets(a)
    check_offsets(b)


# -- folders and errors ------------------------------------------------------------------------
def test_read_folder_sorted_skips_other_files(tmp_path):
    folder = tmp_path / "interviews"
    folder.mkdir()
    write(folder / "b_srt.srt", SRT)
    write(folder / "a_txt.txt", QA)
    write(folder / "c_csv.csv", "話者,発言\n聞き手,どうですか。\n伊藤,良いです。\n")
    make_docx(folder / "d_doc.docx", ["Q：はい", "A：いいえ"])
    write(folder / "e.md", MD)
    write(folder / "f.vtt", VTT)
    write(folder / "notes.xlsx", "not a transcript")
    write(folder / ".hidden.txt", "Q：x")
    write(folder / "~$d_doc.docx", "lock file")
    trs = read_transcripts(folder)
    assert [t.name for t in trs] == ["a_txt.txt", "b_srt.srt", "c_csv.csv", "d_doc.docx", "e.md", "f.vtt"]
    assert [t.format for t in trs] == ["txt", "srt", "csv", "docx", "md", "vtt"]
    assert trs[2].case == "伊藤"
    for tr in trs:
        check_offsets(tr)
        assert tr.turns
    assert [t.name for t in read_transcripts(str(folder / "a_txt.txt"))] == ["a_txt.txt"]


def test_errors_name_cause_and_fix(tmp_path):
    with pytest.raises(InputError, match=r"unsupported transcript type '\.doc'.*save it as \.docx"):
        read_transcript(write(tmp_path / "old.doc", "x"))
    with pytest.raises(InputError, match="unsupported transcript type '.pdf'. Supported: .txt"):
        read_transcript(write(tmp_path / "a.pdf", "x"))
    with pytest.raises(InputError, match="file not found. Check the path"):
        read_transcript(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="empty.*right file"):
        read_transcript(write(tmp_path / "empty.txt", "\n \n"))
    with pytest.raises(InputError, match="is a folder. Use read_transcripts"):
        read_transcript(tmp_path)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(InputError, match="no transcripts in this folder"):
        read_transcripts(empty)
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    with pytest.raises(InputError, match="must be unique.*rename"):
        read_transcripts([write(tmp_path / "x" / "same.txt", "Q：a"), write(tmp_path / "y" / "same.txt", "Q：b")])


# -- more label rules --------------------------------------------------------------------------
def test_label_alone_on_its_line_empty_turn_and_bracketed_roles(tmp_path):
    text = (
        "インタビュアー（山田）：\n　　最初の質問です。\n"
        "佐藤（30代女性）：\n"
        "山田（聞き手）：答えにくいですか。\n"
        "・佐藤（30代女性）：午後 3:00\n朝 7:30\n"
    )
    tr = read_transcript(write(tmp_path / "br.txt", text))
    check_offsets(tr)
    assert said(tr) == [
        ("インタビュアー（山田）", "interviewer", "最初の質問です。"),
        ("佐藤（30代女性）", "respondent", ""),
        ("山田（聞き手）", "interviewer", "答えにくいですか。"),
        ("佐藤（30代女性）", "respondent", "午後 3:00\n朝 7:30"),
    ]
    empty = tr.turns[1]
    assert empty.start == empty.end == text.index("佐藤（30代女性）：\n") + len("佐藤（30代女性）：")
    assert tr.case == "佐藤（30代女性）"
    tr = read_transcript(write(tmp_path / "gen.txt", "Q：x\nA（30代女性）：y\n"))
    assert tr.case == "gen"  # a generic label with a note still names no case


def test_srt_text_after_a_blank_line_stays_in_its_cue(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:02,000\n山田：一行目\n\n二行目\n\n2\n00:00:03,000 --> 00:00:04,000\nQ：はい\n"
    tr = read_transcript(write(tmp_path / "slip.srt", text))
    check_offsets(tr)
    assert said(tr) == [("山田", "respondent", "一行目\n\n二行目"), ("Q", "interviewer", "はい")]
    assert tr.case == "山田"


def test_undecodable_bytes_become_replacement_characters(tmp_path):
    data = "Q：お名前は？\nA：鈴木です。\nQ：ご職業は？\n".encode() + b"A: \xff\xfe broken\n" + "Q：ありがとうございました。\n".encode()
    path = tmp_path / "bad_bytes.txt"
    path.write_bytes(data)
    tr = read_transcript(path)
    check_offsets(tr)
    assert [tr.turn_text(t) for t in tr.turns] == ["お名前は？", "鈴木です。", "ご職業は？", "\ufffd\ufffd broken", "ありがとうございました。"]
