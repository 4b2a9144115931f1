"""Interview data: transcripts and their turns, codebooks and codes, codings.

Offsets are code points into ``Transcript.text``, which is the file's own text for text formats
(TXT, Markdown, WebVTT, SRT, CSV as read) and the extracted plain text for DOCX. Exchange
formats that count differently (REFI-QDA) convert at their boundary, never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("interviewer", "respondent", "unknown")


@dataclass
class Turn:
    """One speaker's turn: who, when, and where in the transcript text."""

    index: int
    speaker: str
    role: str  # interviewer | respondent | unknown
    start: int  # code-point offsets of the spoken text (labels and timestamps excluded)
    end: int
    time_start: float | None = None  # seconds, when the source has timestamps
    time_end: float | None = None


@dataclass
class Transcript:
    name: str  # file name, unique in a project
    text: str  # the text offsets point into
    turns: list[Turn] = field(default_factory=list)
    case: str = ""  # the respondent / case this interview belongs to
    path: str = ""
    format: str = ""  # txt, md, vtt, srt, docx, csv

    def turn_text(self, turn: Turn) -> str:
        return self.text[turn.start:turn.end]


@dataclass
class Code:
    id: str  # stable identifier (slug or REFI-QDA guid)
    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)
    parent: str | None = None  # id of the parent code
    color: str | None = None  # '#RRGGBB'
    rule: str | None = None  # KH Coder coding-rule condition for deductive coding


@dataclass
class Codebook:
    name: str
    codes: list[Code] = field(default_factory=list)
    description: str = ""

    def by_id(self) -> dict[str, Code]:
        return {c.id: c for c in self.codes}

    def by_name(self) -> dict[str, Code]:
        return {c.name: c for c in self.codes}


@dataclass
class Coding:
    """A code applied to a span of a transcript, with who or what applied it."""

    source: str  # Transcript.name
    start: int
    end: int
    code: str  # Code.id
    coder: str  # "voclens:rule", "voclens:similarity", "voclens:theme", or a person's name
    score: float | None = None
    note: str = ""
