import os
import subprocess
import sys

import pytest

from annotator import atomic
from annotator.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    backup_path,
    clean_stale_temps,
)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def test_write_creates_and_replaces_without_leftovers(tmp_path):
    target = tmp_path / "p.json"
    atomic_write_text(target, "first ✓")
    assert target.read_text(encoding="utf-8") == "first ✓"
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_backup_keeps_previous_version(tmp_path):
    target = tmp_path / "p.json"
    atomic_write_text(target, "v1", backup=True)  # nothing to back up yet
    assert not backup_path(target).exists()
    atomic_write_text(target, "v2", backup=True)
    assert backup_path(target).read_text() == "v1"
    atomic_write_text(target, "v3", backup=True)
    assert backup_path(target).read_text() == "v2"
    assert target.read_text() == "v3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json", "p.json.bak"]


def test_backup_falls_back_to_copy_without_hard_links(tmp_path, monkeypatch):
    target = tmp_path / "p.json"
    atomic_write_text(target, "v1")

    def no_links(*args):
        raise OSError("hard links not supported")

    monkeypatch.setattr(atomic.os, "link", no_links)
    atomic_write_text(target, "v2", backup=True)
    assert backup_path(target).read_text() == "v1" and target.read_text() == "v2"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_existing_permissions_kept(tmp_path):
    target = tmp_path / "p.json"
    atomic_write_text(target, "v1")
    os.chmod(target, 0o640)
    atomic_write_text(target, "v2")
    assert target.stat().st_mode & 0o777 == 0o640


def test_failed_write_leaves_target_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "p.json"
    atomic_write_text(target, "precious")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(target, "new", backup=True)
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


@pytest.mark.skipif(sys.platform == "win32", reason="pid probing is POSIX-only")
def test_stale_temps_of_dead_writers_cleaned_live_ones_kept(tmp_path):
    target = tmp_path / "p.json"
    dead = tmp_path / f".p.json.{_dead_pid()}-0123abcd.tmp"
    dead.write_text("half a proj")
    dead_bak = tmp_path / f".p.json.bak.{_dead_pid()}-0123abcd.tmp"  # backup staging
    dead_bak.write_text("old")
    live = tmp_path / f".p.json.{os.getppid()}-89abcdef.tmp"  # our parent is alive
    live.write_text("being written")
    other = tmp_path / f".other.json.{_dead_pid()}-0123abcd.tmp"  # another target's temp
    other.write_text("x")
    unrelated = tmp_path / "notes.tmp"
    unrelated.write_text("mine")
    assert sorted(clean_stale_temps(target)) == sorted([dead, dead_bak])
    atomic_write_text(target, "ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["p.json", live.name, other.name, "notes.tmp"]
    )


def test_windows_style_age_rule(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.sys, "platform", "win32")
    old = tmp_path / f".p.json.{os.getpid()}-0123abcd.tmp"
    old.write_text("x")
    os.utime(old, (1, 1))
    young = tmp_path / f".p.json.{os.getpid()}-89abcdef.tmp"
    young.write_text("x")
    assert clean_stale_temps(tmp_path / "p.json") == [old]


@pytest.mark.skipif(atomic.fcntl is None, reason="flock is POSIX-only")
def test_old_unlocked_temp_is_stale_even_if_its_pid_was_reused(tmp_path, monkeypatch):
    import fcntl

    reused = tmp_path / f".p.json.{os.getppid()}-0123abcd.tmp"  # pid alive, but not a writer
    reused.write_text("left by a killed writer whose pid now names another process")
    writing = tmp_path / f".p.json.{os.getppid()}-89abcdef.tmp"
    writing.write_text("a live writer's temp")
    monkeypatch.setattr(atomic, "LOCKED_TEMP_GRACE_S", -1.0)  # both count as old
    with open(writing, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as atomic_write_bytes holds its temp
        assert clean_stale_temps(tmp_path / "p.json") == [reused]
    assert writing.exists()


def test_written_file_is_complete_for_large_data(tmp_path):
    data = os.urandom(3_000_000)
    atomic_write_bytes(tmp_path / "big.bin", data)
    assert (tmp_path / "big.bin").read_bytes() == data


def test_backup_already_linked_to_target_leaves_no_temp(tmp_path):
    # A save killed between "project -> .bak" and "temp -> project" leaves both names on one
    # inode; rename() between two links of one file is a no-op that would strand the staging link.
    target = tmp_path / "p.json"
    atomic_write_text(target, "v1")
    os.link(target, backup_path(target))
    atomic_write_text(target, "v2", backup=True)
    assert backup_path(target).read_text() == "v1" and target.read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json", "p.json.bak"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlinked_target_written_through(tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    atomic_write_text(real_dir / "p.json", "v1")
    link = tmp_path / "p.json"
    link.symlink_to(real_dir / "p.json")
    atomic_write_text(link, "v2", backup=True)
    assert link.is_symlink() and link.read_text() == "v2"
    assert (real_dir / "p.json.bak").read_text() == "v1"
