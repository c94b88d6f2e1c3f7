// Reference renderer: Go text/template + sprig v3 (Debian packages), configured like
// ESO's runtime/template/v2 (missingkey=error, sprig minus env/expandenv).
// Reads JSON lines {"name":..., "template":..., "data":{k:v}} on stdin and writes
// JSON lines {"output":...} or {"error":...}. Used only to cross-check tests;
// never part of the cargo build. See run.sh.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"text/template"

	sprig "github.com/Masterminds/sprig"
)

type request struct {
	Name     string            `json:"name"`
	Template string            `json:"template"`
	Data     map[string]string `json:"data"`
	Left     string            `json:"left"`
	Right    string            `json:"right"`
}

type response struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

func main() {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	delete(funcs, "getHostByName")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		var resp response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			msg := "bad request: " + err.Error()
			resp.Error = &msg
		} else {
			t, err := template.New(req.Name).Option("missingkey=error").Funcs(funcs).Delims(req.Left, req.Right).Parse(req.Template)
			if err != nil {
				msg := err.Error()
				resp.Error = &msg
			} else {
				var buf bytes.Buffer
				if err := t.Execute(&buf, req.Data); err != nil {
					msg := err.Error()
					resp.Error = &msg
				} else {
					s := buf.String()
					resp.Output = &s
				}
			}
		}
		_ = out.Encode(resp)
	}
}
