"""A dedup index that reports which modules the archive worker process had imported.

The worker imports its dedup index's class by name (ArchiveConfig.index_class, from
ARCHIVER_DEDUP_INDEX), so a test can run this one inside a real worker: when the run closes,
it writes the names in the worker's ``sys.modules`` beside the index file. It must import
nothing the worker does not import anyway, or it would report its own imports.
"""

from __future__ import annotations

import json
import sys

from archiver.collection.dedup import SqliteDedupIndex

REPORT = "worker-modules.json"


class ModuleReportingIndex(SqliteDedupIndex):
    def close(self) -> None:
        super().close()
        self.path.with_name(REPORT).write_text(json.dumps(sorted(sys.modules)))
