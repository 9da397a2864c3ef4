# One image for every Rapport service; RAPPORT_SERVICE picks the one a container runs:
#   docker build -t rapport .
#   docker run -e RAPPORT_SERVICE=customers -e RAPPORT_DATABASE_URL=... -e RAPPORT_SERVICE_TOKEN=... rapport
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAPPORT_VAR_DIR=/app/var

# Built in /src and installed into site-packages; the runtime folder /app holds no source.
WORKDIR /src

# Dependencies first, in their own layer, so a code change does not reinstall numpy, pandas, pyarrow...
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY rapport/ rapport/
COPY services/ services/
COPY gateway/ gateway/
RUN pip install --no-cache-dir . \
    && rm -rf /src

WORKDIR /app
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin rapport \
    && mkdir -p /app/var \
    && chown rapport:rapport /app/var
USER rapport

# `rapport serve` migrates the service's database (creating it on PostgreSQL) and runs uvicorn on the
# service's port (RAPPORT_<SERVICE>_PORT, default 8000 gateway, 8001-8004 the others).
CMD ["sh", "-c", "exec rapport serve \"${RAPPORT_SERVICE:?set RAPPORT_SERVICE to customers, segmentation, recommendation, feedback or gateway}\" --host 0.0.0.0"]

# Ready means the service's own database answers; the port is resolved by the same Settings as `serve`.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; from rapport.config import Settings; port = Settings().port_for(os.environ['RAPPORT_SERVICE']); urllib.request.urlopen(f'http://127.0.0.1:{port}/ready', timeout=4)"]
