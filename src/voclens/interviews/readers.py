"""Read interview transcripts (TXT, Markdown, WebVTT, SRT, DOCX, CSV/TSV) into :class:`Transcript`.

``read_transcript(path)`` reads one file, ``read_transcripts(folder_or_paths)`` many. Every turn's
``start``/``end`` are code-point offsets into ``Transcript.text`` covering the spoken text only,
so ``transcript.text[turn.start:turn.end]`` is exactly the utterance: the speaker label, its
colon, a timestamp, Markdown decoration and the whitespace around them are outside the span.

What ``Transcript.text`` is, per format:

* TXT, Markdown, WebVTT, SRT: the decoded file. The encoding is detected as for feedback files
  (UTF-8, UTF-8 with BOM, CP932, UTF-16, EUC-JP); a BOM is dropped; **CRLF and lone CR are
  normalised to LF**. Nothing else is changed (no NFKC), so offsets are stable and match what the
  researcher sees. Bytes that cannot be decoded become U+FFFD (one code point each).
* DOCX: the plain text of ``word/document.xml``: **paragraphs joined with "\\n"**, a soft line
  break (``w:br``) as "\\n", a tab as "\\t", a table row as one line with its cells joined by "\\t"
  (so a two-column "speaker | utterance" table reads as labelled lines; a table's first row ends
  the turn before it unless it is labelled, so a "話者 | 発言" header joins no turn). Deleted
  revisions, field codes and text boxes are left out.
* CSV/TSV: **the row texts (surrounding whitespace stripped) joined with "\\n"**, rows without
  text left out; one turn per row.

Speaker labels (TXT, Markdown, DOCX; also the first line of a VTT/SRT cue and, without a speaker
column, a CSV text cell): a line starting with ``label：`` or ``label:`` where the label is at
most 20 characters (``resources/interviews/speakers.toml``), optionally preceded by a list
bullet or quote (``- Q:``, ``・A：``, ``> Q:``), written in bold (``**Q**:``, ``**Q:**``) or in brackets
(``【山田】：``), and with a timestamp before or after it (``[00:01:23] 山田：``,
``山田（00:01:23）：``). A line holding only a name and a timestamp (``山田 00:01:23``, as
transcription services export) is also a label; the utterance starts on the next line. A label
must contain a letter, no sentence punctuation, must not end like a sentence (``理由は：``), and
must not be a record header (``日時：``, ``場所：``) or a URL (see speakers.toml). A turn runs until
the next label; blank lines inside it are kept in its span, trailing blank lines are not.
A Markdown heading (``# …``), a rule (``---``, ``===``) or a line with only a timestamp ends the
current turn and is no turn's text; lines before the first label (a title, a header block,
Markdown front matter) are not turns either. A file with no label at all is not an error: every
paragraph (block of lines between blank lines; every line when the file has no blank line; every
``w:p`` for DOCX) becomes one turn with role ``unknown``.

WebVTT/SRT: one turn per cue (a cue's text may span lines), ``time_start``/``time_end`` in seconds
from its timing line; the speaker comes from a ``<v 山田>`` voice tag (a cue with several voice
tags gives one turn per voice, with the cue's times) or a leading ``山田：`` / ``Speaker 1:``;
without either the turn is ``unknown``. Cue identifiers, the WEBVTT header, NOTE/STYLE/REGION
blocks and timing lines are not turn text; text after a blank line inside a cue (an SRT slip)
stays with that cue. Inline tags other than ``<v>``/``</v>`` (``<i>``,
``<c.x>``) stay inside the span, since a span is one contiguous slice of the file.

Roles: ``interviewer`` when the label is an interviewer label (Q, インタビュアー, 聞き手, 司会,
Interviewer, I, モデレーター … and ``interviewer_labels``), ``respondent`` for any other label,
``unknown`` without a label; a bracketed note counts by either part (``インタビュアー（山田）``,
``山田（聞き手）`` are the interviewer). ``case`` is, in order: the ``case=`` argument; a CSV case
column; the respondent's label when the transcript has exactly one respondent speaker and that
label is a name (山田, Aさん) rather than a generic role (A, 回答者, Speaker 2: these would merge
every file into one case "A"); otherwise the file stem. A CSV whose case column holds several
cases is several interviews: ``read_transcripts`` returns one transcript per case (named
``file.csv#case``; a case written only on an interview's first row carries down), and
``read_transcript`` refuses it.
Timestamps in TXT give ``time_start`` only (``time_end`` stays None: the text does not say when a
turn ends).
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from voclens.errors import InputError
from voclens.ingest.readers import UNDECODABLE, decode_text
from voclens.interviews.model import Transcript, Turn

FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".vtt": "vtt",
    ".srt": "srt",
    ".docx": "docx",
    ".csv": "csv",
    ".tsv": "csv",  # same reader, tab-separated; Transcript.format is "csv"
}
SUPPORTED = ", ".join(FORMATS)
_HINTS = {
    ".doc": "Open it in Word and save it as .docx (Word Document).",
    ".rtf": "Open it in Word and save it as .docx, or save it as plain text (.txt).",
    ".pdf": "Export the transcript as .docx or .txt from the tool that made the PDF.",
    ".xlsx": "Save the sheet as CSV UTF-8 (.csv) with speaker and 発言 columns.",
    ".xls": "Save the sheet as CSV UTF-8 (.csv) with speaker and 発言 columns.",
    ".pages": "Export it from Pages as Word (.docx).",
    ".odt": "Save it as Word (.docx).",
    ".json": "Export the transcript as .vtt, .srt or .csv instead.",
}
MAX_DOCX_XML_BYTES = 200 * 1024 * 1024  # a larger document.xml is a zip bomb, not an interview

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_HS = r"[^\S\n]"  # horizontal whitespace, full-width space included


# -- rules from speakers.toml ------------------------------------------------------------------
def _key(name: str) -> str:
    """Fold width, case and separators: 'Ｉｎｔｅｒｖｉｅｗｅｒ' -> 'interviewer'."""
    s = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s_\-.・･]+", "", s)


def _strip_digits(key: str) -> str:
    return re.sub(r"\d+$", "", key)


@dataclass(frozen=True)
class _Rules:
    max_chars: int
    interviewer: frozenset[str]
    generic: frozenset[str]
    not_speakers: frozenset[str]
    endings: tuple[str, ...]
    bad_chars: frozenset[str]
    honorifics: tuple[str, ...]
    columns: dict[str, list[str]]
    colon_label: re.Pattern[str]
    colon_or_tab_label: re.Pattern[str]
    line_label: re.Pattern[str]
    ts_only: re.Pattern[str]
    clock: re.Pattern[str]


def _load_toml() -> dict[str, Any]:
    try:
        raw = (resources.files("voclens") / "resources" / "interviews" / "speakers.toml").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, NotADirectoryError):
        raw = (Path(__file__).resolve().parent.parent / "resources" / "interviews" / "speakers.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


@lru_cache(maxsize=1)
def rules() -> _Rules:
    """The compiled speaker-label rules of ``resources/interviews/speakers.toml``."""
    data = _load_toml()
    lab = data["labels"]
    ts = lab["timestamp"]
    seps = "".join(re.escape(s) for s in lab["separators"])
    prefix = lab["prefix"]
    bound = int(lab["max_chars"]) + 20  # room for brackets and spaces; checked after cleaning

    def tsb(name: str) -> str:  # a timestamp, optionally in brackets
        return rf"[\[(（【]?(?P<{name}>{ts})[\])）】]?"

    def colon(sep: str) -> re.Pattern[str]:
        return re.compile(
            rf"^{_HS}*(?:{prefix})?"
            rf"(?:{tsb('t1')}{_HS}*)?"
            rf"(?:\*\*)?"
            rf"(?P<label>[^:：*\t\n]{{1,{bound}}}?)"
            rf"(?:{_HS}*{tsb('t2')})?"
            rf"{_HS}*(?:\*\*)?{_HS}*(?P<sep>{sep})(?:\*\*)?"
        )

    return _Rules(
        max_chars=int(lab["max_chars"]),
        interviewer=frozenset(_key(x) for x in lab["interviewer"]),
        generic=frozenset(_key(x) for x in lab["respondent"]),
        not_speakers=frozenset(_key(x) for x in lab["not_speakers"]),
        endings=tuple(unicodedata.normalize("NFKC", x) for x in lab["not_label_endings"]),
        bad_chars=frozenset(lab["not_label_chars"]),
        honorifics=tuple(sorted(lab["honorifics"], key=len, reverse=True)),
        columns={k: list(v) for k, v in data["columns"].items()},
        colon_label=colon(f"[{seps}]"),
        colon_or_tab_label=colon(f"[{seps}]|\\t"),
        line_label=re.compile(
            rf"^{_HS}*(?:{prefix})?(?:{tsb('t1')}{_HS}+(?P<label>[^:：\t\n]{{1,{bound}}}?)"
            rf"|(?P<label2>[^:：\t\n]{{1,{bound}}}?){_HS}+{tsb('t2')}){_HS}*$"
        ),
        ts_only=re.compile(rf"^{_HS}*{tsb('t1')}{_HS}*$"),
        clock=re.compile(rf"^{ts}$"),
    )


class _Roles:
    """Decides interviewer / respondent / unknown for a speaker label."""

    def __init__(self, interviewer_labels: Iterable[str] | None):
        self.r = rules()
        self.user = frozenset(self._plain(_key(x)) for x in (interviewer_labels or []) if str(x).strip())

    def _plain(self, key: str) -> str:
        for h in self.r.honorifics:
            hk = _key(h)
            if key.endswith(hk) and len(key) > len(hk):
                return key[: -len(hk)]
        return key

    @staticmethod
    def _parts(speaker: str) -> list[str]:
        """The label's key, and for 'インタビュアー（山田）' also 'インタビュアー' and '山田'."""
        k = _key(speaker)
        m = re.fullmatch(r"(.+?)[(\[](.+)[)\]]", k)
        return [k, m[1], m[2]] if m else [k]

    def role(self, speaker: str) -> str:
        if not speaker:
            return "unknown"
        for k in self._parts(speaker):
            if k in self.user or self._plain(k) in self.user:
                return "interviewer"
            if k in self.r.interviewer or _strip_digits(k) in self.r.interviewer:
                return "interviewer"
        return "respondent"

    def is_generic(self, speaker: str) -> bool:
        """A role label (A, 回答者, Speaker 2, A（30代女性）) rather than a person's name."""
        parts = self._parts(speaker)
        k = parts[1] if len(parts) > 1 else parts[0]
        return k in self.r.generic or _strip_digits(k) in self.r.generic


# -- labels ------------------------------------------------------------------------------------
_BRACKETS = {"【": "】", "[": "]", "［": "］", "「": "」", "<": ">", "＜": "＞", "(": ")", "（": "）"}


def _clean_label(raw: str) -> str:
    s = raw.strip()
    if len(s) >= 2 and _BRACKETS.get(s[0]) == s[-1]:
        s = s[1:-1].strip()
    return s


def _valid_label(label: str) -> bool:
    r = rules()
    if not label or len(label) > r.max_chars:
        return False
    if not any(unicodedata.category(ch).startswith("L") for ch in label):
        return False  # "10:30", "--", "**"
    if any(ch in r.bad_chars for ch in label):
        return False
    k = _key(label)
    if k in r.not_speakers:
        return False
    return not unicodedata.normalize("NFKC", label).endswith(r.endings)


def clock_seconds(value: str) -> float | None:
    """'01:02:03.5' / '1:23' / '83' / '83.5' -> seconds; anything else -> None."""
    s = unicodedata.normalize("NFKC", str(value)).strip().strip("[]()【】")
    if not s:
        return None
    if re.fullmatch(r"\d+(?:[.,]\d+)?", s):
        return float(s.replace(",", "."))
    if not rules().clock.match(s):
        return None
    parts = s.replace(",", ".").split(":")
    seconds = 0.0
    for p in parts:
        seconds = seconds * 60 + float(p)
    return seconds


@dataclass
class _Label:
    speaker: str
    content: int  # offset in the line where the utterance may start
    time: float | None
    own_line: bool = False  # name + timestamp alone on a line: the utterance starts below


def match_label(line: str, *, allow_tab: bool = False, own_line: bool = True) -> _Label | None:
    """The speaker label at the start of ``line``, or None (see the module docstring)."""
    r = rules()
    if own_line:  # first, so that the clock in "山田 00:01:23" is not read as "山田 00" + ":"
        m = r.line_label.match(line)
        if m:
            label = _clean_label(m["label"] or m["label2"])
            if _valid_label(label):
                return _Label(label, len(line), clock_seconds(m["t1"] or m["t2"]), own_line=True)
    m = (r.colon_or_tab_label if allow_tab else r.colon_label).match(line)
    if m:
        label = _clean_label(m["label"])
        rest = line[m.end():]
        if m["sep"] != "\t":
            if rest.startswith("//"):  # a URL: https://...
                return None
            if label[-1:].isdigit() and rest[:1].isdigit() and m["sep"] == ":":
                return None  # a clock: "話者1 00:00:03 はい", "10:30"
        if _valid_label(label):
            t = m["t1"] or m["t2"]
            return _Label(label, m.end(), clock_seconds(t) if t else None)
    return None


# -- speaker-labelled text (TXT, Markdown, DOCX) -----------------------------------------------
_HEADING = re.compile(rf"^{_HS}{{0,3}}#{{1,6}}(?:{_HS}|$)")
_RULE = re.compile(rf"^{_HS}*([-=*_＝ー─━])(?:{_HS}*\1){{2,}}{_HS}*$")


@dataclass
class _Seg:
    speaker: str
    start: int
    end: int
    time_start: float | None = None
    time_end: float | None = None


@dataclass
class _Open:
    speaker: str
    anchor: int  # where an empty turn sits (just after its label)
    time: float | None
    first: int | None = None
    last: int | None = None


def _lines(text: str) -> list[tuple[int, str]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def _front_matter_end(lines: list[tuple[int, str]]) -> int:
    """Index of the first line after Markdown front matter (0 when there is none)."""
    if lines and lines[0][1].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i][1].strip() in ("---", "..."):
                return i + 1
    return 0


def _structural(line: str) -> bool:
    return bool(_HEADING.match(line) or _RULE.match(line))


def parse_labelled(
    text: str, *, fmt: str = "txt", allow_tab: bool = False, breaks: frozenset[int] = frozenset()
) -> list[_Seg]:
    """Turns of speaker-labelled text; [] when no line carries a label.

    ``breaks``: numbers of lines that end the current turn unless they carry a label (a DOCX
    table's header row).
    """
    r = rules()
    lines = _lines(text)
    begin = _front_matter_end(lines) if fmt == "md" else 0
    segs: list[_Seg] = []
    cur: _Open | None = None
    pending_time: float | None = None

    def close() -> None:
        nonlocal cur
        if cur is not None:
            if cur.first is None:
                segs.append(_Seg(cur.speaker, cur.anchor, cur.anchor, cur.time))
            else:
                segs.append(_Seg(cur.speaker, cur.first, cur.last, cur.time))
        cur = None

    def add_content(pos: int, line: str, offset: int) -> None:
        body = line[offset:]
        if cur is None or not body.strip():
            return
        if cur.first is None:
            cur.first = pos + offset + (len(body) - len(body.lstrip()))
        cur.last = pos + len(line.rstrip())

    for lineno, (pos, line) in enumerate(lines[begin:], begin):
        if _structural(line):  # "# インタビュー記録：ジム" is a heading, not the speaker "# インタビュー記録"
            close()
            continue
        lab = match_label(line, allow_tab=allow_tab)
        if lab is not None:
            close()
            time = lab.time if lab.time is not None else pending_time
            pending_time = None
            anchor = pos + (len(line) if lab.own_line else lab.content)
            cur = _Open(lab.speaker, anchor, time)
            if not lab.own_line:
                add_content(pos, line, lab.content)
            continue
        if lineno in breaks:
            close()
            continue
        m = r.ts_only.match(line)
        if m:
            close()
            pending_time = clock_seconds(m["t1"])
            continue
        add_content(pos, line, 0)
    close()
    return segs


def _paragraph_segs(text: str, *, fmt: str) -> list[_Seg]:
    """No labels anywhere: one unknown turn per paragraph (blank-line blocks; lines if no blank)."""
    lines = _lines(text)
    begin = _front_matter_end(lines) if fmt == "md" else 0
    filled = [i for i, (_, ln) in enumerate(lines) if i >= begin and ln.strip()]
    has_blank = bool(filled) and any(not lines[i][1].strip() for i in range(filled[0], filled[-1]))
    segs: list[_Seg] = []
    block: list[tuple[int, str]] = []

    def flush() -> None:
        if block:
            first_pos, first = block[0]
            last_pos, last = block[-1]
            start = first_pos + len(first) - len(first.lstrip())
            segs.append(_Seg("", start, last_pos + len(last.rstrip())))
            block.clear()

    for pos, line in lines[begin:]:
        if not line.strip() or _structural(line):
            flush()
            continue
        block.append((pos, line))
        if not has_blank:
            flush()
    flush()
    return segs


# -- WebVTT / SRT ------------------------------------------------------------------------------
_TIMING = re.compile(
    r"^[^\S\n]*(?P<s>(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)[^\S\n]+-->[^\S\n]+"
    r"(?P<e>(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?)"
)
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?(?:[^\S\n]+(?P<name>[^>]*))?>")
_VOICE_END = re.compile(r"</v>")
_TAG = re.compile(r"<[^>]*>")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def parse_cues(text: str) -> list[_Seg]:
    """One turn per cue (one per voice when a cue has several ``<v>`` tags)."""
    lines = _lines(text)
    blocks: list[list[tuple[int, str]]] = []
    block: list[tuple[int, str]] = []
    for pos, line in lines:
        if line.strip():
            block.append((pos, line))
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)

    segs: list[_Seg] = []
    after_cue = False
    for block in blocks:
        head = block[0][1].lstrip()
        if head.startswith(("WEBVTT", "NOTE", "STYLE", "REGION")) and not _TIMING.match(head):
            after_cue = False
            continue
        idx = next((i for i, (_, ln) in enumerate(block) if _TIMING.match(ln)), None)
        if idx is None:
            # text after a blank line inside a cue (a common SRT slip): it belongs to that cue
            if after_cue and segs and not (len(block) == 1 and head.strip().isdigit()):
                last_pos, last = block[-1]
                segs[-1].end = last_pos + len(last.rstrip())
                if segs[-1].start == segs[-1].end:
                    segs[-1].start = block[0][0] + len(block[0][1]) - len(head)
            continue
        if idx == len(block) - 1:
            after_cue = False
            continue  # a cue without text
        after_cue = True
        m = _TIMING.match(block[idx][1])
        t0, t1 = clock_seconds(m["s"]), clock_seconds(m["e"])
        start = block[idx + 1][0]
        last_pos, last = block[-1]
        end = last_pos + len(last)
        segs.extend(_cue_segs(text, start, end, t0, t1))
    return segs


def _cue_segs(text: str, start: int, end: int, t0: float | None, t1: float | None) -> list[_Seg]:
    payload = text[start:end]
    voices = list(_VOICE.finditer(payload))
    out: list[_Seg] = []
    if voices:
        before = payload[: voices[0].start()]
        if _TAG.sub("", before).strip():
            s, e = _trim(text, start, start + voices[0].start())
            out.append(_Seg("", s, e, t0, t1))
        for i, v in enumerate(voices):
            seg_end = voices[i + 1].start() if i + 1 < len(voices) else len(payload)
            closing = _VOICE_END.search(payload, v.end(), seg_end)
            if closing:
                seg_end = closing.start()
            s, e = _trim(text, start + v.end(), start + seg_end)
            out.append(_Seg((v["name"] or "").strip(), s, e, t0, t1))
        return out
    first_line = payload.split("\n", 1)[0]
    lab = match_label(first_line, own_line=False)
    if lab is not None:
        s, e = _trim(text, start + lab.content, end)
        return [_Seg(lab.speaker, s, e, t0, t1)]
    s, e = _trim(text, start, end)
    return [_Seg("", s, e, t0, t1)]


# -- DOCX --------------------------------------------------------------------------------------
def _run_text(el: ET.Element, out: list[str]) -> None:
    """Text of a paragraph's descendants in order, skipping deletions, field codes, text boxes."""
    for child in el:
        tag = child.tag
        if tag == _W + "t":
            out.append(child.text or "")
        elif tag == _W + "tab":
            out.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            out.append("\n")
        elif tag == _W + "noBreakHyphen":
            out.append("-")
        elif tag in (_W + "del", _W + "txbxContent", _W + "instrText", _W + "delText", _MC_FALLBACK, _W + "pPr", _W + "rPr"):
            continue
        else:
            _run_text(child, out)


def _paragraph_text(p: ET.Element) -> str:
    out: list[str] = []
    _run_text(p, out)
    return "".join(out)


def _docx_blocks(container: ET.Element, out: list[str], heads: list[int]) -> None:
    for el in container:
        if el.tag == _W + "p":
            out.append(_paragraph_text(el))
        elif el.tag == _W + "tbl":
            for i, tr in enumerate(el.iter(_W + "tr")):
                cells = []
                for tc in tr.findall(_W + "tc"):
                    cells.append("\n".join(_paragraph_text(p) for p in tc.iter(_W + "p")).strip())
                if i == 0:
                    heads.append(len(out))
                out.append("\t".join(cells))
        elif el.tag in (_W + "sdt", _W + "sdtContent", _W + "customXml"):
            _docx_blocks(el, out, heads)


def docx_paragraphs(path: Path) -> tuple[list[str], list[int]]:
    """Block-level paragraphs of ``word/document.xml`` (a table row is one, cells joined by tab),
    and the positions of each table's first row among them."""
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                info = zf.getinfo("word/document.xml")
            except KeyError:
                raise InputError(
                    f"{path}: not a Word document (no word/document.xml inside). Open it in Word and "
                    "save it again as .docx (Word Document)."
                ) from None
            if info.file_size > MAX_DOCX_XML_BYTES:
                raise InputError(
                    f"{path}: word/document.xml is {info.file_size // 2**20} MB, too large for an interview. "
                    "Save the transcript as plain text (.txt) and read that instead."
                )
            xml = zf.read(info)
    except zipfile.BadZipFile:
        raise InputError(
            f"{path}: not a valid .docx (not a zip archive; an old .doc renamed, or a truncated file). "
            "Open it in Word and save it as .docx (Word Document)."
        ) from None
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise InputError(f"{path}: word/document.xml is broken ({exc}). Open the file in Word and save it again.") from None
    body = root.find(_W + "body")
    out: list[str] = []
    heads: list[int] = []
    if body is not None:
        _docx_blocks(body, out, heads)
    return [p.replace("\r\n", "\n").replace("\r", "\n") for p in out], heads


# -- CSV / TSV ---------------------------------------------------------------------------------
def _find_column(header: list[str], names: list[str]) -> int | None:
    keys = [_key(h.replace("\ufeff", "")).strip("\"'") for h in header]
    for name in names:
        k = _key(name)
        if k in keys:
            return keys.index(k)
    return None


@dataclass
class _Row:
    text: str
    speaker: str
    time_start: float | None
    time_end: float | None
    case: str
    label_cut: int = 0  # characters of an inline label at the start of ``text``


def _csv_rows(text: str, path: Path, sep: str) -> tuple[list[_Row], bool]:
    """Rows with text, and whether the file has a case column."""
    r = rules()
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    while records and not any(c.strip() for c in records[0]):
        records.pop(0)
    if not records:
        raise InputError(f"{path}: the file is empty. Check that you exported the right file.")
    header, body = records[0], records[1:]
    col = {role: _find_column(header, names) for role, names in r.columns.items()}
    if col.get("text") is None:
        found = ", ".join(h.strip() for h in header if h.strip()) or "(none)"
        raise InputError(
            f"{path}: no text column. Columns found: {found}. Name the utterance column "
            f"one of: {', '.join(r.columns['text'][:8])} (e.g. 発言), and the speaker column speaker or 話者."
        )

    def cell(row: list[str], role: str) -> str:
        i = col.get(role)
        return row[i].strip() if i is not None and i < len(row) else ""

    rows: list[_Row] = []
    for rec in body:
        t = cell(rec, "text")
        if not t:
            continue
        speaker, cut = cell(rec, "speaker"), 0
        if col.get("speaker") is None:
            lab = match_label(t.split("\n", 1)[0], own_line=False)
            if lab is not None:
                speaker = lab.speaker
                rest = t[lab.content:]
                cut = lab.content + len(rest) - len(rest.lstrip())
        t0, t1 = clock_seconds(cell(rec, "time")), clock_seconds(cell(rec, "time_end"))
        rows.append(_Row(t, speaker, t0, t1, cell(rec, "case"), cut))
    return rows, col.get("case") is not None


def _rows_transcript(rows: list[_Row], path: Path, name: str, roles: _Roles, case: str | None) -> Transcript:
    parts, turns, pos = [], [], 0
    for i, row in enumerate(rows):
        parts.append(row.text)
        turns.append(
            Turn(i, row.speaker, roles.role(row.speaker), pos + row.label_cut, pos + len(row.text), row.time_start, row.time_end)
        )
        pos += len(row.text) + 1
    tr = Transcript(name=name, text="\n".join(parts), turns=turns, path=str(path), format="csv")
    tr.case = case or _default_case(tr, path, roles)
    return tr


def _csv_by_case(path: Path, text: str, roles: _Roles) -> list[tuple[str, list[_Row]]]:
    rows, has_case = _csv_rows(text, path, "\t" if path.suffix.lower() == ".tsv" else _sniff_sep(text))
    if not has_case:
        return [("", rows)]
    first = next((row.case for row in rows if row.case), "")
    groups: dict[str, list[_Row]] = {}
    current = first
    for row in rows:  # a case written only on the first row of each interview carries down
        current = row.case or current
        groups.setdefault(current, []).append(row)
    return list(groups.items())


def _sniff_sep(text: str) -> str:
    header = text.split("\n", 1)[0]
    if "\t" in header and "," not in header:
        return "\t"
    return ","


# -- shared ------------------------------------------------------------------------------------
def _default_case(tr: Transcript, path: Path, roles: _Roles) -> str:
    respondents = list(dict.fromkeys(t.speaker for t in tr.turns if t.role == "respondent"))
    if len(respondents) == 1 and not roles.is_generic(respondents[0]):
        return respondents[0]
    return path.stem


def _decode(path: Path) -> str:
    data = path.read_bytes()
    text, _encoding, _bad = decode_text(data, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace(UNDECODABLE, "\ufffd")


def _check_path(path: Path) -> str:
    if path.is_dir():
        raise InputError(f"{path} is a folder. Use read_transcripts({str(path)!r}) to read every transcript in it.")
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        hint = _HINTS.get(suffix, "Save the transcript in one of these formats (plain text .txt is always fine).")
        raise InputError(f"{path}: unsupported transcript type '{suffix or '(no extension)'}'. Supported: {SUPPORTED}. {hint}")
    if not path.exists():
        raise InputError(f"{path}: file not found. Check the path (relative paths start from {Path.cwd()}).")
    return fmt


def _empty(path: Path) -> InputError:
    return InputError(f"{path}: the transcript is empty (no text). Check that you exported or saved the right file.")


def _segs_transcript(path: Path, fmt: str, text: str, segs: list[_Seg], roles: _Roles, case: str | None) -> Transcript:
    turns = [
        Turn(i, s.speaker, roles.role(s.speaker), s.start, s.end, s.time_start, s.time_end) for i, s in enumerate(segs)
    ]
    tr = Transcript(name=path.name, text=text, turns=turns, path=str(path), format=fmt)
    tr.case = case or _default_case(tr, path, roles)
    return tr


def _read(path: Path, roles: _Roles, case: str | None, *, split_cases: bool) -> list[Transcript]:
    fmt = _check_path(path)
    try:
        if fmt == "csv":
            text = _decode(path)
            if not text.strip():
                raise _empty(path)
            groups = _csv_by_case(path, text, roles)
            if len(groups) > 1 and not split_cases:
                raise InputError(
                    f"{path}: holds {len(groups)} interviews (case column values: "
                    f"{', '.join(g for g, _ in groups[:5])}{', …' if len(groups) > 5 else ''}). Use read_transcripts() "
                    "to get one transcript per case, or split the file into one file per interview."
                )
            if len(groups) == 1:
                g, rows = groups[0]
                return [_rows_transcript(rows, path, path.name, roles, case or g or None)]
            return [_rows_transcript(rows, path, f"{path.name}#{g}", roles, case or g) for g, rows in groups]
        if fmt == "docx":
            paragraphs, heads = docx_paragraphs(path)
            text = "\n".join(paragraphs)
            if not text.strip():
                raise _empty(path)
            # line number of each paragraph (a soft break makes a paragraph span several lines)
            first_line = [0]
            for p in paragraphs:
                first_line.append(first_line[-1] + p.count("\n") + 1)
            breaks = frozenset(first_line[i] for i in heads)
            segs = parse_labelled(text, fmt=fmt, allow_tab=True, breaks=breaks)
            if not segs:
                segs, pos = [], 0
                for p in paragraphs:
                    s, e = _trim(text, pos, pos + len(p))
                    if e > s:
                        segs.append(_Seg("", s, e))
                    pos += len(p) + 1
            return [_segs_transcript(path, fmt, text, segs, roles, case)]
        text = _decode(path)
        if not text.strip():
            raise _empty(path)
        if fmt in ("vtt", "srt"):
            segs = parse_cues(text)
            if not segs:
                raise InputError(
                    f"{path}: no cues found (no 'start --> end' timing line followed by text). Check that the "
                    f"file is a {fmt.upper()} subtitle file; a plain transcript should be saved as .txt."
                )
        else:
            segs = parse_labelled(text, fmt=fmt) or _paragraph_segs(text, fmt=fmt)
        return [_segs_transcript(path, fmt, text, segs, roles, case)]
    except InputError:
        raise
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be read ({exc.strerror or exc}). Check the file's permissions and that it is not open elsewhere."
        ) from exc


# -- API ---------------------------------------------------------------------------------------
def read_transcript(
    path: str | Path, *, interviewer_labels: list[str] | None = None, case: str | None = None
) -> Transcript:
    """Read one transcript file (.txt, .md, .vtt, .srt, .docx, .csv, .tsv); see the module docstring.

    ``interviewer_labels`` adds names whose turns are the interviewer's (e.g. ``["山田"]``, which
    also matches 山田さん). ``case`` sets the case instead of deriving it. Raises
    :class:`~voclens.errors.InputError` for a missing, empty, unreadable or unsupported file, and
    for a CSV holding several cases (use :func:`read_transcripts`).

    Transcript.text has CRLF/CR normalised to LF and no BOM; offsets are code points into it.
    """
    return _read(Path(path), _Roles(interviewer_labels), case, split_cases=False)[0]


def read_transcripts(
    paths_or_folder: str | Path | Iterable[str | Path], *, interviewer_labels: list[str] | None = None
) -> list[Transcript]:
    """Read many transcripts: a folder (every supported file directly inside it, sorted by name;
    other files, hidden files and Word lock files ``~$…`` are skipped), one file, or a list of
    files and folders. A CSV with a case column holding several cases gives one transcript per
    case, named ``file.csv#case``. Transcript names must be unique: two files with the same name
    in different folders raise :class:`~voclens.errors.InputError`.
    """
    if isinstance(paths_or_folder, (str, Path)):
        items = [Path(paths_or_folder)]
    else:
        items = [Path(p) for p in paths_or_folder]
    files: list[Path] = []
    for item in items:
        if item.is_dir():
            inside = sorted(
                (p for p in item.iterdir() if p.is_file() and p.suffix.lower() in FORMATS and not p.name.startswith((".", "~$"))),
                key=lambda p: p.name,
            )
            if not inside:
                raise InputError(
                    f"{item}: no transcripts in this folder (looked for {SUPPORTED}). Put the transcript files "
                    "directly in the folder (subfolders are not read), or pass the files themselves."
                )
            files.extend(inside)
        else:
            files.append(item)
    if not files:
        raise InputError("No transcript files given. Pass a folder or a list of .txt/.md/.vtt/.srt/.docx/.csv files.")
    roles = _Roles(interviewer_labels)
    out: list[Transcript] = []
    seen: dict[str, Path] = {}
    for f in files:
        for tr in _read(f, roles, None, split_cases=True):
            if tr.name in seen:
                raise InputError(
                    f"{f}: a transcript named {tr.name} was already read from {seen[tr.name]}. Transcript names "
                    "must be unique in a project: rename one of the files."
                )
            seen[tr.name] = f
            out.append(tr)
    return out


__all__ = ["FORMATS", "read_transcript", "read_transcripts", "match_label", "clock_seconds", "rules"]
