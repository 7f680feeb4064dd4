"""The serving benchmark's floor: a Flask hello-world, run by gunicorn with the service's
shipped config (``recommender.api.gunicorn_config``), so only the application differs."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
