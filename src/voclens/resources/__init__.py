"""Data files: lexicons, stop words, cue patterns, column aliases. Edit these, not the code."""
