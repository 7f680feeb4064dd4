"""The steps of Policy.rank, one module each, in the order they run.

candidates -> eligibility -> filters -> threshold -> recency -> editorial (boosts, pins) ->
diversity -> editorial (pins placed) -> fallback. ``source`` describes the article a list is
for and ``gate`` joins eligibility and filters for the steps that add rows of their own.
Every step is pure: arrays and settings in, arrays out.
"""
