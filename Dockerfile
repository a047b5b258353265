# repertory worker image: the package and its locked dependencies on a slim Python base.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 repertory
WORKDIR /app

COPY requirements-runtime.lock ./
RUN pip install --no-cache-dir -r requirements-runtime.lock hatchling==1.33.0 editables==0.6
COPY pyproject.toml README.md ./
COPY repertory ./repertory
RUN pip install --no-cache-dir --no-deps --no-build-isolation .

USER repertory
ENTRYPOINT ["repertory"]
CMD ["--help"]
