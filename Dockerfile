# syntax=docker/dockerfile:1
# Build a static soebot binary, then run it as a non-root user on a minimal image.
# The Go version is pinned exactly: 1.26.10 fixes standard-library
# vulnerabilities that soebot's code reaches in 1.26.8 and earlier. Never
# build production images with an older toolchain (see README, "Go version").
FROM golang:1.26.10-bookworm AS build
ENV GOTOOLCHAIN=local
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Only the bot: the demo (cmd/demo) and the fakes it links never enter the image.
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/bot ./cmd/bot \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bot /bot
# The database (and, if TOKEN_KEY is unset, its key file) live on this volume.
COPY --from=build --chown=65532:65532 /out/data /data
# HTTP_ADDR is public (link pages, OAuth callback, /healthz, /readyz).
# ADMIN_ADDR (/metrics, /admin/backup) stays on the container's loopback;
# set ADMIN_ADDR=:9090 only on a network Prometheus alone can reach.
ENV DB_PATH=/data/soebot.db \
    HTTP_ADDR=:8080 \
    ADMIN_ADDR=127.0.0.1:9090
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
# distroless has no shell or curl: the binary checks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/bot", "healthcheck"]
ENTRYPOINT ["/bot"]
