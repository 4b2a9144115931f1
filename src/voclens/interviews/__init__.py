"""Interview transcripts for researchers: readers, codebooks, coding, agreement, REFI-QDA exchange."""

from voclens.interviews.model import Code, Codebook, Coding, Transcript, Turn

__all__ = ["Code", "Codebook", "Coding", "Transcript", "Turn"]
