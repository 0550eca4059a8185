# Identity Portal: production image (granian serving identity.wsgi, identity/server.py). Build: docker build -t identity-portal .
# Run:   docker run -p 8000:8000 --env-file prod.env identity-portal
# Once per release, before the new web processes take traffic:
#        docker run --rm --env-file prod.env identity-portal python manage.py migrate --noinput
# Worker/beat from the same image:
#        docker run --env-file prod.env identity-portal celery -A identity worker --loglevel=INFO
#        docker run --env-file prod.env identity-portal celery -A identity beat --loglevel=INFO
# Static files are collected into /app/staticfiles at build time and served by the app itself at
# /static/ (whitenoise, on with APP_ENV=production: compressed, cache-busted names, far-future
# caching); the reverse proxy needs no static files.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first (their own layer, rebuilt only when pyproject.toml or constraints.txt changes),
# at the versions CI tested (constraints.txt, `make lock`).
# psycopg[binary], argon2-cffi and cryptography ship manylinux wheels: no compiler needed.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
RUN pip install --no-deps -e . \
    && APP_ENV=production \
       SECRET_KEY=build-only-dummy-key-never-used-at-runtime-0123456789abcdefghij \
       DATABASE_URL=sqlite:////tmp/build.sqlite3 \
       ALLOWED_HOSTS=localhost \
       APP_BASE_URL=http://localhost \
       python manage.py collectstatic --noinput \
    && rm -f /tmp/build.sqlite3

ENV APP_ENV=production \
    WEB_CONCURRENCY=3

USER app
EXPOSE 8000

# Liveness only (/healthz touches no database). The request carries a Host from ALLOWED_HOSTS and
# X-Forwarded-Proto (honoured when TRUSTED_PROXY_COUNT > 0) so host checks and SSL redirect pass.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; hosts = [h.strip().lstrip('.') for h in os.environ.get('ALLOWED_HOSTS', '').split(',') if h.strip() not in ('', '*')]; r = u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': (hosts or ['localhost'])[0], 'X-Forwarded-Proto': 'https'}), timeout=4); sys.exit(0 if r.status == 200 else 1)"]

# granian (identity/server.py): WEB_CONCURRENCY workers, access log on standard output, 30 s to finish
# requests in flight on SIGTERM.
CMD ["python", "-m", "identity.server", "--port", "8000"]
