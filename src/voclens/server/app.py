"""The FastAPI app: JSON API under ``/api`` (contract: docs/api.md), review UI under ``/``.

Store access. DuckDB lets one process write a database file; while the server runs it is that
process (``voclens analyze --store`` or ``voclens token add`` on the same file must wait until it
stops). Inside the process the server keeps one connection open and gives every request its own
cursor (DuckDB connections are not shared between threads; cursors see every committed write).
The batch worker's ``voclens.analyze`` opens the same file, which DuckDB maps onto the same open
database. Writes that could conflict (a batch run, rename/merge/split/move) are serialised by one
write lock; review fields, notes, audit, batch and token rows are small appends or single-row
updates and do not wait for a running batch.

Errors are always ``{"code", "message"}`` JSON with the HTTP status, never a stack trace.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from voclens.config import CHANNELS, Settings
from voclens.errors import ConfigError, InputError, MissingDependencyError, ModelError, VoclensError
from voclens.server import ApiError, auth, batches, queries, review
from voclens.store import Store

log = logging.getLogger("voclens.server")

UI_DIR = Path(__file__).resolve().parent / "ui"
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 413: "payload_too_large", 415: "invalid_input", 422: "invalid_input",
                503: "unavailable"}
DRAIN_BYTES = 16 << 20  # an over-limit upload is read (not stored) this far, so the client gets its 413
MULTIPART_SLACK = 64 << 10


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


class ServerState:
    """What the routes share: the open store, locks, limits, the batch worker and the editor."""

    def __init__(self, store_path: Path, data_dir: Path, settings: Settings, max_upload_mb: float, max_rows: int,
                 lock_timeout: float):
        self.store_path = store_path
        self.data_dir = data_dir
        self.settings = settings
        self.max_upload_bytes = int(max_upload_mb * (1 << 20))
        self.max_rows = int(max_rows)
        self.store = Store(store_path)  # read-write: this process is the store's writer while it runs
        self._cursor_lock = threading.Lock()
        with self._cursor_lock:
            for module in (auth, batches, review):
                module.ensure_schema(self.store.con)
        self.write_lock = threading.Lock()
        self.embed_lock = threading.Lock()
        self.batches = batches.BatchManager(self.db, store_path, data_dir, settings, self.write_lock)
        self.review = review.Review(self.db, self.write_lock, settings, self.embed, lock_timeout)

    def db(self) -> Store:
        with self._cursor_lock:
            return self.store.cursor()

    def embed(self, texts: list[str]):
        from voclens.embed import make_embedder
        from voclens.text.normalize import analysis_text, normalize

        e = self.settings.embed
        with self.embed_lock:
            embedder = make_embedder(e.embedder, e.threads)
            return embedder.encode([analysis_text(normalize(t).text) or t for t in texts])

    def close(self) -> None:
        if self.batches.thread is None or not self.batches.thread.is_alive():
            self.store.close()


# -- request bodies ----------------------------------------------------------------------------
class RenameBody(BaseModel):
    label: str = Field(..., min_length=1, max_length=review.MAX_LABEL, examples=["配送遅延"])
    period: str | None = Field(None, description="period whose tables change now (default: the latest)")


class MergeBody(BaseModel):
    themes: list[str] = Field(..., min_length=2, examples=[["T0004", "T0009"]])
    into: str = Field(..., examples=["T0004"])
    period: str | None = None


class SplitBody(BaseModel):
    into: int = Field(2, ge=2, le=review.MAX_SPLIT)
    period: str | None = None


class MoveBody(BaseModel):
    theme: str = Field(..., examples=["T0001"])


class StatusBody(BaseModel):
    status: Literal["new", "triaged", "in_progress", "resolved"]


class OwnerBody(BaseModel):
    department: str | None = Field(..., max_length=review.MAX_LABEL, examples=["物流"],
                                   description="the owning department; null or an empty string clears it")


class NoteBody(BaseModel):
    text: str = Field(..., min_length=1, max_length=review.MAX_NOTE)


class SearchBody(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000, examples=["配達が遅れて困った"])
    limit: int = Field(20, ge=1, le=200)
    period: str | None = None
    sentiment: Literal["positive", "neutral", "negative", "mixed"] | None = None


class RecordsBody(BaseModel):
    records: list[dict[str, Any]] = Field(..., examples=[[{"text": "配達が遅れて困った", "date": "2026-11-20", "channel": "review", "id": "R-1"}]])
    period: str | None = None
    channel: str | None = None
    text_column: str | None = None


BATCH_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                              "description": "CSV/TSV/JSONL/JSON/XLSX/Parquet/TXT files"},
                    "period": {"type": "string", "description": "period the batch replaces, e.g. 2026-W47 (default: ISO week(s) of the data)"},
                    "channel": {"type": "string", "enum": list(CHANNELS)},
                    "text_column": {"type": "string"},
                }}},
            "application/json": {"schema": RecordsBody.model_json_schema()},
        },
    },
}


# -- the app -----------------------------------------------------------------------------------
def create_app(store_path: str | Path, data_dir: str | Path | None = None, *, settings: Settings | None = None,
               config: str | Path | None = None, max_upload_mb: float = 50, max_rows: int = 200_000,
               lock_timeout: float = 30.0, start_worker: bool = True) -> FastAPI:
    """The ASGI app over the store at ``store_path`` (created when missing).

    ``data_dir`` holds the batches' uploads, reports and tables (default: ``<store>-data`` beside
    the store). ``settings`` / ``config`` set the analysis settings of batches (and the embedder
    used by search and split). Uploads over ``max_upload_mb`` or ``max_rows`` rows get 413.
    """
    store_path = Path(store_path).resolve()
    data_dir = Path(data_dir).resolve() if data_dir else store_path.with_name(store_path.stem + "-data")
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = settings or Settings.load(config)
    state = ServerState(store_path, data_dir, settings, max_upload_mb, max_rows, lock_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if start_worker:
            state.batches.start()
        try:
            yield
        finally:
            state.batches.stop()
            state.close()

    app = FastAPI(
        # the OpenAPI document is served at /openapi.json; FastAPI's /docs and /redoc pages load
        # their scripts from a CDN, which this offline service does not use
        title="voclens", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
        description="Japanese customer feedback → themes, sentiment and customer lenses, with a history store. "
                    "Send `Authorization: Bearer <token>` on every /api route except /api/health "
                    "(tokens: `voclens token add NAME --role viewer|editor --store STORE`). "
                    "Errors are JSON `{code, message}`.",
    )
    app.state.voclens = state
    _handlers(app)
    app.add_middleware(_CatchAll)
    bearer = HTTPBearer(auto_error=False, description="a token from `voclens token add`")

    def current_user(creds: HTTPAuthorizationCredentials | None = Security(bearer)) -> dict:
        if creds is None or not creds.credentials:
            raise ApiError(401, "unauthorized", "Missing token. Send the header 'Authorization: Bearer <token>' "
                                                "(create one with: voclens token add NAME --role viewer --store STORE).",
                           {"WWW-Authenticate": "Bearer"})
        st = state.db()
        try:
            user = auth.authenticate(st.con, creds.credentials)
        finally:
            st.close()
        if user is None:
            raise ApiError(401, "unauthorized", "Unknown or revoked token. Ask an admin for a token "
                                                "(voclens token add NAME --role viewer --store STORE).",
                           {"WWW-Authenticate": "Bearer"})
        return user

    def viewer(user: dict = Depends(current_user)) -> dict:
        return user

    def editor(user: dict = Depends(current_user)) -> dict:
        if not auth.allowed(user, "editor"):
            raise ApiError(403, "forbidden", f"The token of {user['name']!r} has the role {user['role']!r}; "
                                             "this action needs an editor token.")
        return user

    def db():
        st = state.db()
        try:
            yield st
        finally:
            st.close()

    # -- health, me, periods -------------------------------------------------------------------
    @app.get("/api/health", tags=["meta"], summary="liveness (no token needed)")
    def health() -> dict:
        return {"status": "ok", "version": _version(), "worker": "busy" if state.batches.busy else "idle",
                "queued": state.batches.queue.qsize()}

    @app.get("/api/me", tags=["meta"], summary="the token's name and role")
    def me(user: dict = Depends(viewer)) -> dict:
        return user

    @app.get("/api/departments", tags=["read"], summary="departments a theme can be owned by (resources/goals/departments.toml)")
    def list_departments(user: dict = Depends(viewer)) -> dict:
        from voclens.lenses.themes import departments

        return {"items": [{"name": d["name"], "name_en": d.get("name_en", ""), "stages": list(d.get("stages", []))}
                          for d in departments()]}

    @app.get("/api/periods", tags=["read"])
    def list_periods(user: dict = Depends(viewer), st: Store = Depends(db)) -> dict:
        return {"items": queries.periods(st.con)}

    # -- batches -------------------------------------------------------------------------------
    @app.post("/api/batches", tags=["batches"], status_code=202, openapi_extra=BATCH_OPENAPI,
              summary="analyse uploaded files (multipart) or JSON records into the store, in the background")
    async def create_batch(request: Request, user: dict = Depends(editor)) -> JSONResponse:
        ctype = request.headers.get("content-type", "").lower()
        if not (ctype.startswith("multipart/form-data") or ctype.startswith("application/json")):
            raise ApiError(422, "invalid_input", "Send files as multipart/form-data (field 'files') or records as "
                                                 "application/json ({\"records\": [{\"text\": ...}]}).")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > state.max_upload_bytes + MULTIPART_SLACK + DRAIN_BYTES:
            raise _too_large(state)
        batch_id, inputs = state.batches.new()
        try:
            if ctype.startswith("multipart/form-data"):
                files, options = await _read_multipart(request, inputs, state)
            else:
                files, options = await _read_records(request, inputs, state)
            settings_ = state.batches.settings_for(options)
            rows = await run_in_threadpool(batches.count_rows, files, settings_)
            if rows > state.max_rows:
                raise ApiError(413, "payload_too_large", f"The upload holds {rows} rows; this server accepts at most "
                                                         f"{state.max_rows} per batch (--max-rows). Split the file into smaller batches.")
            row = await run_in_threadpool(state.batches.create, batch_id, files, options, user["name"])
        except BaseException:
            shutil.rmtree(inputs.parent, ignore_errors=True)
            raise
        return JSONResponse(row, status_code=202)

    @app.get("/api/batches", tags=["batches"])
    def list_batches(user: dict = Depends(viewer)) -> dict:
        return {"items": state.batches.list()}

    @app.get("/api/batches/{batch_id}", tags=["batches"])
    def get_batch(batch_id: str, user: dict = Depends(viewer)) -> dict:
        row = state.batches.get(batch_id)
        if row is None:
            raise ApiError(404, "not_found", f"No batch {batch_id!r}. List the batches with GET /api/batches.")
        return row

    # -- themes --------------------------------------------------------------------------------
    @app.get("/api/themes", tags=["read"])
    def list_themes(period: str | None = None, status: Literal["new", "triaged", "in_progress", "resolved"] | None = None,
                    q: str | None = None, sort: Literal["impact", "size", "net", "pain"] = "impact",
                    user: dict = Depends(viewer), st: Store = Depends(db)) -> dict:
        return queries.list_themes(st.con, period, status, q, sort)

    @app.get("/api/themes/{uid}", tags=["read"])
    def get_theme(uid: str, period: str | None = None, user: dict = Depends(viewer), st: Store = Depends(db)) -> dict:
        return queries.theme_detail(st, uid, period)

    # -- segments, documents -------------------------------------------------------------------
    def filters(theme: str | None = None, sentiment: Literal["positive", "neutral", "negative", "mixed"] | None = None,
                journey_stage: str | None = None, job_type: str | None = None, intent: str | None = None,
                channel: str | None = None, q: str | None = Query(None, description="text contains")) -> dict:
        return {"theme": theme, "sentiment": sentiment, "journey_stage": journey_stage, "job_type": job_type,
                "intent": intent, "channel": channel, "q": q}

    @app.get("/api/segments", tags=["read"])
    def list_segments(period: str | None = Query(None, description="default: the latest; 'all' for every period"),
                      f: dict = Depends(filters), limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
                      user: dict = Depends(viewer), st: Store = Depends(db)) -> dict:
        return queries.list_rows(st.con, "segments", period, f, limit, offset)

    @app.get("/api/documents", tags=["read"])
    def list_documents(period: str | None = Query(None, description="default: the latest; 'all' for every period"),
                       f: dict = Depends(filters), limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
                       user: dict = Depends(viewer), st: Store = Depends(db)) -> dict:
        return queries.list_rows(st.con, "documents", period, f, limit, offset)

    @app.post("/api/search", tags=["read"], summary="semantic search: cosine over the stored segment embeddings")
    def search(body: SearchBody, user: dict = Depends(viewer), st: Store = Depends(db)) -> dict:
        vector = state.embed([body.text])[0]
        return {"items": queries.search(st, vector, body.limit, body.period, body.sentiment)}

    @app.get("/api/export/{name}", tags=["read"], summary="documents|segments|themes|goals . csv|parquet|json",
             response_class=Response)
    def export(name: str, period: str | None = Query(None, description="default: the latest; 'all' for every period"),
               f: dict = Depends(filters), user: dict = Depends(viewer), st: Store = Depends(db)) -> Response:
        table, _, fmt = name.rpartition(".")
        if table not in queries.EXPORT_TABLES:
            raise ApiError(404, "not_found", f"No export {name!r}. Use /api/export/TABLE.FORMAT with TABLE one of "
                                             f"{', '.join(queries.EXPORT_TABLES)} and FORMAT one of {', '.join(queries.EXPORT_FORMATS)}.")
        if fmt not in queries.EXPORT_FORMATS:
            raise ApiError(422, "invalid_input", f"Unknown export format {fmt!r}; use one of {', '.join(queries.EXPORT_FORMATS)}.")
        frame = queries.export_frame(st.con, table, period, f)
        body, media = queries.export_bytes(frame, fmt)
        fname = batches.safe_filename(f"{table}-{period or queries.latest_period(st.con) or 'all'}.{fmt}")
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{fname}"'})

    @app.get("/api/report", tags=["read"], summary="HTML report of the latest finished batch or stored run with an output folder (for a period)",
             response_class=FileResponse)
    def report(period: str | None = None, user: dict = Depends(viewer)):
        path = state.batches.latest_report(period)
        if path is None:
            raise ApiError(404, "not_found", "No report" + (f" for period {period!r}" if period else "") +
                           ": reports are written by batches run through this server (POST /api/batches) and by "
                           "'voclens analyze FILES --store STORE --out FOLDER' (the folder must still hold it).")
        return FileResponse(path, media_type="text/html; charset=utf-8")

    @app.get("/api/audit", tags=["read"])
    def get_audit(theme: str | None = None, limit: int = Query(500, ge=1, le=5000), user: dict = Depends(viewer),
                  st: Store = Depends(db)) -> dict:
        return {"items": queries.audit(st.con, theme, limit)}

    # -- editing -------------------------------------------------------------------------------
    @app.post("/api/themes/merge", tags=["edit"])
    def merge(body: MergeBody, user: dict = Depends(editor)) -> dict:
        return state.review.merge(user["name"], body.themes, body.into, body.period)

    @app.post("/api/themes/{uid}/rename", tags=["edit"])
    def rename(uid: str, body: RenameBody, user: dict = Depends(editor)) -> dict:
        return state.review.rename(user["name"], uid, body.label, body.period)

    @app.post("/api/themes/{uid}/split", tags=["edit"], summary="re-cluster the theme's segments into N parts now")
    def split(uid: str, body: SplitBody, user: dict = Depends(editor)) -> dict:
        return state.review.split(user["name"], uid, body.into, body.period)

    @app.post("/api/segments/{period}/{seg_id}/move", tags=["edit"],
              summary="move the segment's document (all its themed segments) to another theme")
    def move(period: str, seg_id: int, body: MoveBody, user: dict = Depends(editor)) -> dict:
        return state.review.move(user["name"], period, seg_id, body.theme)

    @app.post("/api/themes/{uid}/status", tags=["edit"])
    def set_status(uid: str, body: StatusBody, user: dict = Depends(editor)) -> dict:
        return state.review.status(user["name"], uid, body.status)

    @app.post("/api/themes/{uid}/owner", tags=["edit"])
    def set_owner(uid: str, body: OwnerBody, user: dict = Depends(editor)) -> dict:
        return state.review.owner(user["name"], uid, body.department)

    @app.post("/api/themes/{uid}/notes", tags=["edit"], status_code=201)
    def add_note(uid: str, body: NoteBody, user: dict = Depends(editor)) -> dict:
        return state.review.add_note(user["name"], uid, body.text)

    # -- UI ------------------------------------------------------------------------------------
    def page(name: str) -> FileResponse:
        path = UI_DIR / name
        if not path.is_file():
            raise ApiError(404, "not_found", f"The UI page {name} is missing from the package.")
        return FileResponse(path, media_type="text/html; charset=utf-8")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return page("index.html")

    @app.get("/themes/{uid}", include_in_schema=False)
    def theme_page(uid: str) -> FileResponse:
        return page("theme.html")

    app.mount("/static", StaticFiles(directory=UI_DIR / "static", check_dir=False), name="static")
    return app


# -- uploads -----------------------------------------------------------------------------------
def _too_large(state: ServerState) -> ApiError:
    mb = state.max_upload_bytes / (1 << 20)
    return ApiError(413, "payload_too_large", f"The upload is larger than {mb:g} MB (--max-upload-mb). "
                                              "Split it into smaller batches.")


async def _limited(request: Request, state: ServerState):
    """The request body, chunk by chunk, stopping at the upload limit: past it nothing more is
    kept; the rest is read and dropped (up to DRAIN_BYTES, so the client sees the 413) and
    413 is raised."""
    limit = state.max_upload_bytes + MULTIPART_SLACK
    seen = 0
    stream = request.stream()
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            async for rest in stream:
                seen += len(rest)
                if seen > limit + DRAIN_BYTES:
                    break
            raise _too_large(state)
        yield chunk


_PERIOD = re.compile(r"^[\w.\-:]{1,64}$")


def _options(period: Any, channel: Any, text_column: Any) -> dict:
    opts: dict[str, Any] = {}
    if period not in (None, ""):
        if not isinstance(period, str) or not _PERIOD.match(period):
            raise ApiError(422, "invalid_input", f"Bad period {period!r}: use letters, digits and . - : (e.g. 2026-W47), at most 64.")
        opts["period"] = period
    if channel not in (None, ""):
        if channel not in CHANNELS:
            raise ApiError(422, "invalid_input", f"Unknown channel {channel!r}; use one of {', '.join(CHANNELS)}.")
        opts["channel"] = channel
    if text_column not in (None, ""):
        if not isinstance(text_column, str) or len(text_column) > 200:
            raise ApiError(422, "invalid_input", "'text_column' must be a column name (at most 200 characters).")
        opts["text_column"] = text_column
    return opts


async def _read_multipart(request: Request, inputs: Path, state: ServerState) -> tuple[list[Path], dict]:
    from python_multipart.exceptions import MultipartParseError
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    parser = MultiPartParser(request.headers, _limited(request, state), max_files=50, max_fields=20)
    try:
        form = await parser.parse()
    except (MultiPartException, MultipartParseError) as exc:
        raise ApiError(422, "invalid_input", f"Cannot read the multipart body ({exc}). Send the files in the field 'files'.") from exc
    try:
        uploads = [v for k, v in form.multi_items() if isinstance(v, UploadFile)]
        if not uploads:
            raise ApiError(422, "invalid_input", "No files in the upload. Send one or more files in the multipart field 'files'.")
        names = [batches.safe_filename(u.filename) for u in uploads]
        for n in names:
            try:
                batches.check_file_type(n)
            except InputError as exc:
                raise ApiError(422, "invalid_input", str(exc)) from exc
        options = _options(form.get("period"), form.get("channel"), form.get("text_column"))
        paths = []
        for u, n in zip(uploads, names):
            path = batches.unique_name(inputs, n)
            await u.seek(0)
            with open(path, "wb") as out:
                while chunk := await u.read(1 << 20):
                    out.write(chunk)
            paths.append(path)
        return paths, options
    finally:
        await form.close()


async def _read_records(request: Request, inputs: Path, state: ServerState) -> tuple[list[Path], dict]:
    body = bytearray()
    async for chunk in _limited(request, state):
        body.extend(chunk)
    try:
        data = json.loads(bytes(body).decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_input", f"The body is not valid UTF-8 JSON ({exc}).") from exc
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise ApiError(422, "invalid_input", "Send {\"records\": [{\"text\": \"...\", \"date\": \"...\", \"channel\": \"...\", \"id\": \"...\"}], \"period\": \"...\"}.")
    recs = data["records"]
    if not recs:
        raise ApiError(422, "invalid_input", "'records' is empty: send at least one record with a 'text'.")
    if len(recs) > state.max_rows:
        raise ApiError(413, "payload_too_large", f"{len(recs)} records; this server accepts at most {state.max_rows} per batch (--max-rows).")
    bad = [i for i, r in enumerate(recs) if not isinstance(r, dict) or "text" not in r]
    if bad:
        raise ApiError(422, "invalid_input", f"Records {bad[:10]} have no 'text' key. Every record needs a 'text'.")
    options = _options(data.get("period"), data.get("channel"), data.get("text_column"))
    path = inputs / "records.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for r in recs:
            out.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    return [path], options


# -- errors ------------------------------------------------------------------------------------
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"), (b"referrer-policy", b"no-referrer")]
INTERNAL = "Unexpected server error; it has been logged. Retry, and report it if it persists."


class _CatchAll:
    """Unexpected exceptions become a JSON 500 here, logged with their traceback, and the
    connection stays usable (Starlette's outermost handler would re-raise to the server, which
    then drops the keep-alive connection)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracked(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            log.error("unexpected error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            if started:
                raise
            await _error(500, "internal_error", INTERNAL)(scope, receive, tracked)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error" if exc.status_code < 500 else "internal_error")
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail, ensure_ascii=False)
        if exc.status_code == 404 and message == "Not Found":
            message = f"No such route: {request.method} {request.url.path}. The API is described at /docs."
        return _error(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors()[:5]:
            loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
            parts.append(f"{loc}: {e.get('msg')}")
        return _error(422, "invalid_input", "Invalid request: " + "; ".join(parts) + ". See /docs for the expected input.")

    @app.exception_handler(VoclensError)
    async def voclens_error(request: Request, exc: VoclensError) -> JSONResponse:
        if isinstance(exc, (ConfigError, InputError)):
            return _error(422, "invalid_input", str(exc))
        if isinstance(exc, (MissingDependencyError, ModelError)):
            log.error("setup error on %s %s: %s", request.method, request.url.path, exc)
            return _error(500, "setup_error", str(exc))
        return _error(422, "invalid_input", str(exc))

    import duckdb

    @app.exception_handler(duckdb.TransactionException)
    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        return _error(409, "conflict", "Another change to the same rows was being written at the same time; retry the request.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal_error", INTERNAL)


def _version() -> str:
    from voclens import __version__

    return __version__
