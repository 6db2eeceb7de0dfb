# Edge-box image: runs `frontage run` against the cameras in /config/frontage.yaml. The same image serves the
# district API without cameras: `docker run IMAGE serve --db postgresql+psycopg://... --config /config/district.yaml`.
# Weights are not baked in: mount them at /models and set FRONTAGE_WEIGHTS (see models/README.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    FRONTAGE_WEIGHTS=/models/yolov8n.pt YOLO_CONFIG_DIR=/tmp/ultralytics

RUN apt-get update \
    && apt-get install -y --no-install-recommends libglib2.0-0 libgl1 tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY frontage ./frontage
COPY detector ./detector
COPY zones ./zones
COPY dispatch ./dispatch
COPY register ./register
COPY api ./api
COPY configs ./configs
# CPU wheels of torch keep the image small on an edge box.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu . \
    && useradd --system --uid 10001 frontage \
    && mkdir -p /data /models /config && chown frontage /data

USER frontage
VOLUME ["/data"]
ENTRYPOINT ["frontage"]
CMD ["run", "--config", "/config/frontage.yaml", "--db", "sqlite:////data/frontage.db", "--snapshots", "/data/snapshots"]
