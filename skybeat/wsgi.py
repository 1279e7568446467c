import os

from django.core.wsgi import get_wsgi_application

from catalog.uploads import ChunkedBodyLength

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skybeat.settings")
application = ChunkedBodyLength(get_wsgi_application())
