// The test HTTP image's program: no dependencies, built static (CGO_ENABLED=0).
module kubestrap.test/ks-http

go 1.24
