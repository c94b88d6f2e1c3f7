// Generates crates/template/tests/fixtures/url-vectors.json: Go net/url results for the
// fields sprig's urlParse reads and URL.String() for urlJoin's inputs (stdlib only).
// Run: go run gen_url_vectors.go > ../fixtures/url-vectors.json
package main

import (
	"encoding/json"
	"fmt"
	"net/url"
)

func main() {
	inputs := []string{
		"proto://host:80/path?a=b#frag",
		"https://user:p%40ss@example.com:8443/a%20b/c?x=1&y=2#sec%20one",
		"http://[::1]:8080/x",
		"mailto:joe@example.com",
		"/relative/path?q",
		"//host.only/x",
		"https://example.com",
		"https://ex.com/a b",
		"file:///etc/hosts",
		"postgres://user@db:5432/name?sslmode=disable",
		"http://host/p?",
		"a:b:c",
		"http://a b.com/",
		"http://host/%zz",
		":nope",
		"http://u%3Aser:pw@h/",
	}
	type row struct {
		In  string            `json:"in"`
		Out map[string]string `json:"out,omitempty"`
		Err bool              `json:"err,omitempty"`
	}
	var rows []row
	for _, in := range inputs {
		u, err := url.Parse(in)
		if err != nil {
			rows = append(rows, row{In: in, Err: true})
			continue
		}
		ui := ""
		if u.User != nil {
			ui = u.User.String()
		}
		rows = append(rows, row{In: in, Out: map[string]string{"scheme": u.Scheme, "host": u.Host, "hostname": u.Hostname(), "path": u.Path, "query": u.RawQuery, "opaque": u.Opaque, "fragment": u.Fragment, "userinfo": ui}})
	}
	joins := []map[string]string{
		{"scheme": "http", "host": "host:80", "path": "/path", "query": "a=b", "fragment": "frag"},
		{"scheme": "https", "host": "example.com", "path": "/a b/c?d", "userinfo": "user:p%40ss", "fragment": "x y"},
		{"scheme": "mailto", "opaque": "joe@example.com"},
		{"path": "a:b"},
		{"host": "h", "path": "rel"},
		{"scheme": "file", "path": "/etc/hosts"},
	}
	type jrow struct {
		In  map[string]string `json:"in"`
		Out string            `json:"out"`
	}
	var jrows []jrow
	for _, d := range joins {
		u := url.URL{Scheme: d["scheme"], Host: d["host"], Path: d["path"], RawQuery: d["query"], Opaque: d["opaque"], Fragment: d["fragment"]}
		if d["userinfo"] != "" {
			t, _ := url.Parse(fmt.Sprintf("proto://%s@host", d["userinfo"]))
			u.User = t.User
		}
		jrows = append(jrows, jrow{d, u.String()})
	}
	b, _ := json.MarshalIndent(map[string]any{"parse": rows, "join": jrows}, "", " ")
	fmt.Println(string(b))
}
