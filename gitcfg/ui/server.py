"""`gitcfg ui`'s server: the page and its JSON endpoints over the standard library's HTTP server.

Read-only and local: GET and HEAD only (any other method is 405), no write endpoint, bound to
127.0.0.1 unless told otherwise. A request whose Host header is not a loopback name is refused
(403) while the server listens on loopback, so a web page elsewhere cannot read the runs through a
rebound DNS name. Every read goes through one Api (the query cache, as the CLI reads it) behind a
lock: the cache's connection is not shared between threads. Answers are kept until the
`generation` changes (the runs branch moved, or a run journaled here changed), so a repeated
request is a dictionary look-up. The endpoints and their shapes: docs/ui.md, "Data".
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from gitcfg.errors import GitcfgError
from gitcfg.ui import data
from gitcfg.ui.page import STATIC_DIR, embed_data, static_type

if TYPE_CHECKING:
    from gitcfg.query import Api

_API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Answer:
    """One HTTP answer: status, body, headers."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers


def json_answer(document: Any, status: int = 200, body: bytes | None = None) -> Answer:
    """A JSON answer: `document` encoded (NaN and inf as null), or `body` when given."""
    body = data.encode(document) if body is None else body
    return Answer(status, body, {"Content-Type": "application/json; charset=utf-8", **_API_HEADERS})


def _not_found(message: str = "not found") -> Answer:
    return json_answer({"error": {"message": message, "expression": None, "column": None}}, 404)


class UiApp:
    """The endpoints over one Api, with the answers of the current generation kept."""

    def __init__(self, api: Api, selection: data.Selection) -> None:
        self.api, self.selection = api, selection
        self._lock = threading.Lock()
        self._signature: object = None
        self.generation = 0
        self._live_count = 0
        self._kept: dict[str, Answer] = {}
        # The last runs table of each request, with its tip and its entries' JSON: while the tip
        # stays, a journal's change rereads only the running runs (data.refresh_running).
        self._tables: dict[str, tuple[str | None, dict[str, Any], dict[str, bytes]]] = {}

    # --- the generation ---

    def version(self) -> dict[str, Any]:
        """{"tip", "live", "generation"}; the generation moves when the tip or a journal does."""
        from gitcfg.live import live_signature, recover_dead

        with self._lock:
            store = self.api.store
            live = live_signature(store)
            if live:
                recover_dead(store)  # a run whose process died shows as crashed, not running
                live = live_signature(store)
            signature = (store.tip(), live)
            if signature != self._signature:
                self._signature = signature
                self.generation += 1
                self._kept.clear()
                self._live_count = self._count_running()
            return {
                "tip": signature[0],
                "live": self._live_count,
                "generation": self.generation,
            }

    def forget(self) -> None:
        """Drop the answers kept: the next request starts a new generation (benchmarks)."""
        with self._lock:
            self._signature = None
            self._kept.clear()
            self._tables.clear()

    def _count_running(self) -> int:
        try:
            with self.api.runs(status="running") as runs:
                return len(runs)
        except GitcfgError:
            return 0

    # --- requests ---

    def answer(self, target: str) -> Answer:
        """The answer to a GET of `target` (path and query)."""
        parts = urlsplit(target)
        path = parts.path
        if path == "/api/version":
            return json_answer(self.version())
        if path == "/" or path == "/index.html":
            return self._page()
        if path.startswith("/static/"):
            return self._static(unquote(path[len("/static/") :]))
        if not path.startswith("/api/"):
            return _not_found()
        self.version()  # the answers kept are those of the current generation
        key = target
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                kept = self._answer_api(path, parse_qs(parts.query, keep_blank_values=True))
                if kept.status == 200 and not path.startswith("/api/file/"):
                    self._kept[key] = kept
            return kept

    def _answer_api(self, path: str, params: dict[str, list[str]]) -> Answer:
        def one(name: str) -> str | None:
            values = params.get(name)
            return values[-1] if values and values[-1] != "" else None

        def many(name: str) -> list[str]:
            return data.split_list(params.get(name, []))

        api, selection = self.api, self.selection
        where_text, range_text = one("where"), one("range")
        if path == "/api/runs":
            return self._runs_table(where_text, range_text)
        if path == "/api/group":
            document = data.group_document(
                api,
                selection,
                many("by"),
                many("agg") or ("mean", "std"),
                one("over"),
                where_text,
                range_text,
            )
            return json_answer(document)
        if path == "/api/curves":
            try:
                points = int(one("points") or data.DEFAULT_POINTS)
            except ValueError:
                points = data.DEFAULT_POINTS
            document = data.curves_document(
                api,
                selection,
                one("metric") or "",
                many("runs") or None,
                one("x"),
                points,
                one("group"),
                where_text,
                range_text,
            )
            return json_answer(document)
        if path == "/api/compare":
            return json_answer(data.compare_document(api, many("runs")))
        if path.startswith("/api/run/"):
            return self._run(unquote(path[len("/api/run/") :]))
        if path.startswith("/api/file/"):
            run_id, _, name = path[len("/api/file/") :].partition("/")
            return self._file(unquote(run_id), unquote(name))
        return _not_found()

    def _runs_table(self, where_text: str | None, range_text: str | None) -> Answer:
        api, selection = self.api, self.selection
        key = f"{where_text}\0{range_text}"
        tip = api.store.tip()
        previous = self._tables.get(key)
        if previous is not None and previous[0] == tip and previous[1]["error"] is None:
            document, changed = data.refresh_running(
                api, selection, previous[1], where_text, range_text
            )
            kept = previous[2]
        else:
            document = data.runs_document(api, selection, where_text, range_text)
            kept, changed = {}, set()
        body, encoded = data.encode_runs(document, kept, changed)
        if len(self._tables) >= 8 and key not in self._tables:
            self._tables.pop(next(iter(self._tables)))
        self._tables[key] = (tip, document, encoded)
        return json_answer(document, body=body)

    def _run(self, run_id: str) -> Answer:
        try:
            record = self.api.run(run_id)
        except GitcfgError as e:
            return json_answer({"error": data.error_of(e)}, 404)
        return json_answer(data.run_document(self.api, record))

    def _file(self, run_id: str, name: str) -> Answer:
        """A recorded file of the run, read from git: only a path its directory lists (no `..`,
        no absolute path, no symbolic link) is served; anything else is 404."""
        try:
            record = self.api.run(run_id)
        except GitcfgError:
            return _not_found("no such run")
        if name not in {path for path, _ in record.file_sizes()}:
            return _not_found("no such file in this run")
        content = self.api.read_run_file(record.id, name)
        if content is None:
            return _not_found("no such file in this run")
        headers = {
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "no-store",
        }
        image = data.image_type(name)
        if image is not None:
            headers["Content-Type"] = image
        else:
            headers["Content-Type"] = "application/octet-stream"
            headers["Content-Disposition"] = "attachment"
        return Answer(200, content, headers)

    def _page(self) -> Answer:
        index = STATIC_DIR / "index.html"
        try:
            text = index.read_text(encoding="utf-8")
        except OSError:
            return _not_found("the page is missing from this installation")
        body = embed_data(text, {"mode": "live"}).encode()
        return Answer(
            200,
            body,
            {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        )

    def _static(self, name: str) -> Answer:
        base = STATIC_DIR.resolve()
        try:
            path = (base / name).resolve()
        except (OSError, ValueError):
            return _not_found()
        if not name or not path.is_relative_to(base) or not path.is_file():
            return _not_found()
        return Answer(
            200,
            path.read_bytes(),
            {
                "Content-Type": static_type(path.name),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-cache",
            },
        )


def _handler(app: UiApp, allowed_hosts: set[str] | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "gitcfg-ui"
        protocol_version = "HTTP/1.1"
        ui_app = app

        def log_message(self, format: str, *args: Any) -> None:  # quiet: no request log
            pass

        def _send(self, answer: Answer, with_body: bool = True) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if with_body:
                self.wfile.write(answer.body)

        def _get(self, with_body: bool) -> None:
            host = (self.headers.get("Host") or "").lower()
            if allowed_hosts is not None and host not in allowed_hosts:
                self._send(json_answer({"error": {"message": "forbidden host"}}, 403), with_body)
                return
            try:
                answer = app.answer(self.path)
            except Exception as e:  # a bug: answer 500 and keep serving
                message = f"internal error: {type(e).__name__}: {e}"
                answer = json_answer({"error": {"message": message}}, 500)
            self._send(answer, with_body)

        def do_GET(self) -> None:
            self._get(True)

        def do_HEAD(self) -> None:
            self._get(False)

        def _not_allowed(self) -> None:
            answer = json_answer(
                {"error": {"message": f"{self.command} not allowed: this server is read-only"}},
                405,
            )
            answer.headers["Allow"] = "GET, HEAD"
            self._send(answer)

        def __getattr__(self, name: str) -> Callable[[], None]:
            # Any method but GET and HEAD (POST, PUT, DELETE, made-up ones) is 405, not 501.
            if name.startswith("do_"):
                return self._not_allowed
            raise AttributeError(name)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(
    api: Api, selection: data.Selection, host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, str]:
    """A server over `api` listening on host:port (0: a free port), and its URL. GitcfgError
    when the port is in use or the address cannot be bound."""
    app = UiApp(api, selection)
    app.version()
    server_class = _Server6 if ":" in host.strip("[]") else _Server
    bind_host = host.strip("[]")
    try:
        # Bound without a handler first: the Host check needs the port a free-port bind chose.
        server = server_class((bind_host, port), BaseHTTPRequestHandler, bind_and_activate=True)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise GitcfgError(
                f"port {port} on {host} is in use; choose another with --port, or leave --port "
                "out for a free one"
            ) from None
        raise GitcfgError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    bound_port = server.server_address[1]
    shown_host = f"[{bind_host}]" if ":" in bind_host else bind_host
    allowed = None
    if is_loopback(bind_host):
        names = {shown_host, "localhost", "127.0.0.1", "[::1]"}
        allowed = {f"{name}:{bound_port}" for name in names} | names
    server.RequestHandlerClass = _handler(app, allowed)
    return server, f"http://{shown_host}:{bound_port}/"
