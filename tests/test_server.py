"""The HTTP service over real HTTP on loopback: uvicorn in a background thread, httpx as the client.

Two servers per session: ``quick`` over an empty store (worker stopped: batches stay queued) for
auth, errors, limits and file names; ``demo`` over a store built once from the demo data
(reviews + posts, ``voclens.analyze(..., store=...)``) for reading, search, exports, batches and
edits (slow: it runs the whole pipeline).
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpora" / "demo"


# -- servers -------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """A uvicorn server in a thread, with tokens and an httpx client."""

    def __init__(self, app, store: Path, data_dir: Path, tokens: dict[str, str]):
        import uvicorn

        self.app, self.store, self.data_dir, self.tokens = app, store, data_dir, tokens
        self.port = _free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)


def _start(tmp: Path, store: Path, **kwargs) -> Running:
    from voclens.server import auth
    from voclens.server.app import create_app
    from voclens.store import Store

    with Store(store) as st:
        tokens = {"editor": auth.add_token(st.con, "erin", "editor"), "viewer": auth.add_token(st.con, "vic", "viewer"),
                  "revoked": auth.add_token(st.con, "rex", "editor")}
        auth.revoke_token(st.con, "rex")
    app = create_app(store, tmp / "data", **kwargs)

    @app.get("/api/_boom", include_in_schema=False)
    def boom():  # test-only route: an unexpected error must come back as JSON without a trace
        raise RuntimeError("secret internal detail /etc/shadow")

    return Running(app, store, tmp / "data", tokens)


@pytest.fixture(scope="session")
def quick(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quick_server")
    srv = _start(tmp, tmp / "empty.duckdb", max_upload_mb=1, max_rows=50, start_worker=False)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    import voclens

    tmp = tmp_path_factory.mktemp("demo_server")
    store = tmp / "demo.duckdb"
    corpus = voclens.analyze([DEMO / "reviews.csv", DEMO / "posts.jsonl"], store=store)
    srv = _start(tmp, store)
    srv.period = corpus.meta["store"]["period"]
    yield srv
    srv.stop()


def _wait(srv: Running, batch_id: str, timeout: float = 600) -> dict:
    deadline = time.time() + timeout
    seen = set()
    while time.time() < deadline:
        b = srv.client.get(f"/api/batches/{batch_id}", headers=srv.h("viewer")).json()
        seen.add((b["status"], b["stage"]))
        assert 0.0 <= b["progress"] <= 1.0
        if b["status"] in ("done", "failed"):
            b["seen"] = seen
            return b
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not finish: {seen}")


def _error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "message"} and body["code"] == code and body["message"], body
    assert "Traceback" not in r.text
    return body


# -- quick: health, auth, errors, limits, file names -----------------------------------------------
def test_health_openapi_and_docs(quick):
    c = quick.client
    r = c.get("/api/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    spec = c.get("/openapi.json").json()
    for path in ["/api/batches", "/api/themes", "/api/themes/{uid}", "/api/segments", "/api/documents", "/api/search",
                 "/api/export/{name}", "/api/report", "/api/audit", "/api/themes/merge", "/api/themes/{uid}/rename",
                 "/api/themes/{uid}/split", "/api/segments/{period}/{seg_id}/move", "/api/themes/{uid}/status",
                 "/api/themes/{uid}/owner", "/api/themes/{uid}/notes", "/api/periods", "/api/departments",
                 "/api/batches/{batch_id}"]:
        assert path in spec["paths"], path
    assert any(s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values())
    assert "multipart/form-data" in spec["paths"]["/api/batches"]["post"]["requestBody"]["content"]
    assert c.get("/docs").status_code == 404  # Swagger UI would load from a CDN: not served
    for page in ("/", "/themes/T0001"):  # the review UI pages, from files inside the package
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.headers["x-content-type-options"] == "nosniff"
    _error(c.get("/static/no-such-file.js"), 404, "not_found")


def test_401_without_or_with_a_bad_token_and_403_for_a_viewer(quick):
    c = quick.client
    body = _error(c.get("/api/themes"), 401, "unauthorized")
    assert "Bearer" in body["message"]
    _error(c.get("/api/periods", headers={"Authorization": "Bearer vl_not-a-real-token"}), 401, "unauthorized")
    _error(c.get("/api/periods", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "unauthorized")
    _error(c.get("/api/periods", headers=quick.h("revoked")), 401, "unauthorized")
    assert c.get("/api/periods", headers=quick.h("viewer")).json() == {"items": []}
    assert c.get("/api/me", headers=quick.h("viewer")).json() == {"name": "vic", "role": "viewer"}
    for method, path, body in [("post", "/api/themes/T0001/rename", {"label": "x"}), ("post", "/api/themes/merge", {"themes": ["T1", "T2"], "into": "T1"}),
                               ("post", "/api/themes/T0001/status", {"status": "triaged"}), ("post", "/api/themes/T0001/notes", {"text": "x"})]:
        _error(getattr(c, method)(path, json=body, headers=quick.h("viewer")), 403, "forbidden")
    files = {"files": ("a.csv", "text\n配達が遅い\n".encode())}
    _error(c.post("/api/batches", files=files, headers=quick.h("viewer")), 403, "forbidden")


def test_errors_are_json_with_code_and_message(quick, caplog):
    c = quick.client
    body = _error(c.get("/api/_boom", headers=quick.h("viewer")), 500, "internal_error")
    assert "secret" not in body["message"] and "RuntimeError" not in body["message"]
    assert any("unexpected error on GET /api/_boom" in r.getMessage() and r.exc_info for r in caplog.records)  # logged server-side
    _error(c.get("/api/no-such-route", headers=quick.h("viewer")), 404, "not_found")
    _error(c.get("/api/themes", headers=quick.h("viewer")), 404, "not_found")  # empty store: says to upload first
    _error(c.get("/api/segments", params={"limit": 501}, headers=quick.h("viewer")), 422, "invalid_input")
    _error(c.get("/api/themes", params={"sort": "nope"}, headers=quick.h("viewer")), 422, "invalid_input")
    _error(c.post("/api/themes/T0001/rename", content=b"{not json", headers={**quick.h("editor"), "content-type": "application/json"}),
           422, "invalid_input")
    _error(c.post("/api/themes/T0001/status", json={"status": "done-ish"}, headers=quick.h("editor")), 422, "invalid_input")
    _error(c.post("/api/themes/T0001/status", json={"status": "triaged"}, headers=quick.h("editor")), 404, "not_found")
    _error(c.get("/api/batches/b-1-0", headers=quick.h("viewer")), 404, "not_found")
    _error(c.get("/api/report", headers=quick.h("viewer")), 404, "not_found")
    _error(c.delete("/api/themes", headers=quick.h("viewer")), 405, "method_not_allowed")
    _error(c.post("/api/batches", content=b"text", headers={**quick.h("editor"), "content-type": "text/plain"}), 422, "invalid_input")


def _batch_dirs(srv: Running) -> set[str]:
    root = srv.data_dir / "batches"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def test_413_for_an_oversized_upload_and_too_many_rows(quick):
    c, before = quick.client, _batch_dirs(quick)
    big = b"text\n" + ("配達が遅い。" * 20 + "\n").encode() * 4000  # ~1.5 MB > 1 MB limit
    body = _error(c.post("/api/batches", files={"files": ("big.csv", big)}, headers=quick.h("editor")), 413, "payload_too_large")
    assert "MB" in body["message"]
    many = ("text\n" + "".join(f"配達が{i}分遅れた\n" for i in range(60))).encode()  # 60 rows > 50
    body = _error(c.post("/api/batches", files={"files": ("many.csv", many)}, headers=quick.h("editor")), 413, "payload_too_large")
    assert "60 rows" in body["message"]
    recs = {"records": [{"text": f"配達が{i}分遅れた"} for i in range(51)]}
    _error(c.post("/api/batches", json=recs, headers=quick.h("editor")), 413, "payload_too_large")
    assert _batch_dirs(quick) == before  # nothing kept from refused uploads


def test_422_for_a_bad_file_type_or_unusable_file(quick):
    c = quick.client
    body = _error(c.post("/api/batches", files={"files": ("notes.exe", b"MZ\x90\x00")}, headers=quick.h("editor")), 422, "invalid_input")
    assert ".exe" in body["message"] and ".csv" in body["message"]
    _error(c.post("/api/batches", files={"files": ("noext", b"text\nx\n")}, headers=quick.h("editor")), 422, "invalid_input")
    body = _error(c.post("/api/batches", files={"files": ("nums.csv", b"a,b\n1,2\n")}, headers=quick.h("editor")), 422, "invalid_input")
    assert "text column" in body["message"]
    _error(c.post("/api/batches", json={"records": [{"body": "x"}]}, headers=quick.h("editor")), 422, "invalid_input")
    _error(c.post("/api/batches", files={"files": ("a.csv", "text\n配達\n".encode())}, data={"channel": "fax"},
                  headers=quick.h("editor")), 422, "invalid_input")


def test_file_names_are_sanitised_no_path_traversal(quick):
    from voclens.server.batches import safe_filename

    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\windows\\win.ini.csv") == "win.ini.csv"
    assert safe_filename("/etc/cron.d/evil.csv") == "evil.csv"
    assert safe_filename("..") == "upload" and safe_filename("") == "upload" and safe_filename(".hidden.csv") == "hidden.csv"
    assert safe_filename("レビュー 11月.csv") == "レビュー_11月.csv"
    assert "/" not in safe_filename("a/" * 100 + "x" * 300 + ".csv") and safe_filename("x" * 300 + ".csv").endswith(".csv")
    c = quick.client
    content = "text\n配達が遅い\n".encode()
    files = [("files", ("../../etc/passwd.csv", content)), ("files", ("/tmp/abs/evil.csv", content)),
             ("files", ("..\\..\\win.csv", content)), ("files", ("evil.csv", content))]
    r = c.post("/api/batches", files=files, headers=quick.h("editor"))
    assert r.status_code == 202, r.text
    b = r.json()
    assert b["status"] == "queued" and b["batch_id"].startswith("b-")
    assert b["files"] == ["passwd.csv", "evil.csv", "win.csv", "evil-2.csv"]
    folder = quick.data_dir / "batches" / b["batch_id"] / "input"
    assert sorted(p.name for p in folder.iterdir()) == sorted(b["files"])
    assert not (quick.data_dir / "etc").exists() and not (quick.data_dir.parent / "etc").exists()
    assert not (quick.data_dir / "batches" / "etc").exists()
    listed = c.get("/api/batches", headers=quick.h("viewer")).json()["items"]
    assert b["batch_id"] in [x["batch_id"] for x in listed]


def test_token_cli_stores_only_a_hash(tmp_path, capsys):
    import duckdb

    from voclens.cli import main
    from voclens.server.auth import authenticate, hash_token

    store = str(tmp_path / "t.duckdb")
    assert main(["token", "add", "carol", "--role", "editor", "--store", store]) == 0
    token = capsys.readouterr().out.strip().split()[-1]
    assert token.startswith("vl_")
    assert main(["token", "add", "carol", "--store", store]) == 2  # one active token per name
    assert main(["token", "list", "--store", store]) == 0
    assert "carol\teditor" in capsys.readouterr().out
    con = duckdb.connect(store)
    rows = con.execute("SELECT * FROM tokens").fetchall()
    assert token not in json.dumps(rows, default=str) and rows[0][2] == hash_token(token)
    assert authenticate(con, token) == {"name": "carol", "role": "editor"}
    con.close()
    assert main(["token", "revoke", "carol", "--store", store]) == 0
    con = duckdb.connect(store)
    assert authenticate(con, token) is None
    con.close()


def test_a_batch_interrupted_by_a_restart_is_marked_failed(tmp_path):
    from voclens.server.app import create_app

    app = create_app(tmp_path / "r.duckdb", tmp_path / "data", start_worker=False)
    state = app.state.voclens
    state.batches._execute("INSERT INTO batches (batch_id, status, progress, created, files, options, \"user\") "
                           "VALUES ('b-20260101T000000-aaaaaa', 'running', 0.4, now(), '[]', '{}', 'erin')", [])
    state.batches.start()  # what the server does when it starts
    try:
        b = state.batches.get("b-20260101T000000-aaaaaa")
        assert b["status"] == "failed" and "Interrupted" in b["error"]
    finally:
        state.batches.stop()
        state.close()


# -- demo: reading, search, exports ---------------------------------------------------------------
THEME_FIELDS = {"theme_uid", "label", "keywords", "size", "share", "net_sentiment", "pain_score", "pxp", "impact_rank",
                "departments", "status", "owner", "trend", "goal"}


@pytest.mark.slow
def test_periods_themes_list_and_detail(demo):
    c, hv = demo.client, demo.h("viewer")
    periods = c.get("/api/periods", headers=hv).json()["items"]
    assert demo.period in [p["period"] for p in periods]
    assert {"period", "run_id", "created", "n_documents", "n_segments", "n_themes"} <= set(periods[0])
    data = c.get("/api/themes", params={"period": demo.period}, headers=hv).json()
    assert data["period"] == demo.period and len(data["items"]) >= 4
    item = data["items"][0]
    assert set(item) == THEME_FIELDS
    assert [i["impact_rank"] for i in data["items"]] == sorted(i["impact_rank"] for i in data["items"])
    assert len(item["trend"]) == 8 and {"week", "n"} == set(item["trend"][0])
    assert any(i["goal"] and {"kpi", "current", "target"} == set(i["goal"]) for i in data["items"])
    by_size = c.get("/api/themes", params={"period": demo.period, "sort": "size"}, headers=hv).json()["items"]
    assert [i["size"] for i in by_size] == sorted((i["size"] for i in by_size), reverse=True)
    by_net = c.get("/api/themes", params={"period": demo.period, "sort": "net"}, headers=hv).json()["items"]
    assert by_net[0]["net_sentiment"] == min(i["net_sentiment"] for i in by_net)
    kw = item["keywords"][0]
    assert item["theme_uid"] in [i["theme_uid"] for i in c.get("/api/themes", params={"period": demo.period, "q": kw}, headers=hv).json()["items"]]
    d = c.get(f"/api/themes/{item['theme_uid']}", params={"period": demo.period}, headers=hv).json()
    assert THEME_FIELDS | {"quotes", "stage_mix", "job_mix", "intent_mix", "notes", "history"} <= set(d)
    assert d["quotes"] and {"seg_id", "text", "sentiment"} <= set(d["quotes"][0])
    assert abs(sum(d["stage_mix"].values()) - 1) < 0.01 and abs(sum(d["intent_mix"].values()) - 1) < 0.01
    assert d["history"] and {"week", "n", "n_negative"} == set(d["history"][0])
    _error(c.get("/api/themes/T9999", params={"period": demo.period}, headers=hv), 404, "not_found")
    _error(c.get("/api/themes", params={"period": "1999-W01"}, headers=hv), 404, "not_found")


@pytest.mark.slow
def test_segments_filters_and_paging(demo):
    c, hv, p = demo.client, demo.h("viewer"), demo.period
    first = c.get("/api/segments", params={"period": p, "limit": 20}, headers=hv).json()
    assert first["limit"] == 20 and first["offset"] == 0 and len(first["items"]) == 20 and first["total"] > 500
    second = c.get("/api/segments", params={"period": p, "limit": 20, "offset": 20}, headers=hv).json()
    assert second["total"] == first["total"]
    assert not {i["seg_id"] for i in first["items"]} & {i["seg_id"] for i in second["items"]}
    last = c.get("/api/segments", params={"period": p, "limit": 500, "offset": first["total"] - 3}, headers=hv).json()
    assert len(last["items"]) == 3
    neg = c.get("/api/segments", params={"period": p, "sentiment": "negative", "limit": 500}, headers=hv).json()
    assert 0 < neg["total"] < first["total"] and {i["sentiment"] for i in neg["items"]} == {"negative"}
    theme = first["items"][0]["theme_uid"] or next(i["theme_uid"] for i in first["items"] if i["theme_uid"])
    both = c.get("/api/segments", params={"period": p, "theme": theme, "sentiment": "negative", "limit": 500}, headers=hv).json()
    assert all(i["theme_uid"] == theme and i["sentiment"] == "negative" for i in both["items"]) and both["total"] <= neg["total"]
    q = c.get("/api/segments", params={"period": p, "q": "配達", "limit": 500}, headers=hv).json()
    assert q["total"] > 0 and all("配達" in i["text"] for i in q["items"])
    stage = c.get("/api/segments", params={"period": p, "journey_stage": "support", "intent": "complaint"}, headers=hv).json()
    assert all(i["journey_stage"] == "support" and i["intent"] == "complaint" for i in stage["items"])
    assert {"seg_id", "doc_id", "id", "channel", "text", "theme_uid", "sentiment", "job_type", "journey_stage", "intent",
            "start", "end"} <= set(first["items"][0])


@pytest.mark.slow
def test_documents_filter_by_channel(demo):
    c, hv, p = demo.client, demo.h("viewer"), demo.period
    every = c.get("/api/documents", params={"period": p}, headers=hv).json()
    sns = c.get("/api/documents", params={"period": p, "channel": "sns", "limit": 500}, headers=hv).json()
    review = c.get("/api/documents", params={"period": p, "channel": "review", "limit": 1}, headers=hv).json()
    assert sns["total"] > 150  # the posts (posts.jsonl), minus rejected rows
    assert {d["channel"] for d in sns["items"]} == {"sns"} and all(d["source"] == "posts.jsonl" for d in sns["items"])
    assert sns["total"] + review["total"] == every["total"]


@pytest.mark.slow
def test_semantic_search_finds_a_delivery_complaint(demo):
    r = demo.client.post("/api/search", json={"text": "配達が遅れて困った", "limit": 10, "period": demo.period}, headers=demo.h("viewer"))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 10 and {"seg_id", "period", "text", "theme_uid", "sentiment", "similarity"} <= set(items[0])
    sims = [i["similarity"] for i in items]
    assert sims == sorted(sims, reverse=True) and sims[0] > 0.5
    top = items[:5]
    assert any(any(w in i["text"] for w in ("配達", "配送", "届")) and "遅" in i["text"] and i["sentiment"] == "negative" for i in top), top
    neg = demo.client.post("/api/search", json={"text": "配達が遅れて困った", "sentiment": "negative"}, headers=demo.h("viewer")).json()
    assert neg["items"] and {i["sentiment"] for i in neg["items"]} == {"negative"}
    _error(demo.client.post("/api/search", json={"limit": 3}, headers=demo.h("viewer")), 422, "invalid_input")


@pytest.mark.slow
def test_exports_csv_parquet_json(demo):
    import pandas as pd

    c, hv, p = demo.client, demo.h("viewer"), demo.period
    r = c.get("/api/export/themes.csv", params={"period": p}, headers=hv)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf") and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows and {"theme_uid", "label", "keywords", "status", "owner"} <= set(rows[0])
    seg = pd.read_parquet(io.BytesIO(c.get("/api/export/segments.parquet", params={"period": p, "channel": "sns"}, headers=hv).content))
    assert len(seg) > 100 and set(seg["channel"]) == {"sns"}
    goals = c.get("/api/export/goals.json", params={"period": p}, headers=hv).json()
    assert goals and {"theme_uid", "kpi", "target"} <= set(goals[0])
    _error(c.get("/api/export/secrets.csv", headers=hv), 404, "not_found")
    _error(c.get("/api/export/themes.xlsx", headers=hv), 422, "invalid_input")


# -- demo: batches ------------------------------------------------------------------------------
SMALL = [
    "配達が遅れて困った。二時間も待ちました。", '=HYPERLINK("http://example.com")配送が遅い', "+81 電話がつながらない",
    "@support 返信がまだありません", "野菜が新鮮でおいしかった！", "ミールキットが便利で助かる。", "アプリが落ちてログインできない。",
    "定期便の変更が簡単になって嬉しい。",
]


@pytest.mark.slow
def test_batch_upload_runs_in_the_background_and_lists_its_themes(demo):
    c = demo.client
    text = "本文,投稿日\n" + "".join(f'"{t.replace(chr(34), chr(34) * 2)}",2026-12-0{1 + i % 5} 10:00\n' for i, t in enumerate(SMALL * 4))
    r = c.post("/api/batches", files={"files": ("week49.csv", text.encode("utf-8"))}, data={"period": "2026-W49"}, headers=demo.h("editor"))
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["batch_id"].startswith("b-")
    b = _wait(demo, r.json()["batch_id"])
    assert b["status"] == "done" and b["error"] is None, b
    assert b["period"] == "2026-W49" and b["progress"] == 1.0 and b["finished"]
    assert b["counts"]["rows_in"] == len(SMALL) * 4 and isinstance(b["alerts"], int)
    themes = c.get("/api/themes", params={"period": "2026-W49"}, headers=demo.h("viewer")).json()
    assert themes["items"] and sum(t["size"] for t in themes["items"]) > 0
    assert (demo.data_dir / "batches" / b["batch_id"] / "report.html").is_file()
    report = c.get("/api/report", params={"period": "2026-W49"}, headers=demo.h("viewer"))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html") and "<html" in report.text[:500].lower()
    # CSV exports are formula-safe: the segment starting with '=' comes back as "'="
    r = c.get("/api/export/segments.csv", params={"period": "2026-W49"}, headers=demo.h("viewer"))
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    texts = [row["text"] for row in rows]
    assert any(t.startswith("'=HYPERLINK") for t in texts) and not any(t.startswith("=") for t in texts)
    assert any(t.startswith("'+81") for t in texts) and any(t.startswith("'@support") for t in texts)
    docs = c.get("/api/export/documents.csv", params={"period": "2026-W49"}, headers=demo.h("viewer")).content.decode("utf-8-sig")
    assert "\"'=HYPERLINK" in docs


@pytest.mark.slow
def test_json_records_batch(demo):
    recs = [{"text": t, "date": f"2026-12-1{i % 5}", "channel": "ticket", "id": f"TK-{i}"} for i, t in enumerate(SMALL * 3)]
    r = demo.client.post("/api/batches", json={"records": recs, "period": "2026-W50"}, headers=demo.h("editor"))
    assert r.status_code == 202, r.text
    b = _wait(demo, r.json()["batch_id"])
    assert b["status"] == "done" and b["counts"]["rows_analysed"] == len(recs), b
    docs = demo.client.get("/api/documents", params={"period": "2026-W50", "channel": "ticket"}, headers=demo.h("viewer")).json()
    assert docs["total"] == len(recs) and {d["id"] for d in docs["items"]} >= {"TK-0", "TK-1"}
    listed = demo.client.get("/api/batches", headers=demo.h("viewer")).json()["items"]
    assert listed[0]["batch_id"] == b["batch_id"]  # newest first


# -- demo: edits --------------------------------------------------------------------------------
def _themes(demo, period=None) -> dict[str, dict]:
    items = demo.client.get("/api/themes", params={"period": period or demo.period}, headers=demo.h("viewer")).json()["items"]
    return {i["theme_uid"]: i for i in items}


@pytest.mark.slow
def test_rename_is_listed_audited_and_survives_a_rerun(demo):
    c, he = demo.client, demo.h("editor")
    before = _themes(demo)
    uid = max(before.values(), key=lambda i: i["size"])["theme_uid"]
    r = c.post(f"/api/themes/{uid}/rename", json={"label": "配送の遅れ（手で命名）"}, headers=he)
    assert r.status_code == 200, r.text
    assert _themes(demo)[uid]["label"] == "配送の遅れ（手で命名）"
    audit = c.get("/api/audit", params={"theme": uid}, headers=demo.h("viewer")).json()["items"]
    assert audit[0]["action"] == "rename" and audit[0]["user"] == "erin" and audit[0]["theme_uid"] == uid
    assert audit[0]["payload"]["label"] == "配送の遅れ（手で命名）" and audit[0]["payload"]["old_label"] == before[uid]["label"]
    assert audit[0]["at"].endswith("Z")
    _error(c.post(f"/api/themes/{uid}/rename", json={"label": ""}, headers=he), 422, "invalid_input")
    # the same data again, through the API: the identity stage applies the stored edit
    files = [("files", ("reviews.csv", (DEMO / "reviews.csv").read_bytes())), ("files", ("posts.jsonl", (DEMO / "posts.jsonl").read_bytes()))]
    r = c.post("/api/batches", files=files, headers=he)
    assert r.status_code == 202, r.text
    b = _wait(demo, r.json()["batch_id"])
    assert b["status"] == "done" and b["period"] == demo.period, b
    after = _themes(demo)
    assert uid in after and after[uid]["label"] == "配送の遅れ（手で命名）"


@pytest.mark.slow
def test_merge_two_themes_leaves_one(demo):
    c = demo.client
    before = _themes(demo)
    a, b = sorted(before, key=lambda u: before[u]["size"])[:2]
    r = c.post("/api/themes/merge", json={"themes": [a, b], "into": a, "period": demo.period}, headers=demo.h("editor"))
    assert r.status_code == 200, r.text
    after = _themes(demo)
    assert a in after and b not in after and len(after) == len(before) - 1
    assert after[a]["size"] == before[a]["size"] + before[b]["size"]
    segs = c.get("/api/segments", params={"period": demo.period, "theme": b}, headers=demo.h("viewer")).json()
    assert segs["total"] == 0
    assert sorted(i["impact_rank"] for i in after.values()) == list(range(1, len(after) + 1))
    audit = c.get("/api/audit", params={"theme": b}, headers=demo.h("viewer")).json()["items"]
    assert audit[0]["action"] == "merge" and audit[0]["payload"]["into"] == a
    # quotes show each text once (the demo's nearest segments repeat 残念です。 and reposts)
    for uid in after:
        quotes = c.get(f"/api/themes/{uid}", params={"period": demo.period}, headers=demo.h("viewer")).json()["quotes"]
        assert quotes and len({q["text"] for q in quotes}) == len(quotes), (uid, quotes)
    assert any(len(c.get(f"/api/themes/{u}", params={"period": demo.period}, headers=demo.h("viewer")).json()["quotes"]) == 5
               for u in after)
    _error(c.post("/api/themes/merge", json={"themes": [a, "T9999"], "into": a}, headers=demo.h("editor")), 404, "not_found")
    _error(c.post("/api/themes/merge", json={"themes": [a, b], "into": "T0000"}, headers=demo.h("editor")), 422, "invalid_input")


@pytest.mark.slow
def test_split_and_move(demo):
    c, he = demo.client, demo.h("editor")
    before = _themes(demo)
    uid = max(before.values(), key=lambda i: i["size"])["theme_uid"]
    r = c.post(f"/api/themes/{uid}/split", json={"into": 2}, headers=he)
    assert r.status_code == 200, r.text
    after = _themes(demo)
    kids = [f"{uid}-1", f"{uid}-2"]
    assert uid not in after and set(kids) <= set(after)
    assert after[kids[0]]["size"] + after[kids[1]]["size"] == before[uid]["size"] and after[kids[0]]["size"] >= after[kids[1]]["size"]
    seg = c.get("/api/segments", params={"period": demo.period, "theme": kids[1], "limit": 1}, headers=demo.h("viewer")).json()["items"][0]
    target = next(u for u in after if u not in kids)
    r = c.post(f"/api/segments/{demo.period}/{seg['seg_id']}/move", json={"theme": target}, headers=he)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert seg["seg_id"] in moved["moved_segments"] and moved["document"] == seg["id"]
    doc_segs = c.get("/api/segments", params={"period": demo.period, "q": seg["text"], "theme": target}, headers=demo.h("viewer")).json()
    assert seg["seg_id"] in [s["seg_id"] for s in doc_segs["items"]]
    _error(c.post(f"/api/segments/{demo.period}/99999999/move", json={"theme": target}, headers=he), 404, "not_found")
    _error(c.post(f"/api/themes/{kids[0]}/split", json={"into": 1}, headers=he), 422, "invalid_input")
    actions = [a["action"] for a in c.get("/api/audit", headers=demo.h("viewer")).json()["items"]]
    assert actions[:2] == ["move", "split"]


@pytest.mark.slow
def test_departments_come_from_the_data_file(demo):
    from voclens.lenses.themes import departments

    items = demo.client.get("/api/departments", headers=demo.h("viewer")).json()["items"]
    assert [d["name"] for d in items] == [d["name"] for d in departments()] and len(items) >= 10
    assert {"name": "物流", "name_en": "Logistics"}.items() <= next(d for d in items if d["name"] == "物流").items()


def test_status_owner_and_notes(demo):
    c, he = demo.client, demo.h("editor")
    uid = next(iter(_themes(demo)))
    assert _themes(demo)[uid]["status"] == "new"
    assert c.post(f"/api/themes/{uid}/status", json={"status": "in_progress"}, headers=he).json()["status"] == "in_progress"
    assert c.post(f"/api/themes/{uid}/owner", json={"department": "物流"}, headers=he).json()["owner"] == "物流"
    r = c.post(f"/api/themes/{uid}/notes", json={"text": "来週の定例で確認する"}, headers=he)
    assert r.status_code == 201 and r.json()["notes"][-1]["author"] == "erin"
    item = _themes(demo)[uid]
    assert item["status"] == "in_progress" and item["owner"] == "物流"
    assert uid in {i["theme_uid"] for i in c.get("/api/themes", params={"period": demo.period, "status": "in_progress"},
                                                  headers=demo.h("viewer")).json()["items"]}
    detail = c.get(f"/api/themes/{uid}", params={"period": demo.period}, headers=demo.h("viewer")).json()
    assert detail["notes"][-1]["text"] == "来週の定例で確認する"
    actions = [a["action"] for a in c.get("/api/audit", params={"theme": uid}, headers=demo.h("viewer")).json()["items"]]
    assert actions[:3] == ["note", "owner", "status"]
    # an owner can be taken back: null or an empty string leaves the theme unassigned again
    for clear in (None, ""):
        assert c.post(f"/api/themes/{uid}/owner", json={"department": "物流"}, headers=he).json()["owner"] == "物流"
        assert c.post(f"/api/themes/{uid}/owner", json={"department": clear}, headers=he).json()["owner"] is None
        assert _themes(demo)[uid]["owner"] is None
    last = c.get("/api/audit", params={"theme": uid}, headers=demo.h("viewer")).json()["items"][0]
    assert last["action"] == "owner"
    _error(c.post(f"/api/themes/{uid}/notes", json={"text": ""}, headers=he), 422, "invalid_input")


@pytest.mark.slow
def test_report_of_a_run_written_by_the_cli(tmp_path):
    """GET /api/report also serves the report of `voclens analyze --store --out`, while its
    folder holds it."""
    import voclens

    store = tmp_path / "cli.duckdb"
    csv_path = tmp_path / "w40.csv"
    csv_path.write_text("本文,投稿日\n" + "".join(f'"{t.replace(chr(34), chr(34) * 2)}",2026-10-0{1 + i % 5}\n'
                                                  for i, t in enumerate(SMALL * 3)), encoding="utf-8")
    voclens.analyze([csv_path], store=store, out=tmp_path / "out", period="2026-W40")
    srv = _start(tmp_path, store, start_worker=False)
    try:
        r = srv.client.get("/api/report", params={"period": "2026-W40"}, headers=srv.h("viewer"))
        assert r.status_code == 200 and "<html" in r.text[:500].lower()
        assert r.content == (tmp_path / "out" / "report.html").read_bytes()
        (tmp_path / "out" / "report.html").unlink()
        _error(srv.client.get("/api/report", params={"period": "2026-W40"}, headers=srv.h("viewer")), 404, "not_found")
    finally:
        srv.stop()
