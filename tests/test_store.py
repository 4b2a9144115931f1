"""History store: atomic period replacement, stable ids, edits that survive, trends, alerts, webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest

import voclens
from voclens.cli import main
from voclens.errors import DeliveryError
from voclens.ingest import load_corpus
from voclens.config import IngestSettings
from voclens.store import Store, infer_period, iso_week
from voclens.store.edits import merge_map, read_edits
from voclens.store.identity import absorbed, assign, keyword_overlap
from voclens.trends import changes, detect_spikes, send_webhook, slack_payload
from voclens.trends.weekly import rate_test


# -- pure parts -----------------------------------------------------------------------------------

def test_iso_weeks_and_period_inference():
    d = pd.Series(pd.to_datetime(["2026-11-16", "2026-11-22", None]))
    assert iso_week(d).tolist()[:2] == ["2026-W47", "2026-W47"] and iso_week(d).iat[2] is None
    assert infer_period(d) == "2026-W47"
    assert infer_period(pd.Series(pd.to_datetime(["2026-11-01", "2026-11-20"]))) == "2026-W44..2026-W47"


def test_assignment_is_one_to_one_above_threshold_and_records_absorption():
    scores = np.array([[0.9, 0.85, 0.1], [0.2, 0.3, 0.4]])
    pairs = assign(scores, threshold=0.5)
    assert pairs == {0: 0}
    assert absorbed(scores, pairs, threshold=0.8) == {1: 0}
    assert keyword_overlap(["配送", "遅延"], ["遅延", "梱包", "配送"]) == 1.0


def test_edits_file_and_merge_chains(tmp_path):
    f = tmp_path / "edits.toml"
    f.write_text('[[rename]]\ntheme = "T0003"\nlabel = "配送遅延"\n[[merge]]\nthemes = ["T0004", "T0009"]\ninto = "T0004"\n'
                 '[[merge]]\nthemes = ["T0004", "T0002"]\ninto = "T0002"\n', encoding="utf-8")
    edits = read_edits(f)
    assert [e["op"] for e in edits] == ["rename", "merge", "merge"]
    assert merge_map(edits) == {"T0009": "T0002", "T0004": "T0002"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[[split]]\ntheme = "T1"\ninto = 1\n', encoding="utf-8")
    with pytest.raises(voclens.ConfigError, match="integer >= 2"):
        read_edits(bad)


def _weekly(rows):
    return pd.DataFrame(rows, columns=["theme_uid", "week", "n_segments", "n_documents", "n_negative", "n_positive",
                                       "n_pain", "n_complaint", "total_segments", "label"])


def _history(spike: int) -> pd.DataFrame:
    rows = []
    for i, wk in enumerate([f"2026-W{w}" for w in range(38, 48)]):
        last = wk == "2026-W47"
        rows.append(("T0001", wk, 40 + spike * last, 30, 4 + spike * last, 20, 6, 3, 200 + spike * last, "配送遅延"))
        rows.append(("T0002", wk, 60, 50, 6, 40, 5, 2, 200 + spike * last, "味・量"))
        rows.append(("T0003", wk, 30 if i < 6 else 0, 20, 3, 15, 2, 1, 200 + spike * last, "旧キャンペーン"))
    return _weekly(rows)


def test_spike_alert_fires_on_a_jump_and_not_on_a_quiet_week():
    assert detect_spikes(_history(0), sensitivity="high") == []
    alerts = detect_spikes(_history(30), sensitivity="medium")
    assert [a["theme_uid"] for a in alerts] == ["T0001"] and alerts[0]["kind"] == "negative_volume"
    assert alerts[0]["observed"] == 34 and alerts[0]["p_value"] < 0.01
    assert detect_spikes(_history(30).query("week >= '2026-W46'")) == []  # one baseline week: too little


def test_changes_mark_emerging_fading_and_significance():
    ch = changes(_history(30)).set_index("theme_uid")
    assert ch.loc["T0001", "arrow"] == "↑" and ch.loc["T0001", "p_share"] < 0.05
    assert ch.loc["T0002", "arrow"] == "→"
    assert ch.loc["T0003", "status"] == "fading"
    assert rate_test(10, 100, 10, 100) == 1.0


def test_webhook_payload_is_slack_compatible_and_delivered():
    received = {}

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received["type"] = self.headers["Content-Type"]
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    alerts = detect_spikes(_history(30))
    status = send_webhook(f"http://127.0.0.1:{server.server_port}/hook", alerts)
    thread.join(5)
    server.server_close()
    assert status == 200 and received["type"].startswith("application/json")
    assert received["body"] == slack_payload(alerts)
    assert "配送遅延" in received["body"]["text"] and received["body"]["blocks"][0]["type"] == "header"
    with pytest.raises(DeliveryError, match="alerts.json"):
        send_webhook("http://127.0.0.1:9/none", alerts, timeout=2)


# -- the store with real runs -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_weeks(demo_files):
    """The demo split by ISO week, as corpora ready for weekly runs."""
    full = load_corpus(demo_files[:1] + demo_files[2:3], IngestSettings())  # reviews + posts: quick
    weeks = iso_week(full.documents["date"])
    out = {}
    for w in sorted(weeks.dropna().unique()):
        m = (weeks == w).to_numpy()
        docs = full.documents[m].reset_index(drop=True)
        old = docs["doc_id"].to_numpy()
        docs["doc_id"] = np.arange(len(docs))
        out[w] = (docs, pd.Series(full.originals.loc[old].to_numpy(), index=docs["doc_id"]))
    return out


def _week(demo_weeks, w):
    docs, orig = demo_weeks[w]
    return voclens.Corpus(documents=docs.copy(), originals=orig.copy())




@pytest.mark.slow
def test_weekly_runs_keep_ids_replace_periods_and_survive_failures(demo_weeks, tmp_path):
    path = tmp_path / "s.duckdb"
    weeks = list(demo_weeks)[:3]
    runs = [voclens.analyze(_week(demo_weeks, w), store=path, period=w) for w in weeks]
    second = runs[1].themes
    assert (second["matched"].isin(["continued", "matched"])).sum() >= 2  # earlier themes kept their ids
    with Store(path, read_only=True) as st:
        n_docs = st.count_rows("documents", weeks[2])
        assert n_docs == len(demo_weeks[weeks[2]][0])
        assert list(st.periods()["period"]) == weeks
        text = " ".join(st.con.execute("SELECT text FROM documents").df()["text"])
    assert "@example.com" not in text  # masked in the store too
    again = voclens.analyze(_week(demo_weeks, weeks[2]), store=path, period=weeks[2])  # same period: replaced
    with Store(path, read_only=True) as st:
        assert st.count_rows("documents", weeks[2]) == n_docs and len(st.periods()) == 3
        before = st.count_rows("segments")
    assert set(again.themes["theme_uid"]) <= set(runs[2].themes["theme_uid"]) | set(again.themes["theme_uid"])

    class Boom:
        name, requires, assigns = "boom", (), ()

        def __call__(self, corpus, ctx):
            raise RuntimeError("interrupted")

    broken = voclens.default_pipeline().stages + [Boom()]
    with pytest.raises(RuntimeError):
        voclens.analyze(_week(demo_weeks, weeks[0]), store=path, period="2026-W99", pipeline=voclens.Pipeline(broken))
    with Store(path, read_only=True) as st:
        assert st.count_rows("segments") == before and "2026-W99" not in set(st.periods()["period"])


@pytest.mark.slow
def test_edits_are_applied_and_survive_later_runs(demo_weeks, tmp_path):
    path = tmp_path / "s.duckdb"
    weeks = list(demo_weeks)
    first = voclens.analyze(_week(demo_weeks, weeks[0]), store=path, period=weeks[0])
    uids = first.themes.sort_values("size", ascending=False)["theme_uid"].tolist()
    a, b = uids[0], uids[1]
    edits = tmp_path / "edits.toml"
    edits.write_text(f'[[rename]]\ntheme = "{a}"\nlabel = "手で付けた名前"\n[[merge]]\nthemes = ["{a}", "{b}"]\ninto = "{a}"\n',
                     encoding="utf-8")
    merged = voclens.analyze(_week(demo_weeks, weeks[0]), store=path, period=weeks[0], edits=edits)
    assert "手で付けた名前" in set(merged.themes["label"]) and b not in set(merged.themes["theme_uid"])
    later = voclens.analyze(_week(demo_weeks, weeks[1]), store=path, period=weeks[1])  # no edits file given
    assert b not in set(later.themes["theme_uid"])
    if a in set(later.themes["theme_uid"]):
        assert later.themes.set_index("theme_uid").loc[a, "label"] == "手で付けた名前"
    with Store(path, read_only=True) as st:
        assert len(st.edits()) == 2  # stored once, not again on the next run


@pytest.mark.slow
def test_history_and_alerts_commands(demo_files, tmp_path, capsys):
    path, out = tmp_path / "s.duckdb", tmp_path / "out"
    assert main(["analyze", str(demo_files[0]), str(demo_files[2]), "--out", str(out), "--store", str(path), "--no-progress"]) == 0
    assert (out / "alerts.json").is_file() and (out / "changes.csv").is_file()
    assert main(["history", str(path), "--weeks", "4"]) == 0
    table = capsys.readouterr().out
    assert "2026-W47" in table and "T0001" in table
    assert main(["alerts", str(path), "--week", "2026-W45", "--sensitivity", "high", "--json", str(tmp_path / "a.json")]) == 0
    assert json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))  # the app-update spike of week 45
    assert main(["history", str(tmp_path / "none.duckdb")]) == 2
    assert "No history store" in capsys.readouterr().err


@pytest.mark.slow
def test_split_pin_and_move_edits(demo_weeks, tmp_path):
    path = tmp_path / "s.duckdb"
    week = list(demo_weeks)[0]
    first = voclens.analyze(_week(demo_weeks, week), store=path, period=week)
    big = first.themes.sort_values("size", ascending=False)
    a, b = big["theme_uid"].iat[0], big["theme_uid"].iat[1]
    pinned_label = big["label"].iat[1]
    doc = str(first.documents.loc[first.documents["theme_uid"] == a, "id"].iat[0])
    edits = tmp_path / "edits.toml"
    edits.write_text(f'[[split]]\ntheme = "{a}"\ninto = 2\n[[pin]]\ntheme = "{b}"\n'
                     f'[[move]]\ndocument = "{doc}"\ntheme = "{b}"\n', encoding="utf-8")
    again = voclens.analyze(_week(demo_weeks, week), store=path, period=week, edits=edits)
    uids = set(again.themes["theme_uid"])
    assert {f"{a}-1", f"{a}-2"} <= uids and a not in uids
    assert again.themes.set_index("theme_uid").loc[b, "label"] == pinned_label
    moved = again.documents.loc[again.documents["id"].astype(str) == doc, "doc_id"]
    assert set(again.segments.loc[again.segments["doc_id"].isin(moved) & (again.segments["theme_id"] >= 0), "theme_uid"]) == {b}
    with Store(path, read_only=True) as st:
        reg = st.registry().set_index("theme_uid")
    assert reg.loc[f"{a}-1", "parent"] == a and bool(reg.loc[b, "pinned_label"])
