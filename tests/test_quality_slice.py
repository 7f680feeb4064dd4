"""The quality benchmark on a small slice of both real corpora (CI runs it; see require()).

Asserts the pipeline works end to end and that its numbers are sane: the served policy
must beat scikit-learn's plain TfidfVectorizer measured on the same slice in this run, and
the held-out split and the rule's sweep must report every figure.
"""

import math

import pytest

from benchmarks import quality
from benchmarks.quality_parts import PARTS
from tests.support.ci import require

SLICE = 1500


@pytest.mark.datasets
@pytest.mark.parametrize("spec", quality.CORPORA, ids=lambda s: s.folder)
def test_quality_slice_beats_the_plain_baseline(spec):
    root = quality.datasets_dir()
    require((root / spec.folder / "articles.jsonl").is_file(),
            f"{root / spec.folder} is not available")
    sweep = quality.sweep_settings((0.0, 0.5), compare=False)
    run = quality.run_corpus(spec, root, slice_n=SLICE, sweep=sweep, echo=lambda _m: None)
    rows = {r.method: r for r in run.rows}
    ours = rows[quality.DEFAULT_METHOD]
    plain = rows["plain TfidfVectorizer baseline"]
    assert ours.articles == SLICE
    for part in PARTS:
        f = ours.figures[part]
        for value in (f.precision, f.ndcg, f.coverage, f.similar_precision,
                      f.unrelated_share, f.fallback_share):
            assert 0.0 <= value <= 1.0 and not math.isnan(value)
    assert ours.precision > plain.precision
    assert ours.coverage >= plain.coverage
    # A baseline shows no fallback; the halves partition the scored lists.
    assert plain.figures["whole"].fallback_share == 0.0
    whole, tune, held = (ours.figures[p].precision for p in PARTS)
    assert min(tune, held) <= whole <= max(tune, held)
    # A stricter rule never tags more unrelated items as similar, and shows more fallback.
    off, strict = (p.figures["tune"] for p in run.sweep)
    assert strict.unrelated_share <= off.unrelated_share
    assert strict.fallback_share >= off.fallback_share
    assert quality.choose(run.sweep, tolerance=1.0) == 0.5
    table = quality.table(run.rows, SLICE, sweep=run.sweep, write=False)
    assert "precision@5" in table and spec.name in table and "held-out" in table
