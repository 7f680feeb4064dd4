# gunicorn reads ./gunicorn.conf.py by default; the settings live in the package so that
# `recommender serve` and the Docker image use exactly the same ones.
from recommender.api.gunicorn_config import *  # noqa: F403
