"""An example Django shop personalised by smalldata: Django auth, a session basket, templates with slots.

``python -m examples.django_shop`` prepares its SQLite database (a seeded customer,
``anna`` / ``hygge-2026``) and serves it with uvicorn on http://127.0.0.1:8000.
The integration is ``asgi.py`` (smalldata around Django), two lines of ``settings.py``
(``SmallDataMiddleware`` and the ``smalldata`` template library), ``basket.py`` (the
basket hook) and ``smalldata.yaml``; README's "Add it to a Django shop" shows them.
"""
