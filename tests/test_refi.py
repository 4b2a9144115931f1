"""REFI-QDA exchange: codebook and project round trips, XSD validity, foreign files, broken files."""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree

from voclens.errors import InputError
from voclens.interviews.model import Code, Codebook, Coding, Transcript
from voclens.interviews.refi import (
    NS_PROJECT,
    code_guid,
    from_refi_positions,
    read_qdc,
    read_qdpx,
    to_refi_positions,
    validate_qde,
    write_qdc,
    write_qdpx,
)

WHEN = datetime(2025, 4, 1, 9, 30, tzinfo=timezone.utc)
UUID_ID = "1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294"


def _schema(name: str) -> etree.XMLSchema:
    ref = resources.files("voclens.resources").joinpath("refi", name)
    with resources.as_file(ref) as p:
        return etree.XMLSchema(etree.parse(str(p)))


def _assert_valid(xml: bytes, schema_name: str) -> None:
    schema = _schema(schema_name)
    ok = schema.validate(etree.fromstring(xml))
    assert ok, "\n".join(f"line {e.line}: {e.message}" for e in schema.error_log)


def _codebook() -> Codebook:
    return Codebook(
        name="満足度",
        codes=[
            Code(id="usability", name="使いやすさ", description="操作の分かりやすさ。\n画面遷移も含む。",
                 examples=["ボタンが押しやすい", "迷わず\n使えた"], color="#1f77b4"),
            Code(id="usability.login", name="ログイン", parent="usability", color="#FF7F0E",
                 rule="ログイン | サインイン"),
            Code(id="usability.login.slow", name="ログインが遅い", parent="usability.login",
                 description="待ち時間への不満"),
            Code(id="price", name="価格", color="#2CA02C", examples=["高い😢"]),
            Code(id=UUID_ID, name="ATLAS由来のコード", parent="price"),
            Code(id="emotion", name="感情（絵文字）"),
        ],
    )


# Full-width letters and punctuation, emoji outside the BMP, a rare kanji outside the BMP
# (𠮷, U+20BB7), no CR anywhere.
T1 = (
    "司会：本日はありがとうございます😊\n"
    "Ａさん：アプリは使いやすいです👍でも、ログインが遅い。\n"
    "司会：どのくらい待ちましたか？\n"
    "Ａさん：３０秒くらい😢😢　ＷｉーＦｉのせいかも。\n"
)
T2 = "👍最初に絵文字。𠮷野家の話も出た。価格は高い（￥１，２００）。"


def _transcripts() -> list[Transcript]:
    return [
        Transcript(name="interview_A.txt", text=T1, case="A社", format="txt"),
        Transcript(name="interview_B.txt", text=T2, case="", format="txt"),
    ]


def _span(text: str, sub: str, occurrence: int = 1) -> tuple[int, int]:
    i = -1
    for _ in range(occurrence):
        i = text.index(sub, i + 1)
    return i, i + len(sub)


def _codings() -> list[Coding]:
    after_smile = T1.index("😊") + 1  # starts right after an emoji
    thumbs = T1.index("👍")
    s_slow, e_slow = _span(T1, "ログインが遅い")
    s_wait, e_wait = _span(T1, "３０秒くらい😢😢")
    s_fw, e_fw = _span(T1, "ＷｉーＦｉのせいかも")
    s_yoshi, e_yoshi = _span(T2, "𠮷野家の話")
    s_price, e_price = _span(T2, "価格は高い（￥１，２００）")
    return [
        Coding("interview_A.txt", after_smile, after_smile + 1, "emotion", "tanaka"),  # the "\n" right after 😊
        Coding("interview_A.txt", thumbs - 9, thumbs + 1, "usability", "tanaka", note="絵文字ごと"),
        Coding("interview_A.txt", thumbs, thumbs + 1, "emotion", "voclens:rule", score=0.75),  # the emoji alone
        Coding("interview_A.txt", s_slow, e_slow, "usability.login.slow", "tanaka"),
        Coding("interview_A.txt", thumbs + 1, e_slow, "usability.login", "sato"),  # starts right after 👍
        Coding("interview_A.txt", s_slow, e_slow, "usability.login.slow", "voclens:rule", score=1.0),
        Coding("interview_A.txt", s_wait, e_wait, "usability.login.slow", "voclens:rule"),
        Coding("interview_A.txt", s_fw, e_fw, UUID_ID, "tanaka"),
        Coding("interview_B.txt", 0, 1, "emotion", "voclens:rule"),  # an emoji at offset 0
        Coding("interview_B.txt", s_yoshi, e_yoshi, "price", "tanaka", note="固有名詞"),
        Coding("interview_B.txt", s_price, e_price, "price", "tanaka"),
    ]


def _key(c: Coding):
    return (c.source, c.start, c.end, c.code, c.coder, c.score, c.note)


def _qde(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("project.qde")


# --------------------------------------------------------------------------- codebook


def test_codebook_round_trip_keeps_hierarchy_colours_and_ids(tmp_path):
    cb = _codebook()
    out = write_qdc(cb, tmp_path / "codes.qdc")
    xml = out.read_bytes()
    _assert_valid(xml, "Codebook.xsd")

    root = etree.fromstring(xml)
    ns = {"c": "urn:QDA-XML:codebook:1.0"}
    # nesting: login.slow sits inside login inside usability
    slow = root.xpath("//c:Code[@name='ログインが遅い']", namespaces=ns)[0]
    assert [a.get("name") for a in slow.iterancestors(f"{{{ns['c']}}}Code")] == ["ログイン", "使いやすさ"]
    # guids: deterministic UUID5 for slugs, the id itself when it already is a GUID
    assert slow.get("guid") == code_guid("usability.login.slow")
    assert root.xpath(f"//c:Code[@guid='{UUID_ID}']", namespaces=ns)
    assert code_guid("price") == code_guid("price") != code_guid("Price")

    back = read_qdc(out)
    assert back.name == "codes"
    assert {c.id: c for c in back.codes} == {c.id: c for c in cb.codes}


def test_qdc_from_another_tool_reads_as_plain_codes(tmp_path):
    qdc = tmp_path / "atlas.qdc"
    qdc.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="ATLAS.ti Win 23.4.0">\n'
        '  <Codes>\n'
        '    <Code guid="1FF58B12-6F6F-4B0C-8BE5-BBDC91F55294" name="カテゴリ" isCodable="false" color="#46A">\n'
        '      <Description>説明です</Description>\n'
        '      <Code guid="{2FF58B12-6F6F-4B0C-8BE5-BBDC91F55294}" name="子コード" isCodable="true"/>\n'
        "    </Code>\n"
        "  </Codes>\n"
        "</CodeBook>\n",
        encoding="utf-8",
    )
    _assert_valid(qdc.read_bytes(), "Codebook.xsd")
    cb = read_qdc(qdc, validate=True)
    parent, child = cb.codes
    assert (parent.id, parent.name, parent.description, parent.color) == (UUID_ID, "カテゴリ", "説明です", "#4466AA")
    assert (child.id, child.parent) == ("{2FF58B12-6F6F-4B0C-8BE5-BBDC91F55294}", UUID_ID)
    # written back, foreign guids stay exactly as they were
    xml = write_qdc(cb, tmp_path / "again.qdc").read_bytes()
    assert b'guid="{2FF58B12-6F6F-4B0C-8BE5-BBDC91F55294}"' in xml


@pytest.mark.parametrize(
    "codes, needle",
    [
        ([Code(id="a", name="A", color="blue")], "colour 'blue'"),
        ([Code(id="a", name="A", parent="nope")], "parent 'nope'"),
        ([Code(id="a", name="A"), Code(id="a", name="B")], "used twice"),
        ([Code(id="a", name="A", parent="b"), Code(id="b", name="B", parent="a")], "cycle"),
        ([], "no codes"),
    ],
)
def test_bad_codebook_is_refused_before_writing(tmp_path, codes, needle):
    with pytest.raises(InputError, match=needle):
        write_qdc(Codebook(name="x", codes=codes), tmp_path / "x.qdc")
    assert not (tmp_path / "x.qdc").exists()


# --------------------------------------------------------------------------- positions


def test_position_conversion_counts_astral_characters_once_or_twice():
    text = "a😊ｂ👍c"
    assert to_refi_positions(text, 1, 2, "codepoint") == (1, 2)
    assert to_refi_positions(text, 1, 2, "utf16") == (1, 3)
    assert to_refi_positions(text, 2, 5, "utf16") == (3, 7)  # after 😊 .. end
    assert from_refi_positions(text, 3, 7, "utf16") == (2, 5)
    with pytest.raises(ValueError, match="surrogate"):
        from_refi_positions(text, 2, 3, "utf16")


# --------------------------------------------------------------------------- project


def test_project_round_trip_is_exact_with_emoji_and_full_width(tmp_path):
    transcripts, cb, codings = _transcripts(), _codebook(), _codings()
    out = write_qdpx(tmp_path / "p.qdpx", transcripts, cb, codings, users=["sato"], project_name="満足度調査",
                     created=WHEN)

    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        qde = zf.read("project.qde")
        root = etree.fromstring(qde)
        ns = {"p": NS_PROJECT}
        # one TextSource per transcript, its text stored byte for byte as UTF-8 under sources/
        for src in root.xpath("//p:TextSource", namespaces=ns):
            guid = src.get("guid")
            assert src.get("plainTextPath") == f"internal://{guid}.txt"
            assert f"sources/{guid}.txt" in names
            stored = zf.read(f"sources/{guid}.txt")
            original = next(t for t in transcripts if t.name == src.get("name")).text
            assert stored == original.encode("utf-8")
    _assert_valid(qde, "Project-mrt2019.xsd")

    # one User per coder (plus the extra member), and each selection's creatingUser is its coder's guid
    users = {u.get("guid"): u.get("name") for u in root.xpath("//p:User", namespaces=ns)}
    assert sorted(users.values()) == ["sato", "tanaka", "voclens:rule"]
    sels = root.xpath("//p:PlainTextSelection", namespaces=ns)
    assert len(sels) == len(codings)
    for sel, c in zip(sels[: len(codings)], [c for c in codings if c.source == "interview_A.txt"]):
        assert users[sel.get("creatingUser")] == c.coder
        assert users[sel.find("p:Coding", ns).get("creatingUser")] == c.coder
        assert sel.get("creationDateTime") == "2025-04-01T09:30:00Z"
        assert sel.find("p:Coding/p:CodeRef", ns).get("targetGUID") == code_guid(c.code)
    # default positions are code points of the stored text
    assert (int(sels[0].get("startPosition")), int(sels[0].get("endPosition"))) == (codings[0].start, codings[0].end)

    got_t, got_cb, got_c = read_qdpx(out, validate=True)
    assert [(t.name, t.text, t.case) for t in got_t] == [(t.name, t.text, t.case) for t in transcripts]
    assert {c.id: c for c in got_cb.codes} == {c.id: c for c in cb.codes}
    assert got_cb.name == "満足度調査"
    assert sorted(map(_key, got_c)) == sorted(map(_key, codings))
    texts = {t.name: t.text for t in got_t}
    assert [texts[c.source][c.start:c.end] for c in got_c] == [
        next(t.text for t in transcripts if t.name == c.source)[c.start:c.end] for c in codings
    ]
    assert texts["interview_A.txt"][got_c[2].start:got_c[2].end] == "👍"


def test_utf16_positions_are_converted_at_the_boundary(tmp_path):
    transcripts, cb, codings = _transcripts(), _codebook(), _codings()
    out = write_qdpx(tmp_path / "u.qdpx", transcripts, cb, codings, position_unit="utf16", created=WHEN)
    qde = _qde(out)
    _assert_valid(qde, "Project-mrt2019.xsd")
    sels = etree.fromstring(qde).findall(f".//{{{NS_PROJECT}}}PlainTextSelection")
    # the coding that starts right after 😊 is one UTF-16 unit later than in code points
    assert int(sels[0].get("startPosition")) == codings[0].start + 1
    # 👍 alone: two UTF-16 units
    assert int(sels[2].get("endPosition")) - int(sels[2].get("startPosition")) == 2

    for unit in ("utf16", "auto"):
        _, _, got = read_qdpx(out, position_unit=unit)
        assert sorted(map(_key, got)) == sorted(map(_key, codings)), unit
    with pytest.raises(InputError, match="does not fit|surrogate"):
        read_qdpx(out, position_unit="codepoint")  # wrong unit: spans drift or break
        raise AssertionError("reading UTF-16 positions as code points should not silently succeed")


def test_archive_is_reproducible(tmp_path):
    a = write_qdpx(tmp_path / "a.qdpx", _transcripts(), _codebook(), _codings(), created=WHEN).read_bytes()
    b = write_qdpx(tmp_path / "b.qdpx", _transcripts(), _codebook(), _codings(), created=WHEN).read_bytes()
    assert a == b


def test_inconsistent_project_is_refused(tmp_path):
    bad_code = [Coding("interview_A.txt", 0, 2, "missing", "tanaka")]
    with pytest.raises(InputError, match="'missing'"):
        write_qdpx(tmp_path / "x.qdpx", _transcripts(), _codebook(), bad_code)
    bad_span = [Coding("interview_B.txt", 5, 999, "price", "tanaka")]
    with pytest.raises(InputError, match="5..999"):
        write_qdpx(tmp_path / "x.qdpx", _transcripts(), _codebook(), bad_span)
    assert not (tmp_path / "x.qdpx").exists()


def test_crlf_text_warns(tmp_path):
    t = [Transcript(name="crlf.txt", text="一行目\r\n二行目")]
    with pytest.warns(UserWarning, match="carriage returns"):
        write_qdpx(tmp_path / "c.qdpx", t, Codebook(name="x"), [])
    got, _, _ = read_qdpx(tmp_path / "c.qdpx")
    assert got[0].text == "一行目\r\n二行目"  # stored and read without newline translation


# --------------------------------------------------------------------------- foreign project


QUALCODER_QDE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="interviews.qda" origin="QualCoder 3.6" creatingUserGUID="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" creationDateTime="2024-09-08T10:00:00Z" xmlns="urn:QDA-XML:project:1.0">
<Users>
<User guid="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" name="colin" />
<User guid="df241da2-bca0-4ad9-83c1-b89c98d83567" name="yuki" />
</Users>
<CodeBook>
<Codes>
<Code guid="2dfba8c9-59f5-4424-99d6-ea9bce18134b" name="感情" isCodable="false" >
<Description>カテゴリ</Description>
<Code guid="76414714-63c4-4a25-a47e-66fef80bd52e" name="喜び" isCodable="true" color="#F781F3" />
</Code>
<Code guid="08cbced0-d736-44c8-8fd6-eb4d29fe46c5" name="不満" isCodable="true" color="#FE2E2E" />
</Codes>
</CodeBook>
<Sources>
<TextSource richTextPath="internal://a3825924-8bf7-47c1-a51b-be9196147a56.txt" plainTextPath="internal://8e7fddfe-db36-48dc-b464-80c3a4decd90.txt" creatingUser="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" creationDateTime="2024-09-08T10:00:00Z" guid="631251cc-9fb4-4131-bea8-35947084c409" name="インタビュー1.txt">
<Description>一人目</Description>
<PlainTextSelection guid="95916796-d0a0-4b49-80b0-5a5c8b94ae13" startPosition="2" endPosition="7" name="嬉しいです" creatingUser="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" creationDateTime="2024-09-08T10:05:00Z">
<Coding guid="5c931701-6cd4-4a2b-a553-f1dde2eac46d" creatingUser="5c94bc9e-db8c-4f1d-9cd6-e900c7440860" >
<CodeRef targetGUID="76414714-63c4-4a25-a47e-66fef80bd52e" />
</Coding>
</PlainTextSelection>
<PlainTextSelection guid="d61907b2-d0d4-48dc-b8b7-5e4f7ae5faa6" startPosition="8" endPosition="13" name="でも高い😢" creatingUser="df241da2-bca0-4ad9-83c1-b89c98d83567" creationDateTime="2024-09-08T10:06:00Z">
<Description>価格への言及</Description>
<Coding guid="04ebec7d-eab4-43fc-8167-adb14f921143" creatingUser="df241da2-bca0-4ad9-83c1-b89c98d83567" >
<CodeRef targetGUID="08cbced0-d736-44c8-8fd6-eb4d29fe46c5" />
</Coding>
</PlainTextSelection>
</TextSource>
</Sources>
<Description>QualCoder project</Description>
</Project>
"""
QUALCODER_TEXT = "😊！嬉しいです。でも高い😢"


def _qualcoder_qdpx(path: Path, qde: str = QUALCODER_QDE, text: str = QUALCODER_TEXT) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("project.qde", qde.encode("utf-8-sig"))  # QualCoder writes utf-8-sig files
        zf.writestr("Sources/8e7fddfe-db36-48dc-b464-80c3a4decd90.txt", text.encode("utf-8-sig"))
    return path


def test_reads_a_qualcoder_style_export(tmp_path):
    qdpx = _qualcoder_qdpx(tmp_path / "qc.qdpx")
    _assert_valid(QUALCODER_QDE.encode("utf-8"), "Project-mrt2019.xsd")
    transcripts, cb, codings = read_qdpx(qdpx, validate=True)

    (t,) = transcripts
    assert (t.name, t.text) == ("インタビュー1.txt", QUALCODER_TEXT)  # BOM stripped, Sources/ found
    assert cb.name == "interviews.qda" and cb.description == "QualCoder project"
    by_name = cb.by_name()
    assert by_name["喜び"].parent == by_name["感情"].id == "2dfba8c9-59f5-4424-99d6-ea9bce18134b"
    assert by_name["不満"].color == "#FE2E2E"
    assert [(t.text[c.start:c.end], by_id_name(cb, c.code), c.coder, c.note) for c in codings] == [
        ("嬉しいです", "喜び", "colin", ""),  # two code points after 😊 (three UTF-16 units)
        ("でも高い😢", "不満", "yuki", "価格への言及"),  # ends right after an emoji
    ]


def by_id_name(cb: Codebook, code_id: str) -> str:
    return cb.by_id()[code_id].name


@pytest.mark.parametrize("origin, crlf_counts", [("ATLAS.ti Windows 23.2", 1), ("NVivo 14", 2)])
def test_crlf_sources_read_without_drift(tmp_path, origin, crlf_counts):
    stored = "一行目です😊\r\n二行目：ログインが遅い\r\n三行目"
    counted = stored if crlf_counts == 2 else stored.replace("\r\n", "\n")
    a, b = _span(counted, "ログインが遅い")
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="{origin}">
<Users><User guid="AD68FBE7-E1EE-4A82-A279-23CC698C89EB" name="Miho"/></Users>
<CodeBook><Codes><Code guid="AE6D04CE-D987-4FC8-AF97-D72CA6FFD08F" name="遅さ" isCodable="true"/></Codes></CodeBook>
<Sources><TextSource guid="142EB46D-612E-4593-A385-D0E5D04D1288" name="memo.txt"
 plainTextPath="internal://142EB46D-612E-4593-A385-D0E5D04D1288.txt">
<PlainTextSelection guid="95916796-D0A0-4B49-80B0-5A5C8B94AE13" name="ログインが遅い" startPosition="{a}" endPosition="{b}"
 creatingUser="AD68FBE7-E1EE-4A82-A279-23CC698C89EB">
<Coding guid="5C931701-6CD4-4A2B-A553-F1DDE2EAC46D"><CodeRef targetGUID="AE6D04CE-D987-4FC8-AF97-D72CA6FFD08F"/></Coding>
</PlainTextSelection></TextSource></Sources></Project>"""
    _assert_valid(qde.encode(), "Project-mrt2019.xsd")
    path = _zip(tmp_path / "x.qdpx", {"project.qde": qde.encode(),
                                       "sources/142EB46D-612E-4593-A385-D0E5D04D1288.txt": stored.encode()})
    (t,), _, (c,) = read_qdpx(path)
    assert t.text == counted
    assert (t.text[c.start:c.end], c.coder) == ("ログインが遅い", "Miho")


# --------------------------------------------------------------------------- broken files


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: (p.write_bytes(b"not a zip at all"), p)[1], "zip archive"),
        (lambda p: _zip(p, {"readme.txt": b"hi"}), "no project.qde"),
        (lambda p: _zip(p, {"project.qde": b"<Project name='x'><Users>"}), "not well-formed"),
        (lambda p: _zip(p, {"project.qde": b"<Project xmlns='urn:other' name='x'/>"}), "expected Project"),
        (lambda p: _qualcoder_qdpx(p, QUALCODER_QDE.replace('endPosition="13"', 'endPosition="40"')),
         "8..40 on line"),
        (lambda p: _qualcoder_qdpx(p, QUALCODER_QDE.replace('startPosition="2"', 'startPosition="three"')),
         "startPosition='three'"),
        (lambda p: _qualcoder_qdpx(p, QUALCODER_QDE.replace('<CodeRef targetGUID="08cbced0',
                                                            '<CodeRef targetGUID="18cbced0')),
         "18cbced0-d736-44c8-8fd6-eb4d29fe46c5"),
        (lambda p: _qualcoder_qdpx(p, QUALCODER_QDE.replace("internal://8e7fddfe", "internal://9e7fddfe")),
         "9e7fddfe-db36-48dc-b464-80c3a4decd90.txt"),
        (lambda p: _zip(p, {"project.qde": QUALCODER_QDE.encode(),
                            "sources/8e7fddfe-db36-48dc-b464-80c3a4decd90.txt": "嬉しい".encode("cp932")}),
         "not valid UTF-8"),
    ],
    ids=["not-zip", "no-qde", "bad-xml", "wrong-root", "out-of-range", "non-integer", "unknown-code",
         "missing-text", "not-utf8"],
)
def test_broken_project_gives_input_error_naming_the_problem(tmp_path, make, needle):
    path = make(tmp_path / "broken.qdpx")
    with pytest.raises(InputError) as err:
        read_qdpx(path)
    assert needle in str(err.value)


def test_validate_qde_lists_the_errors():
    bad = b'<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Users><User guid="not-a-guid"/></Users></Project>'
    with pytest.raises(InputError, match=r"line 1: .*guid"):
        validate_qde(bad)


def test_broken_codebook_file(tmp_path):
    p = tmp_path / "bad.qdc"
    p.write_text("<CodeBook xmlns='urn:QDA-XML:codebook:1.0'><Codes><Code name='x' isCodable='true'/></Codes></CodeBook>")
    with pytest.raises(InputError, match="guid or name"):
        read_qdc(p)
    with pytest.raises(InputError, match="no such|cannot read"):
        read_qdc(tmp_path / "missing.qdc")
