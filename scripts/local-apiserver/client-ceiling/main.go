// client-ceiling: what a server sustains for the writes an ExternalSecret's first sync needs,
// done by a plain client-go program with no controller around it. It creates N ExternalSecrets
// (as the scale harness does), opens the watches an operator and the harness hold (every
// ExternalSecret in full, twice; every Secret as metadata), and then, with W workers, for each
// ExternalSecret: creates its target Secret, merge-patches its status as the operator does,
// and records a Created event (synchronously, through a client-go-style queue that drops when
// full, or not at all). JSON, no client-side rate limit. Prints the rate.
//
// Built in the MicroShift tree next to cmd/kube-apiserver (README.md).
package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd"
)

var esGVR = schema.GroupVersionResource{Group: "external-secrets.io", Version: "v1", Resource: "externalsecrets"}

// each runs f(k) for k in [0, n) on w goroutines.
func each(n, w int, f func(k int)) {
	var next int64 = -1
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := atomic.AddInt64(&next, 1)
				if k >= int64(n) {
					return
				}
				f(int(k))
			}
		}()
	}
	wg.Wait()
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the server")
	n := flag.Int("n", 3000, "ExternalSecrets")
	w := flag.Int("w", 16, "workers (the operator's --concurrency)")
	ns := flag.String("ns", "ceiling", "namespace (created)")
	events := flag.String("events", "sync", "sync | queued (1,000 deep, one in flight, dropped when full) | none")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		panic(err)
	}
	cfg.QPS = -1
	cfg.ContentType = "application/json"
	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	meta := metadata.NewForConfigOrDie(cfg)
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: *ns}}, metav1.CreateOptions{}); err != nil {
		panic(err)
	}
	uids := make([]types.UID, *n)
	each(*n, *w, func(k int) {
		name := fmt.Sprintf("es-%05d", k)
		obj := &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
			"metadata": map[string]interface{}{"name": name, "labels": map[string]interface{}{"secretsync.io/scale-run": *ns}},
			"spec": map[string]interface{}{
				"refreshInterval": "120s",
				"secretStoreRef":  map[string]interface{}{"kind": "ClusterSecretStore", "name": *ns},
				"target":          map[string]interface{}{"name": name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
				"data": []interface{}{map[string]interface{}{"secretKey": "value",
					"remoteRef": map[string]interface{}{"key": name, "property": "value"}}},
			},
		}}
		got, err := dyn.Resource(esGVR).Namespace(*ns).Create(ctx, obj, metav1.CreateOptions{FieldManager: "client-ceiling-harness"})
		if err != nil {
			panic(err)
		}
		uids[k] = got.GetUID()
	})
	for i := 0; i < 2; i++ {
		watch, err := dyn.Resource(esGVR).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			panic(err)
		}
		go func() {
			for range watch.ResultChan() {
			}
		}()
	}
	secrets, err := meta.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		panic(err)
	}
	go func() {
		for range secrets.ResultChan() {
		}
	}()
	var failed, posted, dropped int64
	queue := make(chan *eventsv1.Event, 1000)
	go func() {
		for ev := range queue {
			if _, err := cs.EventsV1().Events(*ns).Create(ctx, ev, metav1.CreateOptions{}); err == nil {
				atomic.AddInt64(&posted, 1)
			}
		}
	}()
	start := time.Now()
	each(*n, *w, func(k int) {
		name := fmt.Sprintf("es-%05d", k)
		yes := true
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels: map[string]string{"reconcile.external-secrets.io/managed": "true",
				"reconcile.external-secrets.io/created-by": "0123456789abcdef0123456789abcdef0123456789abcdef0123456"},
			Annotations: map[string]string{"reconcile.external-secrets.io/data-hash": "0123456789abcdef0123456789abcdef0123456789abcdef01234567"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret",
				Name: name, UID: uids[k], Controller: &yes, BlockOwnerDeletion: &yes}}},
			Data: map[string][]byte{"value": []byte("value-of-the-remote-key")}}
		if _, err := cs.CoreV1().Secrets(*ns).Create(ctx, secret, metav1.CreateOptions{FieldManager: "client-ceiling"}); err != nil {
			atomic.AddInt64(&failed, 1)
		}
		now := time.Now().UTC().Format(time.RFC3339)
		status := fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"SecretSynced","message":"secret synced","lastTransitionTime":%q}],"keys":[{"key":"value","state":"Synced"}],"observedGeneration":1,"refreshTime":%q,"syncedResourceVersion":"1-88fa1abc9c90471545cb1b17f4b85719a9f8d8424fd52cae0bae7720"}}`, now, now)
		if _, err := dyn.Resource(esGVR).Namespace(*ns).Patch(ctx, name, types.MergePatchType, []byte(status), metav1.PatchOptions{FieldManager: "client-ceiling"}, "status"); err != nil {
			atomic.AddInt64(&failed, 1)
		}
		event := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", name, time.Now().UnixNano())},
			EventTime:           metav1.NowMicro(),
			ReportingController: "external-secrets", ReportingInstance: "external-secrets",
			Action: "Reconcile", Reason: "Created", Note: "Created Secret", Type: "Normal",
			Regarding: corev1.ObjectReference{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret", Name: name, Namespace: *ns, UID: uids[k]}}
		switch *events {
		case "sync":
			if _, err := cs.EventsV1().Events(*ns).Create(ctx, event, metav1.CreateOptions{}); err != nil {
				atomic.AddInt64(&failed, 1)
			} else {
				atomic.AddInt64(&posted, 1)
			}
		case "queued":
			select {
			case queue <- event:
			default:
				atomic.AddInt64(&dropped, 1)
			}
		}
	})
	elapsed := time.Since(start).Seconds()
	fmt.Printf("%d ExternalSecrets in %.1f s: %.1f/s with %d workers; events %s: %d posted, %d dropped; %d failed requests\n",
		*n, elapsed, float64(*n)/elapsed, *w, *events, atomic.LoadInt64(&posted), atomic.LoadInt64(&dropped), atomic.LoadInt64(&failed))
}
