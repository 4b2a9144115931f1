"""DuckDB schema of the history store: one file a team keeps beside its exports.

Per-period tables hold what each run wrote (masked text only, unless --keep-pii); the registry
holds every theme ever seen with its stable id, centroid and keywords; `theme_weekly` holds the
aggregates trends and alerts read, so a weekly run never re-reads a year of texts.
"""

SCHEMA_VERSION = 1

DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, period VARCHAR, created TIMESTAMP, manifest JSON,
        n_documents INTEGER, n_segments INTEGER, n_themes INTEGER)""",
    """CREATE TABLE IF NOT EXISTS documents (
        period VARCHAR, run_id VARCHAR, doc_id BIGINT, id VARCHAR, source VARCHAR, "row" BIGINT, channel VARCHAR,
        date TIMESTAMP, week VARCHAR, rating DOUBLE, theme_uid VARCHAR, sentiment VARCHAR, sentiment_score DOUBLE,
        job_type VARCHAR, journey_stage VARCHAR, intent VARCHAR, pain_point TINYINT, emotion VARCHAR, text VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS segments (
        period VARCHAR, run_id VARCHAR, seg_id BIGINT, doc_id BIGINT, start BIGINT, "end" BIGINT, text VARCHAR,
        kind VARCHAR, theme_uid VARCHAR, sentiment VARCHAR, sentiment_score DOUBLE, job_type VARCHAR,
        journey_stage VARCHAR, intent VARCHAR, pain_point TINYINT, emotion VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS themes (
        period VARCHAR, run_id VARCHAR, theme_uid VARCHAR, local_id INTEGER, label VARCHAR, keywords VARCHAR[],
        size BIGINT, share DOUBLE, net_sentiment DOUBLE, pain_score DOUBLE, pxp VARCHAR, impact DOUBLE,
        impact_rank INTEGER, departments VARCHAR[], match_score DOUBLE, matched VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS goals (
        period VARCHAR, run_id VARCHAR, theme_uid VARCHAR, pxp VARCHAR, kpi VARCHAR, kpi_id VARCHAR,
        current VARCHAR, current_value DOUBLE, target VARCHAR, target_value DOUBLE, better VARCHAR,
        horizon VARCHAR, departments VARCHAR[], outcome VARCHAR, actions VARCHAR[])""",
    """CREATE TABLE IF NOT EXISTS registry (
        theme_uid VARCHAR PRIMARY KEY, label VARCHAR, keywords VARCHAR[], centroid FLOAT[], n_seen BIGINT,
        first_period VARCHAR, last_period VARCHAR, status VARCHAR, merged_into VARCHAR, pinned_label BOOLEAN,
        parent VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS theme_weekly (
        period VARCHAR, theme_uid VARCHAR, week VARCHAR, n_segments BIGINT, n_documents BIGINT,
        n_negative DOUBLE, n_positive DOUBLE, n_pain BIGINT, n_complaint BIGINT, total_segments BIGINT)""",
    # social listening (voclens.social): brand mentions and alert-term hits per week
    """CREATE TABLE IF NOT EXISTS brand_weekly (
        period VARCHAR, brand VARCHAR, brand_group VARCHAR, week VARCHAR, mentions BIGINT, n_segments BIGINT,
        n_positive DOUBLE, n_negative DOUBLE, reach DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS watch_weekly (
        period VARCHAR, term VARCHAR, week VARCHAR, n_segments BIGINT, n_documents BIGINT, total_segments BIGINT)""",
    """CREATE TABLE IF NOT EXISTS segment_vectors (period VARCHAR, seg_id BIGINT, vec FLOAT[])""",
    """CREATE TABLE IF NOT EXISTS edits (
        edit_id BIGINT, created TIMESTAMP, author VARCHAR, op VARCHAR, payload JSON)""",
    """CREATE TABLE IF NOT EXISTS alerts (
        period VARCHAR, week VARCHAR, theme_uid VARCHAR, label VARCHAR, kind VARCHAR, sensitivity VARCHAR,
        observed DOUBLE, expected DOUBLE, p_value DOUBLE, message VARCHAR, created TIMESTAMP)""",
]

PERIOD_TABLES = ("documents", "segments", "themes", "goals", "theme_weekly", "alerts", "runs", "segment_vectors",
                 "brand_weekly", "watch_weekly")
WEEKLY_TABLES = ("theme_weekly", "brand_weekly", "watch_weekly")  # the newest run covering a week defines it
