import numpy as np
import pytest

from recommender.vectorize import ArticleVectorizer, NotFittedError, VectorizerError, readable_term

DOCS = [
    {"title": "Moon probe launch", "body": "rocket moon orbit", "tags": ["Space Flight"]},
    {"title": "Bread baking", "body": "flour oven sourdough", "section": "Food"},
    {"title": "Election vote", "body": "ballot parliament law"},
]


def test_rows_are_l2_normalised_and_weighted():
    vec = ArticleVectorizer(min_df=1, max_df=1.0)
    X = vec.fit_transform(DOCS)
    norms = np.sqrt(X.multiply(X).sum(axis=1)).A.ravel()
    assert np.allclose(norms, 1.0, atol=1e-6)
    vocab = vec.vocabulary_
    assert "tag_space_flight" in vocab and "section_food" in vocab
    row = X[0].toarray().ravel()
    # "moon" appears in title (weight 3) and body; "rocket" in body only.
    assert row[vocab.index("moon")] > row[vocab.index("rocket")]
    # Bigrams never span two fields: "launch rocket" would join title and body.
    assert "launch rocket" not in vocab
    assert "moon probe" in vocab


def test_round_trip_without_pickle():
    vec = ArticleVectorizer(min_df=1, max_df=1.0)
    X = vec.fit_transform(DOCS)
    again = ArticleVectorizer.from_state(vec.state_params(), vec.vocabulary_, vec.idf_)
    assert abs(again.transform(DOCS) - X).max() < 1e-6


def test_errors():
    with pytest.raises(NotFittedError):
        ArticleVectorizer().transform(DOCS)
    with pytest.raises(VectorizerError, match="vocabulary"):
        ArticleVectorizer().fit_transform([{"title": "the and of", "body": "a an"}])
    with pytest.raises(VectorizerError, match="field_weights: unknown field 'foo'"):
        ArticleVectorizer(field_weights={"foo": 1}).fit_transform(DOCS)
    with pytest.raises(VectorizerError, match="ngram_range"):
        ArticleVectorizer(ngram_range=(2, 1)).fit_transform(DOCS)
    with pytest.raises(VectorizerError, match="empty corpus"):
        ArticleVectorizer().fit_transform([])


def test_readable_term():
    assert readable_term("tag_climate_change") == "#climate change"
    assert readable_term("section_world") == "section: world"
    assert readable_term("trade deal") == "trade deal"
