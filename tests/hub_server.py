"""A local stand-in for the Hugging Face Hub's file API (127.0.0.1 only; nothing leaves the host).

It speaks what huggingface_hub's ``hf_hub_download`` uses: HEAD and GET on
``/{owner}/{name}/resolve/{revision}/{file}`` with ``X-Repo-Commit``, ``ETag`` (the git blob
SHA-1 of a small file, the SHA-256 of an LFS file, which also gets ``X-Linked-Etag`` and
``X-Linked-Size``), Range requests, and the hub's error answers (``X-Error-Code`` RepoNotFound,
GatedRepo, RevisionNotFound, EntryNotFound) for missing, private and gated repositories.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.model_server import sha256


def git_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()


@dataclass
class HubRepo:
    """A repository with one commit. access: "public", "private" (needs ``token``), "gated"
    (needs a token in ``granted``). ``corrupt`` names files served with flipped bytes."""

    files: dict[str, bytes]
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    access: str = "public"
    token: str | None = None
    granted: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)
    branches: tuple[str, ...] = ("main",)

    def etag(self, name: str) -> str:
        data = self.files[name]
        return sha256(data) if is_lfs(name, data) else git_sha1(data)


def is_lfs(name: str, data: bytes) -> bool:
    return name.endswith((".safetensors", ".bin", ".pt", ".pth")) or len(data) > 10_000_000


@dataclass
class HubServer:
    httpd: ThreadingHTTPServer
    repos: dict[str, HubRepo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_hub() -> HubServer:
    server: HubServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _error(self, status: int, code: str, message: str) -> None:
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _answer(self, body: bool) -> None:
            server.requests.append((self.command, self.path))
            parts = self.path.split("?")[0].strip("/").split("/")
            if len(parts) < 5 or parts[2] != "resolve":
                self._error(404, "EntryNotFound", "not a resolve URL")
                return
            repo_id, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            repo = server.repos.get(repo_id)
            auth = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if repo is None or (repo.access == "private" and auth != repo.token):
                self._error(401, "RepoNotFound", "Repository not found")
                return
            if repo.access == "gated" and auth not in repo.granted:
                status = 403 if auth else 401
                self._error(status, "GatedRepo", "Access to this model is restricted")
                return
            if revision not in (*repo.branches, repo.commit):
                self._error(404, "RevisionNotFound", "Invalid rev id")
                return
            if name not in repo.files:
                self._error(404, "EntryNotFound", "Entry not found")
                return
            data = repo.files[name]
            etag = repo.etag(name)
            if name in repo.corrupt:
                data = bytes(b ^ 0xFF for b in data)
            start = 0
            range_header = self.headers.get("Range")
            if body and range_header:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{etag}"')
            if is_lfs(name, data):
                self.send_header("X-Linked-Etag", f'"{etag}"')
                self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            if body:
                self.wfile.write(data[start:])

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, client_address: None
    server = HubServer(httpd)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    return server


def isolate_hub_env(tmp_path: Path, monkeypatch) -> None:
    """huggingface_hub's caches under ``tmp_path``, online and with no token: never the user's."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


def serve_hub(tmp_path: Path, monkeypatch) -> HubServer:
    """A started hub stand-in that HF_ENDPOINT points at, with :func:`isolate_hub_env`."""
    srv = start_hub()
    monkeypatch.setenv("HF_ENDPOINT", srv.endpoint)
    isolate_hub_env(tmp_path, monkeypatch)
    return srv
