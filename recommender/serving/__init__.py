"""The Flask-free request core: plain functions over plain values, dependencies passed in.

    services = Services(models=ModelHolder(store), policies=PolicyRegistry(...), ...)
    result = related(services, RelatedRequest(article_id="a1", limit=5))
    result.payload, result.private
"""

from recommender.serving.errors import ModelUnavailable, RequestError
from recommender.serving.holder import ModelHolder
from recommender.serving.policies import PolicyRegistry
from recommender.serving.related import related
from recommender.serving.request import RelatedRequest, RelatedResult
from recommender.serving.services import Services

__all__ = [
    "ModelHolder", "ModelUnavailable", "PolicyRegistry", "RelatedRequest", "RelatedResult",
    "RequestError", "Services", "related",
]
