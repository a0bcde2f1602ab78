"""``archiver wacz DIR -o FILE``: one portable WACZ 1.1.1 file for ReplayWeb.page and pywb.

The package holds:
- the collection's WARCs, stored and not recompressed, so players can read records by range;
- its CDXJ index merged and sorted, as ``indexes/index.cdx`` (the name the WACZ spec and pywb
  use for CDXJ);
- a page list with each page's title and text from the manifest (``pages/pages.jsonl``);
- ``datapackage.json`` with a sha256 for every file.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import archiver
from archiver.collection.layout import OPEN_SUFFIX, Collection, timestamp_time
from archiver.collection.manifest import ManifestError, ManifestLine
from archiver.collection.runs import latest_summary
from archiver.model.errors import CollectionError

WACZ_VERSION = "1.1.1"
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def merged_index(collection: Collection) -> Iterator[str]:
    """All runs' CDXJ lines in one sorted stream (each file is sorted already)."""
    files = [open(p, encoding="utf-8") for p in collection.index_files()]  # noqa: SIM115
    try:
        yield from heapq.merge(*files)
    finally:
        for f in files:
            f.close()


def pages(collection: Collection) -> Iterator[dict[str, Any]]:
    """One entry per HTML page URL, from its latest successful capture in the manifest."""
    latest: dict[str, ManifestLine] = {}
    with open(collection.manifest, "rb") as manifest:
        for number, line in enumerate(manifest, 1):
            try:
                entry = ManifestLine.parse(line)
            except ManifestError as exc:
                raise CollectionError(
                    f"{collection.manifest} line {number} is corrupt ({exc}); "
                    "`archiver verify` reports every damaged line"
                ) from exc
            if entry.mime in PAGE_TYPES and 200 <= entry.status < 300:
                latest[entry.url] = entry
    for url, entry in latest.items():
        page = {"id": uuid.uuid5(uuid.NAMESPACE_URL, url).hex, "url": url}
        page["ts"] = timestamp_time(entry.timestamp).strftime("%Y-%m-%dT%H:%M:%SZ")
        if entry.title:
            page["title"] = entry.title
        if entry.text:
            page["text"] = entry.text
        yield page


def build_wacz(root: Path, output: Path) -> Path:
    collection = Collection(root)
    warcs = collection.warc_files()
    if not warcs or not collection.manifest.exists():
        raise CollectionError(f"{root} holds no WARC files or no manifest: is it a collection?")
    if any(collection.warcs.glob("*" + OPEN_SUFFIX)):
        raise CollectionError(
            f"{root} has an unfinished .open WARC; finish or repair the run first"
        )
    tmp = output.with_name(output.name + ".tmp")
    resources: list[dict[str, Any]] = []
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as wacz:
        for warc in warcs:
            resources.append(_add_file(wacz, f"archive/{warc.name}", warc))
        index = "".join(merged_index(collection)).encode("utf-8")
        resources.append(_add_bytes(wacz, "indexes/index.cdx", index))
        header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages", "hasText": True}
        lines = [json.dumps(header)] + [
            json.dumps(p, ensure_ascii=False) for p in pages(collection)
        ]
        resources.append(_add_bytes(wacz, "pages/pages.jsonl", ("\n".join(lines) + "\n").encode()))
        package = _datapackage(collection, resources)
        _add_bytes(wacz, "datapackage.json", package)
        digest = {
            "path": "datapackage.json",
            "hash": "sha256:" + hashlib.sha256(package).hexdigest(),
        }
        _add_bytes(wacz, "datapackage-digest.json", json.dumps(digest, indent=2).encode())
    os.replace(tmp, output)
    return output


def _datapackage(collection: Collection, resources: list[dict[str, Any]]) -> bytes:
    package: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": collection.root.resolve().name,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": f"archiver {archiver.__version__}",
        "resources": resources,
    }
    summary = latest_summary(collection)
    if summary is not None and summary.settings.seeds:
        package["mainPageURL"] = summary.settings.seeds[0]
    return json.dumps(package, indent=2).encode()


def _add_file(wacz: zipfile.ZipFile, name: str, path: Path) -> dict[str, Any]:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    wacz.write(path, name)
    return _resource(name, path.stat().st_size, sha.hexdigest())


def _add_bytes(wacz: zipfile.ZipFile, name: str, data: bytes) -> dict[str, Any]:
    wacz.writestr(name, data)
    return _resource(name, len(data), hashlib.sha256(data).hexdigest())


def _resource(name: str, size: int, sha256: str) -> dict[str, Any]:
    return {"name": Path(name).name, "path": name, "hash": f"sha256:{sha256}", "bytes": size}
