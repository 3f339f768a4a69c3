# The web app for docker-compose.yml: the same packages and assets that ./scripts/run installs.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml requirements.lock package.json package-lock.json ./
COPY scripts/lib/vendor_assets.py scripts/lib/
COPY geo geo
COPY models models
COPY webapp webapp
COPY templates templates
COPY static static
COPY alembic.ini ./
RUN pip install --no-cache-dir -c requirements.lock -e . \
 && npm ci --no-audit --no-fund \
 && python scripts/lib/vendor_assets.py \
 && rm -rf node_modules

USER nobody
EXPOSE 5000
# Migrate, load the postcodes (first start only), write the demo data (first start, DEMO_DATA=1), serve.
CMD alembic upgrade head \
 && python -m models.postcode_loader \
 && if [ "${DEMO_DATA:-0}" = 1 ]; then flask --app webapp seed-demo; fi \
 && exec gunicorn --workers "${WEB_WORKERS:-3}" --threads "${WEB_THREADS:-4}" --timeout 60 --bind "0.0.0.0:5000" --no-control-socket webapp.wsgi:app
