import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "identity.settings")
django.setup(set_prefix=False)

from identity.handlers import Application  # noqa: E402  (needs the app registry)

# Like get_wsgi_application(), with a short middleware stack for the OAuth protocol endpoints.
application = Application()
