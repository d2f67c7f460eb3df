"""The Django shop's ASGI application, with smalldata around it (``uvicorn examples.django_shop.asgi:application``)."""

import os
from pathlib import Path

from django.core.asgi import get_asgi_application

from smalldata import SmallData
from smalldata.django import skip

HERE = Path(__file__).parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_shop.settings")

application = SmallData(get_asgi_application(), rules=HERE / "rules", config=HERE / "smalldata.yaml", skip=skip())
