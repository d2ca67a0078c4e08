# The auditor as a container image, built from the wheels in dist/ with no network at build time.
#
#   python3 -m pip wheel --no-deps --wheel-dir dist .
#   python3 -m pip download --dest dist --only-binary=:all: --python-version 3.11 \
#       --platform "manylinux2014_$(uname -m)" dist/docker_cis_bench-*.whl
#   docker build --network none --build-arg BASE -t docker-cis-bench .
#
# BASE is any image with Python 3.11 and its venv module: python:3.11-slim-bookworm by default, or
# a Debian root filesystem made by deploy/image/debian-base and `docker import` where nothing can
# be pulled. The wheels must suit the base's Python (--python-version above). How to run it:
# docs/recipes.md, "Auditing from a container" (and docs/fleets.md for Swarm and Kubernetes).
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}
COPY dist/ /tmp/dist/
RUN python3 -m venv /opt/docker-cis-bench \
 && /opt/docker-cis-bench/bin/pip install --no-cache-dir --no-index --disable-pip-version-check \
        --find-links /tmp/dist docker-cis-bench \
 && rm -rf /tmp/dist
ENV PATH=/opt/docker-cis-bench/bin:$PATH
ENTRYPOINT ["docker-cis-bench"]
