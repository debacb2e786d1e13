"""A local HTTP server for the model-download tests (127.0.0.1 only; no test reaches the internet).

Each served path has a behaviour: "ok" (honours Range), "wrong" (same length, other bytes),
"error" (HTTP 500), "hang" (accepts, never answers), "cut_once" (the first full-body request
stops halfway and closes), "slow" (drips small chunks), "no_range" (ignores Range, always 200).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from annotator.engine.weights.registry import ModelInfo


@dataclass
class Served:
    data: bytes
    mode: str = "ok"
    cut_done: bool = False


@dataclass
class ModelServer:
    httpd: ThreadingHTTPServer
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, path: str, data: bytes, mode: str = "ok") -> str:
        self.files[path] = Served(data, mode)
        return self.base_url + path

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def start_server() -> ModelServer:
    server: ModelServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            range_header = self.headers.get("Range")
            server.requests.append((self.path, range_header))
            served = server.files.get(self.path)
            if served is None:
                self.send_error(404)
                return
            if served.mode == "error":
                self.send_error(500, "Internal Server Error")
                return
            if served.mode == "hang":
                server.release.wait(30)
                return
            data = served.data
            if served.mode == "wrong":
                data = bytes(b ^ 0xFF for b in data)
            start = 0
            if range_header and served.mode != "no_range":
                start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start:
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if served.mode == "cut_once" and not served.cut_done and start == 0:
                served.cut_done = True
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            if served.mode == "slow":
                for i in range(0, len(body), 16384):
                    if server.release.is_set():
                        return
                    self.wfile.write(body[i : i + 16384])
                    self.wfile.flush()
                    time.sleep(0.02)
                return
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    # Clients hang up early on purpose (wrong size, cancel, timeout); the broken pipes that
    # follow are expected, not errors worth a traceback in the test output.
    httpd.handle_error = lambda request, client_address: None
    server = ModelServer(httpd)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    return server


def model_entry(url: str | None, data: bytes, **overrides) -> ModelInfo:
    """A registry entry for a small test file served by ModelServer (fields overridable)."""
    fields = dict(
        name="tiny_test",
        model_type="vit_b",
        architecture="test",
        file_name="tiny_test.pth",
        size=len(data),
        sha256=sha256(data),
        url=url,
        licence="CC0",
        prompt_hint="points_and_boxes",
    )
    fields.update(overrides)
    return ModelInfo(**fields)
