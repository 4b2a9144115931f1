"""Social listening: what SNS exports need beyond surveys.

``dedup`` and ``dedup_stage``: reposts, quote posts, copy-paste campaigns and templated bot posts
grouped (exact and near duplicates) so that theme discovery counts each text once while the
tables keep every copy; suspected coordinated campaigns flagged (``DedupStage``).
"""

from voclens.social.dedup_stage import DedupStage

__all__ = ["DedupStage"]
