"""What gunicorn serves: ``gunicorn wsgi:app``."""

import gc

from portal.app import create_app

app = create_app()

# Everything built at start-up (modules, the app, compiled templates' code) lives as long as
# the worker: moved out of the collector's generations, it is no longer rescanned by every
# full collection, which otherwise cost each request about 5 % of its CPU.
gc.freeze()
