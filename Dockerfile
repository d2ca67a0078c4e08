# The auditor as a container. Build: docker build -t docker-cis-bench .
# Run it against the host it runs on (see docs/recipes.md, "Auditing from a container"):
#   docker run --rm --pid host --network host --cgroupns host \
#     -v /:/host:ro -v /var/run/docker.sock:/var/run/docker.sock:ro \
#     docker-cis-bench --root /host
FROM python:3.12-slim
COPY pyproject.toml README.md /src/
COPY bench /src/bench
COPY checks /src/checks
COPY profiles /src/profiles
RUN pip install --no-cache-dir /src && rm -rf /src
ENTRYPOINT ["docker-cis-bench"]
