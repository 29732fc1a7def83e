// ks-http is the e2e tests' workload: `serve` answers every request with the pod's hostname (so a
// client can tell the replicas of a Service apart) and logs it; `get <url>` fetches a URL once
// with Go's own resolver (the pod's /etc/resolv.conf, i.e. the cluster DNS) and prints the body;
// `lookup <name>` and `cat <file>` show what the pod resolves and sees, for failure messages.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func serve(addr string) error {
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s %s from %s\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.Path, r.RemoteAddr)
		fmt.Fprintf(w, "%s\n", host)
	})
	srv := &http.Server{Addr: addr, ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	fmt.Printf("serving %s on %s\n", host, addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func get(url string) error {
	client := &http.Client{Timeout: 3 * time.Second}
	res, err := client.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	_, err = os.Stdout.Write(body)
	return err
}

func main() {
	var err error
	switch {
	case len(os.Args) >= 2 && os.Args[1] == "serve":
		addr := ":8080"
		if len(os.Args) >= 3 {
			addr = os.Args[2]
		}
		err = serve(addr)
	case len(os.Args) == 3 && os.Args[1] == "get":
		err = get(os.Args[2])
	case len(os.Args) == 3 && os.Args[1] == "lookup":
		var addrs []string
		if addrs, err = net.LookupHost(os.Args[2]); err == nil {
			fmt.Println(strings.Join(addrs, " "))
		}
	case len(os.Args) == 3 && os.Args[1] == "cat":
		var data []byte
		if data, err = os.ReadFile(os.Args[2]); err == nil {
			_, err = os.Stdout.Write(data)
		}
	default:
		err = fmt.Errorf("usage: ks-http serve [addr] | get <url> | lookup <name> | cat <file>")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ks-http:", err)
		os.Exit(1)
	}
}
