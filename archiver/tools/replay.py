"""``archiver replay DIR``: serve a collection with pywb on loopback, without copying anything.

pywb reads the collection's own files: a config.yaml in ``DIR/replay/`` points a pywb
collection at ``DIR/warcs/`` and at the CDXJ files in ``DIR/indexes/``, which are written in
the format pywb reads. So replay needs no ``wb-manager add`` (which copies WARCs) and no
re-indexing, and a new run's files are served as soon as the run has finished.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from archiver.collection.layout import Collection
from archiver.collection.runs import latest_summary
from archiver.model.errors import CollectionError


def collection_name(root: Path) -> str:
    """pywb collection names are path segments: keep letters, digits, '-' and '_'."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", root.resolve().name).strip("-") or "archive"


def prepare_workdir(
    collection: Collection, workdir: Path, name: str, *, framed: bool = True
) -> Path:
    """Make *workdir* a pywb working folder serving *collection* as *name*; return it.

    pywb treats ``*`` and ``{...}`` in archive and index paths as templates, so it is given
    two symlinks inside *workdir* instead of the collection's real paths: a collection folder
    of any name replays. Writing again refreshes it.
    """
    if not collection.index_files():
        raise CollectionError(
            f"{collection.root} has no CDXJ index in indexes/: is it a collection? "
            "Run `archiver crawl ... --output DIR` first"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    for link, target in (("archive", collection.warcs), ("indexes", collection.indexes)):
        path = workdir / link
        if path.is_symlink() or path.exists():
            path.unlink()
        path.symlink_to(target.resolve(), target_is_directory=True)
    config = {
        "collections": {
            name: {
                "index_paths": f"{workdir.resolve()}/indexes/",
                "archive_paths": f"{workdir.resolve()}/archive/",
            }
        },
        "enable_auto_colls": False,
        "framed_replay": framed,
    }
    # JSON is YAML: no YAML writer needed, and every path is quoted.
    (workdir / "config.yaml").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return workdir


def wayback_program() -> str:
    """pywb's server, from this Python's environment first."""
    here = Path(sys.executable).parent / "wayback"
    found = str(here) if here.exists() else shutil.which("wayback")
    if not found:
        raise CollectionError(
            "pywb is not installed: pip install 'archiver[replay]' (make run installs it)"
        )
    return found


def seeds_of(collection: Collection) -> list[str]:
    """The seeds of the latest run, as replay URLs worth opening first."""
    summary = latest_summary(collection)
    return list(summary.settings.seeds) if summary is not None else []
