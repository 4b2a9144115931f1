"""Social listening: what SNS exports need beyond surveys.

``dedup`` and ``dedup_stage``: reposts, quote posts, copy-paste campaigns and templated bot posts
grouped (exact and near duplicates) so that theme discovery counts each text once while the
tables keep every copy; suspected coordinated campaigns flagged (``DedupStage``).
"""

from voclens.social.dedup_stage import DedupStage

__all__ = ["DedupStage"]

# Reach, brands, watch terms and SNS text (voclens.social.engagement, .watchlist, .brands, .sns):
# EngagementStage and SocialTagStage per document (chunkable), SocialSummaryStage on the whole corpus.
from voclens.social.engagement import EngagementStage  # noqa: E402
from voclens.social.stages import SocialSummaryStage, SocialTagStage  # noqa: E402
from voclens.social.watchlist import load_watchlist  # noqa: E402

__all__ += ["EngagementStage", "SocialTagStage", "SocialSummaryStage", "load_watchlist"]
