"""SAM 3 in the model manager: its row in `annotator models list`, and `models download sam3`
(a gated hub repository: the messages say how to accept the licence and log in)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from annotator.cli._common import error
from annotator.engine.concepts.catalogue import (
    CONCEPT_MODELS,
    ConceptModelInfo,
    download_concept_model,
    installed_folder,
)


def concept_rows(size: Callable[[int], str]) -> list[tuple[str, str, str, str, str, str]]:
    """(NAME, TYPE, SIZE, PROMPTS, STATE, WHERE / HOW) for each SAM 3 checkpoint; ``size``
    formats bytes as the rest of the table does."""
    rows = []
    for info in CONCEPT_MODELS.values():
        folder = installed_folder(info)
        state = "installed" if folder is not None else "not installed"
        where = str(folder) if folder is not None else info.access_hint()
        rows.append((info.name, "sam3", f"~{size(info.size)}", "text + exemplars", state, where))
    return rows


def download_concept(info: ConceptModelInfo, timeout: float, size: Callable[[int], str]) -> int:
    """Download ``info`` from the hub (HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE honoured)."""
    from annotator.engine.weights.hub import HubError, hub_endpoint

    folder = installed_folder(info)
    if folder is not None:
        print(f"{info.name} is already downloaded: {folder}")
        return 0
    print(
        f"Downloading {info.name} (~{size(info.size)}, {info.licence}) from "
        f"{hub_endpoint()}/{info.repo_id}",
        file=sys.stderr,
    )
    try:
        snapshot = download_concept_model(info, timeout=timeout)
    except HubError as exc:
        return error(str(exc), 1)
    except KeyboardInterrupt:
        return error("interrupted; run the same command again to resume", 130)
    print(
        f"Installed {info.name} at commit {snapshot.commit[:12]} (every file checked against "
        f"the hash the hub publishes): {snapshot.folder}"
    )
    return 0
