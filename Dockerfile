# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RECOMMENDER_MODELS_DIR=/models \
    RECOMMENDER_BIND=0.0.0.0:8000 \
    NUMBA_CACHE_DIR=/tmp/numba-cache

WORKDIR /app
# Dependencies first, from pyproject.toml alone: a change to the code or the README reuses this
# layer instead of reinstalling scipy, scikit-learn and the rest (minutes on a small machine).
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" >/tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt
COPY README.md gunicorn.conf.py ./
COPY recommender ./recommender
COPY data/sample ./data/sample
RUN pip install --no-cache-dir --no-deps . \
 && groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app \
 && mkdir -p /models && chown app:app /models
# Runs the command as is for a non-root user; started as root, makes /models usable and drops
# to 10001 (docker/entrypoint.sh; README, Container).
COPY docker/entrypoint.sh /usr/local/bin/recommender-entrypoint

USER 10001:10001
VOLUME ["/models"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["/usr/local/bin/recommender-entrypoint"]
# Heartbeat files on tmpfs: the overlay filesystem can stall them and get workers killed.
CMD ["gunicorn", "--worker-tmp-dir", "/dev/shm", "recommender.api:create_app()"]
