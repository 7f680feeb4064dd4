"""The pruned search's defaults, in a module that imports nothing: the config check reads
them without loading numba, and ``pruned.py`` without importing the package it sits in.

Multiply-adds per row the rare terms may cost, and candidates re-scored exactly per row:
at 100k articles recall@50 0.986; a larger corpus needs more of either for the same recall
(README "Scale").
"""

DEFAULT_BUDGET = 45_000.0
DEFAULT_CANDIDATES = 400
# Weight of the expected frequent-term share (|f_i| |f_y|) in a candidate's key.
DEFAULT_ALPHA = 0.2
