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


# -- languages ---------------------------------------------------------------------------
def test_english_analysis_is_unchanged_by_the_language_field():
    plain = ArticleVectorizer(min_df=1, max_df=1.0).fit_transform(DOCS)
    tagged = ArticleVectorizer(min_df=1, max_df=1.0).fit_transform(
        [d | {"language": "en"} for d in DOCS])
    assert abs(plain - tagged).max() == 0


def test_other_languages_are_prefixed_stopped_and_folded():
    vec = ArticleVectorizer(min_df=1, max_df=1.0)
    vec.fit_transform([{"title": "La reforma de las pensiones", "body": "El Congreso aprobó",
                        "language": "es", "tags": ["Política"]}])
    vocab = set(vec.vocabulary_)
    assert {"es:reforma", "es:pensiones", "es:aprobo", "es:tag_politica"} <= vocab
    assert not {"es:la", "es:de", "es:las", "es:el"} & vocab  # Spanish stop words
    assert readable_term("es:tag_politica") == "#politica"


def test_japanese_is_cut_into_character_bigrams_without_folding_kana():
    vec = ArticleVectorizer(min_df=1, max_df=1.0, ngram_range=(1, 1))
    vec.fit_transform([{"title": "東京で地震", "body": "スポーツ iPhone", "language": "ja"}])
    vocab = set(vec.vocabulary_)
    assert {"ja:東京", "ja:地震", "ja:スポ", "ja:iphone"} <= vocab
    assert "ja:スホ" not in vocab  # ポ keeps its mark


def test_profiles_from_the_config():
    vec = ArticleVectorizer(min_df=1, max_df=1.0, languages={
        "es": {"stop_words": ["reforma"], "strip_accents": "none"}})
    vec.fit_transform([{"title": "La reforma aprobó", "body": "x", "language": "es"}])
    assert "es:la" in vec.vocabulary_ and "es:reforma" not in vec.vocabulary_
    assert "es:aprobó" in vec.vocabulary_
    for bad, fragment in [({"es": {"analyzer": "x"}}, "languages.es.analyzer"),
                          ({"spanish": {}}, "not a language code"),
                          ({"es": {"stemmer": 1}}, "unknown key 'stemmer'")]:
        with pytest.raises(VectorizerError, match=fragment):
            ArticleVectorizer(languages=bad).fit_transform(DOCS)


def test_a_word_never_matches_across_languages_by_spelling():
    docs = [{"title": "Real final de la copa", "body": "El club gana la final", "language": "es"},
            {"title": "Real club final", "body": "The club wins the final", "language": "en"}]
    X = ArticleVectorizer(min_df=1, max_df=1.0).fit_transform(docs)
    assert (X[0] @ X[1].T).toarray()[0, 0] == 0
    # Analysed as one language, the same two articles would look related.
    one = ArticleVectorizer(min_df=1, max_df=1.0).fit_transform(
        [{k: v for k, v in d.items() if k != "language"} for d in docs])
    assert (one[0] @ one[1].T).toarray()[0, 0] > 0.1


def test_unseen_text_in_a_multilingual_model_gets_its_language_detected():
    docs = [{"title": "La reforma de las pensiones", "body": "El gobierno aprobó la reforma",
             "language": "es"},
            {"title": "Pension reform", "body": "The government passed the reform",
             "language": "en"}]
    vec = ArticleVectorizer(min_df=1, max_df=1.0)
    X = vec.fit_transform(docs)
    again = ArticleVectorizer.from_state(vec.state_params(), vec.vocabulary_, vec.idf_)
    query = again.transform([{"title": "Las pensiones", "body": "El gobierno aprobó ayer la "
                              "reforma de las pensiones en el Congreso de los Diputados"}])
    sims = (X @ query.T).toarray().ravel()
    assert sims[0] > 0 and sims[1] == 0


@pytest.mark.parametrize("lang", ["es", "fr", "de", "pt", "it", "nl"])
def test_stop_words_for_the_main_languages(lang):
    from recommender.vectorize.languages import builtin_stop_words

    words = builtin_stop_words(lang)
    assert len(words) > 50
    vec = ArticleVectorizer(min_df=1, max_df=1.0, ngram_range=(1, 1))
    vec.fit_transform([{"title": " ".join(words[:20]) + " zanahoria", "body": "",
                        "language": lang}])
    assert vec.vocabulary_ == [f"{lang}:zanahoria"]
