"""The fast analysis and transform (vectorize/analysis.py) give scikit-learn's output exactly:
the same tokens in the same order, the same vocabulary and columns, the same float32 bytes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender.artefact.load import load_model
from recommender.artefact.store import ModelStore
from recommender.build.train import train
from recommender.vectorize import DEFAULT_FIELD_WEIGHTS, ArticleVectorizer
from recommender.vectorize.analysis import word_analyzer
from recommender.vectorize.document import build_document_analyzer
from recommender.vectorize.vocabulary import Vocabulary
from tests.support.fresh_corpus import make_articles, write_jsonl

TEXTS = [
    "",
    "   ",
    "The and of to a in",  # stop words only
    "Hello, World! Hello again... world?",
    "Café Müller naïve façade Ångström résumé",
    "ÉCOLE élève Œuvre straße ǅemal ﬁnance",  # case, ligatures, compatibility forms
    "東京 タワー 北京大学 서울 Αθήνα Москва",
    "emoji 🎉🎉 party 🎉 time",
    "snake_case under_score __dunder__ x_y a_",
    "it's don't rock'n'roll O'Neil e-mail co-op",
    "numbers 2026 3.14 1,000,000 12h30 v2",
    "tabs\tand\nnewlines\r\nand  double  spaces",
    "a b c d e f single letters are dropped ab cd",
    "repeat repeat repeat repeat word word",
    "x" * 300 + " long " + "y" * 50,
    "UPPER lower MiXeD CamelCase",
    "¿Qué pasó? ¡Olé! «quotes» “curly” — dashes – and … ellipsis",
    "zero\u200bwidth non\u00a0breaking soft\u00adhyphen",
]


def _reference_analyzer(**params: Any) -> Any:
    return TfidfVectorizer(lowercase=True, **params).build_analyzer()


@pytest.mark.parametrize("stop_words", [None, "english", ["hello", "the", "café"]])
@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 2), (1, 3), (2, 3)])
@pytest.mark.parametrize("strip_accents", [None, "unicode", "ascii"])
def test_word_analyzer_gives_scikit_learns_tokens(stop_words: Any, ngram_range: Any,
                                                  strip_accents: Any) -> None:
    params = {"stop_words": stop_words, "ngram_range": ngram_range,
              "strip_accents": strip_accents}
    ours, theirs = word_analyzer(**params), _reference_analyzer(**params)
    for text in [*TEXTS, " ".join(TEXTS)]:
        assert ours(text) == theirs(text), text


def _docs(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    docs: list[dict[str, Any]] = []
    for i in range(n):
        pick = rng.choice(len(TEXTS), size=4)
        doc: dict[str, Any] = {"title": TEXTS[pick[0]], "teaser": TEXTS[pick[1]],
                               "body": " ".join(TEXTS[j] for j in pick[1:])
                               + f" story{i % 7} topic{i % 3}"}
        if i % 3:
            doc["tags"] = ["Climate Change", "", "Política"][: i % 4]
            doc["section"] = ["World", "Sport", ""][i % 3]
        if i % 5 == 0:
            doc.pop("teaser")
        docs.append(doc)
    return docs


def _reference(params: dict[str, Any], min_df: Any, max_df: Any) -> TfidfVectorizer:
    """The vectorizer as it was: scikit-learn's analyzer and transform, nothing replaced."""
    text = _reference_analyzer(stop_words=params.get("stop_words", "english"),
                               ngram_range=tuple(params.get("ngram_range", (1, 2))),
                               strip_accents=params.get("strip_accents", "unicode"))
    analyze = build_document_analyzer(params.get("field_weights", DEFAULT_FIELD_WEIGHTS), text)
    return TfidfVectorizer(analyzer=analyze, sublinear_tf=params.get("sublinear_tf", True),
                           min_df=min_df, max_df=max_df,
                           max_features=params.get("max_features"), dtype=np.float32)


def _same_matrix(got: sp.csr_matrix, want: Any) -> None:
    want = sp.csr_matrix(want)
    assert got.shape == want.shape
    assert got.indptr.tolist() == want.indptr.tolist()
    assert got.indices.tolist() == want.indices.tolist()
    assert got.data.dtype == want.data.dtype == np.float32
    assert got.data.tobytes() == want.data.tobytes()


PARAMS = [
    {},
    {"ngram_range": [1, 1], "stop_words": None},
    {"ngram_range": [1, 3], "strip_accents": None, "sublinear_tf": False},
    {"field_weights": {"title": 3, "body": 1, "tags": 1}, "stop_words": ["story1", "the"],
     "strip_accents": "ascii"},
    {"max_features": 40},
]


@pytest.mark.parametrize("params", PARAMS)
def test_fit_and_transform_are_scikit_learns_bit_for_bit(params: dict[str, Any]) -> None:
    docs, unseen = _docs(60, seed=1), _docs(25, seed=2)
    vec = ArticleVectorizer(min_df=1, max_df=1.0, **params)
    ref = _reference(params, 1, 1.0)
    _same_matrix(vec.fit_transform(docs), ref.fit_transform(docs))
    assert list(vec.vocabulary_) == ref.get_feature_names_out().tolist()
    assert vec.idf_.tobytes() == ref.idf_.astype(np.float32).tobytes()
    _same_matrix(vec.transform(unseen), ref.transform(unseen))
    again = ArticleVectorizer.from_state(vec.state_params(), list(vec.vocabulary_), vec.idf_)
    _same_matrix(again.transform(unseen), ref.transform(unseen))
    for doc in unseen[:5]:  # one at a time, as POST does
        _same_matrix(again.transform([doc]), ref.transform([doc]))


def test_df_cut_offs_keep_scikit_learns_columns() -> None:
    docs = _docs(80, seed=3)
    vec = ArticleVectorizer(min_df=3, max_df=0.5)
    _same_matrix(vec.fit_transform(docs), _reference({}, 3, 0.5).fit_transform(docs))


def test_a_text_with_no_known_term_is_an_empty_row() -> None:
    vec = ArticleVectorizer(min_df=1, max_df=1.0)
    vec.fit_transform(_docs(20, seed=4))
    got = vec.transform([{"title": "zzzunknown qqqnothing"}, {}, {"body": "the of and"}])
    assert got.shape == (3, len(vec.vocabulary_)) and got.nnz == 0


def test_the_vocabulary_finds_every_term_and_only_those() -> None:
    terms = sorted({t for text in TEXTS for t in _reference_analyzer(ngram_range=(1, 2))(text)})
    vocab = Vocabulary.from_terms(terms)
    assert vocab.lookup(terms).tolist() == list(range(len(terms)))
    assert vocab.lookup(["not-a-term", "", terms[3] + "x"]).tolist() == [-1, -1, -1]
    mapped = Vocabulary(*vocab.arrays())  # as a model maps it: decoded from the bytes
    assert list(mapped) == terms and mapped[-1] == terms[-1]
    assert terms[5] in mapped and "not-a-term" not in mapped
    assert mapped.get(terms[7]) == 7 and mapped.check() is None


def test_a_hash_collision_never_maps_a_term_to_another(monkeypatch) -> None:
    from recommender.vectorize import vocabulary as module

    def by_length(encoded):  # many collisions: every term of one length shares a hash
        return np.array([len(b) for b in encoded], dtype=np.uint64)

    monkeypatch.setattr(module, "term_hashes", by_length)
    vocab = Vocabulary.from_terms(["ab", "cd", "efg", "hi", "jk"])
    got = vocab.lookup(["cd", "hi", "ab", "xy", "efg", "zzz", "jk", "j"])
    assert got.tolist() == [1, 3, 0, -1, 2, -1, 4, -1]


def test_a_trained_model_maps_its_vocabulary_and_postings(tmp_path) -> None:
    """Training writes the lookup and the postings; the loaded vectorizer reads them (no
    term list, no dict) and gives the same rows as the one training fitted."""
    corpus = make_articles(120, seed=6)
    result = train(write_jsonl(tmp_path / "a.jsonl", corpus), tmp_path / "models", {})
    store = ModelStore(tmp_path / "models")
    model = load_model(store, result.version)
    vec = model.vectorizer
    assert isinstance(vec.vocabulary_, Vocabulary) and vec.vocabulary_._terms is None
    assert isinstance(vec.vocabulary_.hashes, np.ndarray)
    unseen = make_articles(10, seed=7, start=900)
    fields = [{k: d.get(k) for k in ("title", "teaser", "body", "tags", "section")}
              for d in unseen]
    ref = ArticleVectorizer.from_state(vec.state_params(), list(vec.vocabulary_), vec.idf_)
    ref_sk = TfidfVectorizer(analyzer=ref.analyze, vocabulary=list(vec.vocabulary_),
                             sublinear_tf=True, dtype=np.float32)
    ref_sk.fit(fields[:1])  # only to set the fixed vocabulary; the idf is the model's
    ref_sk.idf_ = np.asarray(vec.idf_, dtype=np.float64)
    _same_matrix(vec.transform(fields), ref_sk.transform(fields))
    terms = model.term_index()
    rebuilt = type(terms).of(model.matrix)
    for name in ("indptr", "row_ids", "values", "col_max"):
        assert np.asarray(getattr(terms, name)).tobytes() == getattr(rebuilt, name).tobytes()
    assert isinstance(terms.values, np.memmap)
