"""The Hugging Face Hub: the one module that talks to ``huggingface_hub``.

``fetch_hub_files`` pins a revision (branch or tag -> the commit the hub resolved, from the
``X-Repo-Commit`` header of a HEAD request), downloads the files of that commit into
huggingface_hub's own cache (``HF_HUB_CACHE``, ``HF_HOME``; so files fetched by transformers
are reused), and checks every file against the hash the hub publishes for it: the SHA-256 in
the ETag of an LFS file, the git blob SHA-1 of a small one.

Environment, read at call time (huggingface_hub reads its copies once, at import):
``HF_ENDPOINT`` (a mirror), ``HF_HUB_OFFLINE`` (cache only, no network), ``HF_TOKEN``.
Every failure is a :class:`HubError` whose message is one line saying what to do. Torch-free.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from annotator.engine.weights.download import ChecksumMismatchError, DownloadError

HF_SCHEME = "hf:"
DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class HubError(DownloadError):
    """A hub download or look-up that failed; the message is one line for the user."""


class HubOfflineError(HubError):
    """Offline (HF_HUB_OFFLINE) and the file is not in the cache."""


class HubGatedError(HubError):
    """A gated repository whose licence this account has not accepted (or no token)."""


class HubAuthError(HubError):
    """401: no token, or a token the hub refuses."""


class HubNotFoundError(HubError):
    """No such repository, revision or file."""


class HubChecksumError(HubError, ChecksumMismatchError):
    """The downloaded bytes do not hash to what the hub publishes (the copy is deleted)."""


@dataclass(frozen=True)
class HubRef:
    """``hf:owner/name[@revision]`` as typed by a user."""

    repo_id: str
    revision: str | None = None

    @staticmethod
    def parse(text: str) -> HubRef | None:
        """The reference in ``text``, or None when it does not start with ``hf:``.

        Raises HubError for an ``hf:`` name that is not ``owner/name``.
        """
        text = text.strip()
        if not text.startswith(HF_SCHEME):
            return None
        body = text[len(HF_SCHEME) :]
        repo_id, _, revision = body.partition("@")
        if not _REPO_ID.match(repo_id):
            raise HubError(
                f"{text!r} is not a Hugging Face model name; expected hf:owner/name or "
                "hf:owner/name@revision, e.g. hf:facebook/sam-vit-base"
            )
        return HubRef(repo_id, revision or None)

    def __str__(self) -> str:
        return HF_SCHEME + self.repo_id + (f"@{self.revision}" if self.revision else "")


@dataclass(frozen=True)
class HubFile:
    """One downloaded file: ``path`` is in the snapshot folder (a link into the blobs).

    ``sha256`` is set for LFS files (the hub publishes it), ``git_sha1`` for the others.
    """

    name: str
    path: Path
    size: int
    sha256: str | None
    git_sha1: str | None


@dataclass(frozen=True)
class HubSnapshot:
    """Files of one repository at one commit, all in ``folder``."""

    repo_id: str
    revision: str
    commit: str
    folder: Path
    files: tuple[HubFile, ...]
    endpoint: str


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in {"1", "ON", "YES", "TRUE"}


def hub_cache_dir() -> Path:
    """huggingface_hub's cache folder in effect now (``HF_HUB_CACHE``, else ``HF_HOME/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "huggingface",
    )
    return Path(home).expanduser() / "hub"


def hub_token() -> str | None:
    """HF_TOKEN, else the token saved by ``hf auth login``; None when there is none."""
    from huggingface_hub import get_token

    return os.environ.get("HF_TOKEN") or get_token()


def fetch_hub_files(
    repo_id: str,
    files: Sequence[str | Sequence[str]],
    *,
    revision: str | None = None,
    cache_dir: Path | None = None,
    timeout: float = 30.0,
) -> HubSnapshot:
    """Download ``files`` of ``repo_id`` at one pinned commit and verify each of them.

    files: names in the repository; an entry that is a sequence of names takes the first one
    the repository has (``("model.safetensors", "pytorch_model.bin")``). revision: a branch,
    tag or commit (default ``main``). Offline, the files come from the cache or a
    HubOfflineError says they are not there. Raises HubError subclasses.
    """
    revision = revision or "main"
    cache = hub_cache_dir() if cache_dir is None else cache_dir
    offline = hub_offline()
    endpoint = hub_endpoint()
    commit: str | None = revision if _SHA1.match(revision) else None
    got: list[HubFile] = []
    for entry in files:
        choices = (entry,) if isinstance(entry, str) else tuple(entry)
        hub_file, commit = _fetch_one(
            repo_id, choices, revision, commit, cache, offline, endpoint, timeout
        )
        got.append(hub_file)
    assert commit is not None
    folder = repo_cache_folder(repo_id, cache) / "snapshots" / commit
    return HubSnapshot(repo_id, revision, commit, folder, tuple(got), endpoint)


def fetch_hub_weights(
    repo_id: str,
    choices: Sequence[str],
    *,
    revision: str,
    cache_dir: Path | None = None,
    timeout: float = 30.0,
) -> HubSnapshot:
    """The first of ``choices`` the repository has, and, when that is a shard index
    (``*.index.json``), every shard its ``weight_map`` lists: all at one pinned commit, each
    verified as :func:`fetch_hub_files` does. Raises HubError for an index that is not JSON,
    lists no shards, or names a shard outside the repository's top folder."""
    snap = fetch_hub_files(
        repo_id, [tuple(choices)], revision=revision, cache_dir=cache_dir, timeout=timeout
    )
    index = snap.files[0]
    if not index.name.endswith(".index.json"):
        return snap
    shards = _shard_names(index, f"{repo_id}@{snap.commit}")
    rest = fetch_hub_files(
        repo_id, shards, revision=snap.commit, cache_dir=cache_dir, timeout=timeout
    )
    return HubSnapshot(
        repo_id, revision, snap.commit, snap.folder, snap.files + rest.files, snap.endpoint
    )


def _shard_names(index: HubFile, where: str) -> list[str]:
    """The shard files an index's ``weight_map`` names (sorted, each once)."""
    try:
        weight_map = json.loads(index.path.read_text(encoding="utf-8")).get("weight_map")
    except (OSError, ValueError, AttributeError) as exc:
        raise HubError(f"{where}/{index.name} is not a JSON shard index ({exc})") from None
    if not isinstance(weight_map, dict) or not weight_map:
        raise HubError(f"{where}/{index.name} has no weight_map naming its shards")
    names = sorted({str(v) for v in weight_map.values()})
    for name in names:
        # a shard lives beside its index: no folders, so a hostile index cannot point anywhere
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise HubError(f"{where}/{index.name} names a shard {name!r} outside the repository")
    return names


def _fetch_one(
    repo_id: str,
    choices: tuple[str, ...],
    revision: str,
    commit: str | None,
    cache: Path,
    offline: bool,
    endpoint: str,
    timeout: float,
) -> tuple[HubFile, str]:
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import EntryNotFoundError

    where = f"{repo_id}@{commit or revision}"
    for i, name in enumerate(choices):
        last = i == len(choices) - 1
        if offline:
            try:
                local = hf_hub_download(
                    repo_id,
                    name,
                    revision=commit or revision,
                    cache_dir=cache,
                    local_files_only=True,
                )
            except Exception as exc:  # every failure here means "not cached"
                if not last:
                    continue
                raise HubOfflineError(
                    f"offline (HF_HUB_OFFLINE is set) and {' or '.join(choices)} of {where} is "
                    f"not in the cache {cache}; download it once while online with "
                    f"`annotator models download hf:{repo_id}`"
                ) from exc
            path = Path(local)
            return HubFile(name, path, path.stat().st_size, None, None), commit or _commit_of(path)
        url = hf_hub_url(repo_id, name, revision=commit or revision, endpoint=endpoint)
        try:
            meta = get_hf_file_metadata(url, token=hub_token(), timeout=timeout)
        except EntryNotFoundError as exc:
            if not last:
                continue
            raise _translate(exc, repo_id, " or ".join(choices), commit or revision) from None
        except Exception as exc:  # huggingface_hub and httpx errors, translated
            raise _translate(exc, repo_id, name, commit or revision) from None
        commit = commit or meta.commit_hash
        if not commit:
            raise HubError(
                f"{endpoint} did not say which commit {repo_id}@{revision} is (no X-Repo-Commit "
                "header); is HF_ENDPOINT a Hugging Face mirror?"
            )
        etag = (meta.etag or "").strip('"').removeprefix("W/").strip('"').lower()
        try:
            local = hf_hub_download(
                repo_id,
                name,
                revision=commit,
                cache_dir=cache,
                endpoint=endpoint,
                token=hub_token(),
                etag_timeout=timeout,
            )
        except Exception as exc:
            raise _translate(exc, repo_id, name, commit) from None
        path = Path(local)
        hub_file = _verified(path, name, etag, repo_id, commit, meta.size)
        _remember_ref(cache, repo_id, revision, commit)
        return hub_file, commit
    raise AssertionError("unreachable")  # pragma: no cover


def repo_cache_folder(repo_id: str, cache_dir: Path | None = None) -> Path:
    """huggingface_hub's folder for a model repository: ``<cache>/models--owner--name``."""
    cache = hub_cache_dir() if cache_dir is None else cache_dir
    return cache / ("models--" + repo_id.replace("/", "--"))


def _remember_ref(cache: Path, repo_id: str, revision: str, commit: str) -> None:
    """Point ``refs/<revision>`` at the pinned commit, as huggingface_hub does when it resolves
    a branch itself, so an offline run later finds the files under the branch name."""
    if revision == commit:
        return
    ref = repo_cache_folder(repo_id, cache) / "refs" / revision
    if ref.is_file() and ref.read_text().strip() == commit:
        return
    ref.parent.mkdir(parents=True, exist_ok=True)
    ref.write_text(commit)


def _commit_of(path: Path) -> str:
    """The commit of a cached snapshot file (its folder under ``snapshots/`` is named after it)."""
    return path.parent.name if _SHA1.match(path.parent.name) else "unknown"


def _verified(
    path: Path, name: str, etag: str, repo_id: str, commit: str, size: int | None
) -> HubFile:
    """Hash the cached copy against the published ETag; delete it on a mismatch."""
    data_size = path.stat().st_size
    if _SHA256.match(etag):
        actual = _digest(path, hashlib.sha256())
        kind, sha256, sha1 = "SHA-256", etag, None
    elif _SHA1.match(etag):
        actual = _digest(path, hashlib.sha1(f"blob {data_size}\0".encode(), usedforsecurity=False))
        kind, sha256, sha1 = "git SHA-1", None, etag
    else:
        raise HubError(
            f"{repo_id}@{commit}/{name}: the hub published no hash (ETag {etag!r}), so the "
            "download cannot be verified; is HF_ENDPOINT a Hugging Face mirror?"
        )
    if actual != etag or (size is not None and size != data_size):
        blob = path.resolve()
        path.unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        raise HubChecksumError(
            f"{repo_id}@{commit}/{name}: {kind} mismatch: expected {etag}, got {actual} "
            f"({data_size} bytes); the download was deleted, try again or another HF_ENDPOINT"
        )
    return HubFile(name, path, data_size, sha256, sha1)


def _digest(path: Path, h: hashlib._Hash) -> str:
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _translate(exc: Exception, repo_id: str, name: str, revision: str) -> HubError:
    """One line for the user out of whatever huggingface_hub or httpx raised."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    endpoint = hub_endpoint()
    token = hub_token()
    status = getattr(getattr(exc, "response", None), "status_code", None)
    page = f"{endpoint}/{repo_id}"
    if isinstance(exc, GatedRepoError):
        if token:
            return HubGatedError(
                f"{repo_id} is gated and this token's account has not been granted access: "
                f"accept the licence at {page} (logged in as that account), then retry"
            )
        return HubGatedError(
            f"{repo_id} is gated: accept its licence at {page}, then set HF_TOKEN (or run "
            "`hf auth login`) with a token of that account"
        )
    if isinstance(exc, RevisionNotFoundError):
        return HubNotFoundError(f"{repo_id} has no revision {revision!r} (branch, tag or commit)")
    if isinstance(exc, EntryNotFoundError):
        return HubNotFoundError(f"{repo_id}@{revision} has no file {name}")
    if status == 401 or isinstance(exc, RepositoryNotFoundError):
        message = str(exc)
        if status == 401 and "Invalid credentials" in message:
            return HubAuthError(f"the hub refused the token (401) for {repo_id}; check HF_TOKEN")
        if status == 401 and not token:
            return HubAuthError(
                f"{repo_id}: not found or private (401 without a token); if it is private or "
                "gated, set HF_TOKEN or run `hf auth login`"
            )
        return HubNotFoundError(
            f"no repository {repo_id} on {endpoint} (or this token cannot see it); check the name"
        )
    if isinstance(exc, OfflineModeIsEnabled):
        return HubOfflineError(
            f"huggingface_hub is in offline mode and {repo_id}/{name} is not cached; "
            "unset HF_HUB_OFFLINE to download it"
        )
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"{endpoint} answered HTTP {status} for {repo_id}/{name}")
    if isinstance(exc, OSError | ConnectionError) or "httpx" in type(exc).__module__:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return HubError(
            f"cannot reach {endpoint} for {repo_id} ({reason}); check the network, set "
            "HF_ENDPOINT to a mirror, or HF_HUB_OFFLINE=1 to use the cache"
        )
    return HubError(f"{repo_id}/{name}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
