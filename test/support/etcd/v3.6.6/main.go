// etcd, as upstream's server/main.go: the server module's main package cannot be
// `go install`ed (its go.mod has replace directives), so this wrapper calls etcdmain.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
