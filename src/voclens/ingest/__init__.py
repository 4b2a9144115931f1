"""Ingest: read feedback files of any common format and encoding into a :class:`~voclens.corpus.Corpus`.

``readers`` turns a file into raw string cells, ``columns`` finds the text/id/date/rating/channel
columns, ``records`` builds the documents and rejects tables. Only ``load_corpus`` and
``corpus_from_records`` are meant for other packages.
"""

from voclens.ingest.readers import detect_encoding, read_table
from voclens.ingest.records import corpus_from_records, load_corpus

__all__ = ["load_corpus", "corpus_from_records", "read_table", "detect_encoding"]
