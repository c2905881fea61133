"""``url_for`` for templates, with the URLs every page repeats built once per app.

The layout builds the same dozen URLs on every page (stylesheets, scripts, the navigation),
each a walk of Werkzeug's URL map. A URL that takes no values, or a static file's, depends
only on the endpoint and the script root the app is mounted under, as long as no
``url_defaults`` function can add values to it: while the app has none, such a URL is kept;
every other call goes to Flask's ``url_for`` as usual.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for

from portal.state import portal_state


def template_url_for(endpoint: str, **values) -> str:
    # Relative to the current blueprint, or outside a request (an email built by a command):
    # not a URL that depends on the endpoint alone.
    if endpoint.startswith(".") or not has_request_context():
        return url_for(endpoint, **values)
    if not values:
        key = (request.script_root, endpoint)
    elif endpoint == "static" and len(values) == 1 and "filename" in values:
        key = (request.script_root, endpoint, values["filename"])
    else:
        return url_for(endpoint, **values)
    app = current_app._get_current_object()
    if app.url_default_functions:
        return url_for(endpoint, **values)
    urls = portal_state(app).urls
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for(endpoint, **values)
    return url
