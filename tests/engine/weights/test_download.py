"""Downloads against a local server: verified install, refusal, resume, errors, timeouts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from annotator.engine.weights.download import (
    ChecksumMismatchError,
    DownloadCancelledError,
    DownloadError,
    download_file,
    download_model,
)
from annotator.engine.weights.registry import ModelInfo
from tests.model_server import ModelServer, model_entry, sha256, start_server

PAYLOAD = os.urandom(3 * 1024 * 1024 + 123)  # > 1 read chunk, odd size


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    srv.stop()


def entry(url: str | None, data: bytes = PAYLOAD, **overrides) -> ModelInfo:
    return model_entry(url, data, **overrides)


def test_good_file_installs_with_progress(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD))
    seen: list[tuple[int, int | None]] = []
    path = download_model(info, directory=tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert path == tmp_path / "tiny_test.pth"
    assert path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_test.pth"]  # no .part left
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # Installed already: no second request.
    before = len(server.requests)
    assert download_model(info, directory=tmp_path) == path
    assert len(server.requests) == before


def test_wrong_checksum_is_refused_and_nothing_is_left(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD, mode="wrong"))
    actual = sha256(bytes(b ^ 0xFF for b in PAYLOAD))
    with pytest.raises(ChecksumMismatchError) as err:
        download_model(info, directory=tmp_path)
    message = str(err.value)
    assert f"expected {info.sha256}" in message and f"got {actual}" in message
    assert list(tmp_path.iterdir()) == []


def test_md5_is_checked_too(server: ModelServer, tmp_path: Path):
    url = server.serve("/f.bin", PAYLOAD)
    with pytest.raises(ChecksumMismatchError, match=r"MD5 mismatch: expected 0{32}"):
        download_file(url, tmp_path / "f.bin", expected_md5="0" * 32)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_body_resumes_with_range(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD, mode="cut_once"))
    path = download_model(info, directory=tmp_path)
    assert path.read_bytes() == PAYLOAD
    ranges = [r for p, r in server.requests if p == "/tiny_test.pth"]
    assert ranges[0] is None
    assert ranges[1] == f"bytes={len(PAYLOAD) // 2}-"


def test_partial_file_from_an_earlier_run_is_resumed(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD))
    (tmp_path / "tiny_test.pth.part").write_bytes(PAYLOAD[:1000])
    path = download_model(info, directory=tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert server.requests == [("/tiny_test.pth", "bytes=1000-")]


def test_server_that_ignores_range_restarts_cleanly(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD, mode="no_range"))
    (tmp_path / "tiny_test.pth.part").write_bytes(b"x" * 1000)
    assert download_model(info, directory=tmp_path).read_bytes() == PAYLOAD


def test_server_error_gives_a_clear_message(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD, mode="error"))
    with pytest.raises(DownloadError, match=r"answered HTTP 500"):
        download_model(info, directory=tmp_path)
    assert not (tmp_path / "tiny_test.pth").exists()


def test_missing_file_on_mirror_names_the_url(server: ModelServer, tmp_path: Path):
    info = entry("http://unused.invalid/tiny_test.pth")
    with pytest.raises(DownloadError, match=r"/mirror/tiny_test.pth: the server answered HTTP 404"):
        download_model(info, directory=tmp_path, url_base=server.base_url + "/mirror/")


def test_mirror_base_url_replaces_the_official_one(server: ModelServer, tmp_path: Path):
    server.serve("/mirror/tiny_test.pth", PAYLOAD)
    info = entry("http://unused.invalid/tiny_test.pth")
    path = download_model(info, directory=tmp_path, url_base=server.base_url + "/mirror")
    assert path.read_bytes() == PAYLOAD


def test_hanging_server_times_out_quickly(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD, mode="hang"))
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"no answer from 127\.0\.0\.1:\d+ within 0\.5 s"):
        download_model(info, directory=tmp_path, timeout=0.5)
    assert time.monotonic() - start < 5


def test_unreachable_host_is_a_clear_error(tmp_path: Path):
    srv = start_server()
    url = srv.base_url + "/x"
    srv.stop()  # nothing listens on that port any more
    with pytest.raises(DownloadError, match=r"refused the connection|cannot reach"):
        download_file(url, tmp_path / "x", timeout=2)


def test_wrong_size_on_server_is_refused_before_writing(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD[:-1]))
    with pytest.raises(DownloadError, match=f"offers {len(PAYLOAD) - 1} bytes"):
        download_model(info, directory=tmp_path)


def test_size_only_entry_warns_out_loud(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD), sha256=None, sha256_note="not published")
    warnings: list[str] = []
    path = download_model(info, directory=tmp_path, warn=warnings.append)
    assert path.read_bytes() == PAYLOAD
    assert len(warnings) == 1
    assert "WARNING" in warnings[0] and "size" in warnings[0] and "not published" in warnings[0]


def test_cancel_keeps_the_partial_file_for_resume(server: ModelServer, tmp_path: Path):
    info = entry(server.serve("/tiny_test.pth", PAYLOAD, mode="slow"))
    progress: list[int] = []
    with pytest.raises(DownloadCancelledError, match="cancelled"):
        download_model(
            info,
            directory=tmp_path,
            progress=lambda d, t: progress.append(d),
            cancel=lambda: len(progress) > 3,
        )
    part = tmp_path / "tiny_test.pth.part"
    kept = part.stat().st_size
    assert 0 < kept < len(PAYLOAD)
    assert not (tmp_path / "tiny_test.pth").exists()
    server.files["/tiny_test.pth"].mode = "ok"
    assert download_model(info, directory=tmp_path).read_bytes() == PAYLOAD
    assert server.requests[-1] == ("/tiny_test.pth", f"bytes={kept}-")


def test_a_second_download_of_the_same_file_is_refused(server: ModelServer, tmp_path: Path):
    fcntl = pytest.importorskip("fcntl", reason="advisory download locks are POSIX-only")
    info = entry(server.serve("/tiny_test.pth", PAYLOAD))
    with (tmp_path / "tiny_test.pth.lock").open("a") as other:  # as another process would
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DownloadError, match=r"another download of tiny_test\.pth"):
            download_model(info, directory=tmp_path)
        fcntl.flock(other, fcntl.LOCK_UN)
    assert server.requests == []
    assert download_model(info, directory=tmp_path).read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_test.pth"]


def test_unknown_host_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import socket

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # offline by construction
    expected = r"cannot look up models\.example \(Name or service not known\).*--from"
    with pytest.raises(DownloadError, match=expected):
        download_file("http://models.example/x.pth", tmp_path / "x.pth", timeout=2)
