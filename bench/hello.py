"""The ceiling: a bare Flask app served exactly like the portal (gunicorn, 2 sync workers).

Every page's throughput is reported as a share of this app's, measured in the same run.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
