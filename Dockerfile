# The wirestream worker image: slim, non-root, models baked in, with a health check.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY streams ./streams
COPY agents ./agents
COPY schemas ./schemas
COPY models ./models
# Extras to bake in, e.g. --build-arg WIRESTREAM_EXTRAS='[multilingual]' for the thread stage's encoder.
ARG WIRESTREAM_EXTRAS=""
RUN pip install --no-cache-dir -e ".${WIRESTREAM_EXTRAS}" \
    && useradd --system --uid 10001 --home /app wirestream \
    && mkdir -p /var/lib/wirestream && chown wirestream /var/lib/wirestream

USER wirestream
EXPOSE 6066
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WIRESTREAM_WEB_PORT', '6066'), timeout=4)"
CMD ["wirestream", "worker"]
