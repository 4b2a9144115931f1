"""``voclens code``: transcripts in; codings, a REFI-QDA project, tables and a report out."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from voclens.interviews.agreement import agreement_table, read_codings_csv, unit_matrix
from voclens.interviews.codebook import load_codebook, save_codebook
from voclens.interviews.coding import SIMILARITY_THRESHOLD, CodingResult, code_transcripts, mask_in_place
from voclens.interviews.explore import cooccurrence, cross_table, network_svg
from voclens.interviews.model import Codebook, Coding, Transcript

MACHINE = ("voclens:rule", "voclens:similarity")


@dataclass
class CodingProject:
    transcripts: list[Transcript]
    codebook: Codebook
    result: CodingResult
    human: list[Coding] = field(default_factory=list)
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict = field(default_factory=dict)

    @property
    def codings(self) -> list[Coding]:
        return self.result.codings + self.human

    def matrix(self, coders=MACHINE) -> np.ndarray:
        return unit_matrix(self.result.units, self.codings, [c.id for c in self.codebook.codes], set(coders))


def code_project(
    paths, codebook: str | Path | Codebook, *, rules: str | Path | None = None, threshold: float = SIMILARITY_THRESHOLD,
    use_rules: bool = True, use_similarity: bool = True, inductive: bool = False, include_interviewer: bool = False,
    human: list[str | Path] = (), mask_pii: bool = True, interviewer_labels: list[str] | None = None,
) -> CodingProject:
    """Read transcripts, mask personal data in place, code them, and compare with human codings."""
    from voclens.interviews.readers import read_transcripts

    transcripts = read_transcripts(_transcript_files(paths, exclude=human), interviewer_labels=interviewer_labels)
    if mask_pii:
        for t in transcripts:
            t.text = mask_in_place(t.text)
    book = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    rule_text = _rule_file_text(rules) if rules else None
    result = code_transcripts(transcripts, book, rules=rule_text, use_rules=use_rules, use_similarity=use_similarity,
                              threshold=threshold, inductive=inductive, include_interviewer=include_interviewer)
    project = CodingProject(transcripts, book, result)
    for h in human:
        project.human += _read_human(h, transcripts, book)
    if project.human:
        ids, names = [c.id for c in book.codes], [c.name for c in book.codes]
        machine = unit_matrix(result.units, result.codings, ids, set(MACHINE))
        people = sorted({c.coder for c in project.human})
        coded_by = {p: {c.source for c in project.human if c.coder == p} for p in people}
        tables = []
        # compared only on the transcripts both coders coded: an uncoded interview is not "absent"
        for person in people:
            rows = result.units["source"].isin(coded_by[person]).to_numpy()
            mine = unit_matrix(result.units, project.human, ids, {person})
            tables.append(agreement_table(mine[rows], machine[rows], names).assign(coder_a=person, coder_b="voclens"))
        for i, p1 in enumerate(people):
            for p2 in people[i + 1:]:
                rows = result.units["source"].isin(coded_by[p1] & coded_by[p2]).to_numpy()
                m1, m2 = (unit_matrix(result.units, project.human, ids, {p}) for p in (p1, p2))
                tables.append(agreement_table(m1[rows], m2[rows], names).assign(coder_a=p1, coder_b=p2))
        project.agreement = pd.concat(tables, ignore_index=True)
    project.meta = {"threshold": threshold, "rules": bool(use_rules), "similarity": bool(use_similarity), "inductive": inductive,
                    "include_interviewer": include_interviewer, "mask_pii": mask_pii}
    return project


def _transcript_files(paths, exclude=()) -> list[Path]:
    """Files to read: folders expanded to their transcripts, minus the human codings given
    (a codings CSV often sits beside the transcripts it codes)."""
    from voclens.interviews.readers import FORMATS

    skip = {Path(p).resolve() for p in exclude}
    out: list[Path] = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        p = Path(p)
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FORMATS
                       and not f.name.startswith((".", "~$"))) if p.is_dir() else [p]
        out += [f for f in files if f.resolve() not in skip]
    return out


def _rule_file_text(path) -> str:
    """A KH Coder rule file as text: UTF-8 (BOM or not) or CP932, as KH Coder on Windows saves it."""
    from voclens.ingest.readers import decode_text

    text, _, _ = decode_text(Path(path).read_bytes(), Path(path))
    return text


def _read_human(path, transcripts, book) -> list[Coding]:
    if str(path).lower().endswith(".qdpx"):
        from voclens.interviews.refi import read_qdpx

        _, their_book, codings = read_qdpx(path)
        # their code ids -> ours, by name
        names = {c.id: c.name for c in their_book.codes}
        ours = book.by_name()
        return [Coding(c.source, c.start, c.end, ours[names[c.code]].id, c.coder) for c in codings
                if c.code in names and names[c.code] in ours]
    return read_codings_csv(path, transcripts, book)


def write_project(project: CodingProject, out: str | Path) -> dict:
    """All outputs in ``out``; returns the manifest."""
    from voclens.interviews.refi import write_qdpx
    from voclens.outputs import versions

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    book, units = project.codebook, project.result.units
    names = [c.name for c in book.codes]
    name_of = {c.id: c.name for c in book.codes}
    matrix = project.matrix()
    u = units.drop(columns=["norm"]).copy()
    for j, n in enumerate(names):
        u[n] = matrix[:, j]
    u.to_csv(out / "units.csv", index=False, encoding="utf-8-sig")
    text_of = {t.name: t.text for t in project.transcripts}
    pd.DataFrame([{"source": c.source, "start": c.start, "end": c.end, "code": c.code, "code_name": name_of.get(c.code, c.code),
                   "coder": c.coder, "score": c.score, "text": text_of[c.source][c.start:c.end]} for c in project.codings]
                 ).to_csv(out / "codings.csv", index=False, encoding="utf-8-sig")
    save_codebook(book, out / "codebook.yaml")
    save_codebook(book, out / "codebook.qdc")
    users = sorted({c.coder for c in project.codings})
    write_qdpx(out / "project.qdpx", project.transcripts, book, [c for c in project.codings if c.code in name_of], users=users)
    cooc = cooccurrence(matrix, names)
    cooc.to_csv(out / "cooccurrence.csv", index=False, encoding="utf-8-sig")
    counts = dict(zip(names, matrix.sum(axis=0).tolist()))
    svg = network_svg(cooc, counts, {c.name: c.color for c in book.codes})
    (out / "network.svg").write_text(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1), encoding="utf-8")
    by_case = cross_table(units, matrix, names, "case")
    by_case.to_csv(out / "code_by_case.csv", encoding="utf-8-sig")
    cross_table(units, matrix, names, "speaker").to_csv(out / "code_by_speaker.csv", encoding="utf-8-sig")
    written = ["units.csv", "codings.csv", "codebook.yaml", "codebook.qdc", "project.qdpx", "cooccurrence.csv", "network.svg",
               "code_by_case.csv", "code_by_speaker.csv"]
    if len(project.result.suggestions):
        project.result.suggestions.to_csv(out / "suggested_codes.csv", index=False, encoding="utf-8-sig")
        written.append("suggested_codes.csv")
    if len(project.agreement):
        project.agreement.to_csv(out / "agreement.csv", index=False, encoding="utf-8-sig")
        written.append("agreement.csv")
    (out / "report.html").write_text(render_interview_report(project, matrix, cooc, svg, by_case), encoding="utf-8")
    written += ["report.html", "manifest.json"]
    manifest = {
        "tool": "voclens code", "created": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "codebook": book.name, "settings": project.meta, "versions": versions(),
        "counts": {"transcripts": len(project.transcripts), "turns": sum(len(t.turns) for t in project.transcripts),
                   "units": len(units), "codings": {k: sum(c.coder == k for c in project.codings) for k in users}},
        "outputs": written,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return manifest


def render_interview_report(project: CodingProject, matrix, cooc, svg: str, by_case: pd.DataFrame, max_quotes: int = 4) -> str:
    """One self-contained page: codes with their quotes per respondent, co-occurrence, code x case."""
    css = resources.files("voclens.report").joinpath("style.css").read_text(encoding="utf-8")
    e = html.escape
    units, book = project.result.units, project.codebook
    counts = matrix.sum(axis=0)
    parts = [f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>voclens interview coding</title>'
             f"<style>{css}</style></head><body><main class=\"container\">",
             f'<header><p class="eyebrow">VOCLENS · INTERVIEW CODING</p><h1>インタビューのコーディング</h1>'
             f"<p>コードブック <b>{e(book.name)}</b> · トランスクリプト {len(project.transcripts)} 件 · 回答者 {units['case'].nunique()} 名 · "
             f"コーディング単位 {len(units)} 文</p><p class=\"note\">voclens による一次コーディング（ルール＝KH Coder 形式、類似度）です。"
             "研究者による確認を前提としています。project.qdpx を NVivo / ATLAS.ti / MAXQDA / QualCoder で開けます。</p></header>"]
    parts.append('<section class="card"><h2>コード一覧 <span class="en">Codes</span></h2><table><thead><tr><th>コード</th><th>説明</th>'
                 '<th class="num">単位数</th><th class="num">回答者数</th></tr></thead><tbody>')
    for j, c in enumerate(book.codes):
        n_cases = units.loc[matrix[:, j] == 1, "case"].nunique() if len(units) else 0
        parts.append(f'<tr><td><span class="chip" style="border-left:6px solid {e(c.color or "#999")}">{e(c.name)}</span></td>'
                     f"<td>{e(c.description)}</td><td class=\"num\">{int(counts[j])}</td><td class=\"num\">{n_cases}</td></tr>")
    parts.append("</tbody></table></section>")
    for j, c in enumerate(book.codes):
        rows = units[matrix[:, j] == 1]
        if rows.empty:
            continue
        parts.append(f'<section class="card"><h3>{e(c.name)} <span class="en">{int(counts[j])} 単位</span></h3>')
        for case, g in rows.groupby("case"):
            quotes = "".join(f"<li>{e(t)}</li>" for t in g["text"].head(max_quotes))
            more = f'<li class="note">ほか {len(g) - max_quotes} 件</li>' if len(g) > max_quotes else ""
            parts.append(f"<h4>{e(str(case))}</h4><ul class=\"quotes\">{quotes}{more}</ul>")
        parts.append("</section>")
    if svg:
        parts.append(f'<section class="card"><h2>コードの共起 <span class="en">Co-occurrence</span></h2>{svg}'
                     f"{_table(cooc.head(20))}</section>")
    parts.append(f'<section class="card"><h2>コード × 回答者 <span class="en">Code by case</span></h2>{_table(by_case.reset_index())}</section>')
    if len(project.result.suggestions):
        s = project.result.suggestions[["name", "keywords", "size", "already_coded_share"]]
        parts.append(f'<section class="card"><h2>新しいコードの候補 <span class="en">Suggested codes (themes)</span></h2>'
                     f'<p class="note">既存のコードで拾いきれていない話題。already_coded_share が低いほど新しい。</p>{_table(s)}</section>')
    if len(project.agreement):
        parts.append(f'<section class="card"><h2>一致度 <span class="en">Agreement</span></h2>{_table(project.agreement)}</section>')
    parts.append("</main></body></html>")
    return "".join(parts)


def _table(df: pd.DataFrame) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    return f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
