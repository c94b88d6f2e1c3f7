// kas-etcd: minimal standalone single-member etcd server built on
// go.etcd.io/etcd/server/v3/embed (for local kube-apiserver testing).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/version"
	"go.etcd.io/etcd/server/v3/embed"
)

func mustURLs(s string) []url.URL {
	u, err := url.Parse(s)
	if err != nil {
		log.Fatalf("bad url %q: %v", s, err)
	}
	return []url.URL{*u}
}

func main() {
	showVersion := flag.Bool("version", false, "print version and exit")
	name := flag.String("name", "default", "member name")
	dataDir := flag.String("data-dir", "", "data directory (required)")
	clientURL := flag.String("listen-client-urls", "http://127.0.0.1:2379", "client URL (single)")
	peerURL := flag.String("listen-peer-urls", "http://127.0.0.1:2380", "peer URL (single)")
	metricsURL := flag.String("listen-metrics-urls", "", "optional metrics URL (single)")
	quota := flag.Int64("quota-backend-bytes", 0, "backend quota in bytes (0 = etcd default 2GiB)")
	flag.Parse()

	if *showVersion {
		fmt.Printf("etcd Version: %s\nGit SHA: openshift-etcd (microshift vendor)\nGo Version: %s\nGo OS/Arch: %s/%s\n",
			version.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return
	}
	if *dataDir == "" {
		log.Fatal("--data-dir is required")
	}

	cfg := embed.NewConfig()
	cfg.Name = *name
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = mustURLs(*clientURL)
	cfg.AdvertiseClientUrls = mustURLs(*clientURL)
	cfg.ListenPeerUrls = mustURLs(*peerURL)
	cfg.AdvertisePeerUrls = mustURLs(*peerURL)
	if *metricsURL != "" {
		cfg.ListenMetricsUrls = mustURLs(*metricsURL)
	}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.QuotaBackendBytes = *quota

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("start etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		log.Printf("etcd ready on %s", *clientURL)
	case <-time.After(120 * time.Second):
		e.Server.Stop()
		log.Fatal("etcd took too long to become ready")
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Printf("received %v, stopping", s)
	case err := <-e.Err():
		log.Printf("etcd error: %v", err)
	}
	e.Close()
}
