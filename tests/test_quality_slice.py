"""The quality benchmark on a small slice of both real corpora (CI runs it; see require()).

Asserts the pipeline works end to end and that its numbers are sane: the served policy
must beat scikit-learn's plain TfidfVectorizer measured on the same slice in this run.
"""

import pytest

from benchmarks import quality
from tests.support.ci import require

SLICE = 1500


@pytest.mark.datasets
@pytest.mark.parametrize("spec", quality.CORPORA, ids=lambda s: s.folder)
def test_quality_slice_beats_the_plain_baseline(spec):
    root = quality.datasets_dir()
    require((root / spec.folder / "articles.jsonl").is_file(),
            f"{root / spec.folder} is not available")
    rows = {r.method: r for r in quality.run_corpus(spec, root, slice_n=SLICE,
                                                    echo=lambda _m: None)}
    ours = rows["this project (default policy)"]
    plain = rows["plain TfidfVectorizer baseline"]
    assert ours.articles == SLICE
    assert 0.0 <= ours.precision <= 1.0 and 0.0 <= ours.ndcg <= 1.0
    assert ours.precision > plain.precision
    assert ours.coverage >= plain.coverage
    table = quality.table(list(rows.values()), SLICE, write=False)
    assert "precision@5" in table and spec.name in table
