// A pause program for the test images: no dependencies, built static (CGO_ENABLED=0).
module kubestrap.test/pause

go 1.24
