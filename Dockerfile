# ensmock container image.
#
# There is no builder stage: this machine and CI reach no image registry, so nothing
# may be pulled, not even golang or distroless. The binary is built on the host
# (static, CGO_ENABLED=0) by scripts/image.sh (`make image`) and copied into an empty
# image. The build context is a temporary folder with only this file, dist/ensmock and
# an empty dist/data (.dockerignore keeps a `docker build .` from the repository root just as small).
#
#   make image                                   # builds dist/ensmock and ensmock:dev
#   docker run --rm -p 127.0.0.1:8080:8080 ensmock:dev
#   docker run -p 127.0.0.1:8080:8080 -v ensmock-data:/data -e ENSMOCK_DATA_DIR=/data ensmock:dev
FROM scratch

ARG VERSION=dev
LABEL org.opencontainers.image.title="ensmock" \
      org.opencontainers.image.description="Local emulator of Alibaba Cloud ENS's data-distribution API, with its conformance suite" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/ensmock/ensmock"

COPY dist/ensmock /ensmock

# Inside the container the mock listens on every interface; publish it on the
# host's loopback only: -p 127.0.0.1:8080:8080.
ENV ENSMOCK_ADDR=0.0.0.0:8080
EXPOSE 8080

# The data volume for --data-dir (not on by default: -e ENSMOCK_DATA_DIR=/data).
# It is created owned by the non-root user, so a new named volume is writable by it.
COPY --chown=65532:65532 dist/data /data
VOLUME /data

# A writable /tmp: fetch mode streams each downloaded source into a temporary
# folder (a scratch image has none).
COPY --chown=65532:65532 dist/data /tmp

# nonroot (the distroless convention); the image has no /etc/passwd, so numeric ids.
USER 65532:65532

# Exec form: the image has no shell. `ensmock healthcheck` probes
# http://127.0.0.1:8080/_ensmock/health (override with ENSMOCK_URL).
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/ensmock", "healthcheck"]

ENTRYPOINT ["/ensmock"]
CMD ["serve"]
