// Independent Go implementations of ESO's template helpers (behaviour as documented in
// ESO's runtime/template/v2), used only by the reference renderer to cross-check the
// Rust implementation: filterPEM, filterCertChain, certSANs, pkcs12key/cert[Pass].
package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func esoFuncs() map[string]interface{} {
	return map[string]interface{}{
		"filterPEM":       refFilterPEM,
		"filterCertChain": refFilterCertChain,
		"certSANs":        refCertSANs,
		"pkcs12key":       func(in string) (string, error) { return refPkcs12Key("", in) },
		"pkcs12keyPass":   refPkcs12Key,
		"pkcs12cert":      func(in string) (string, error) { return refPkcs12Cert("", in) },
		"pkcs12certPass":  refPkcs12Cert,
	}
}

func afterJunk(s string) string {
	if i := strings.Index(s, "-----BEGIN"); i >= 0 {
		return s[i:]
	}
	return s
}

func refFilterPEM(typ, in string) (string, error) {
	data := []byte(afterJunk(in))
	var out []byte
	for {
		b, rest := pem.Decode(data)
		data = rest
		if b == nil {
			break
		}
		if strings.EqualFold(b.Type, typ) {
			out = append(out, pem.EncodeToMemory(b)...)
		}
	}
	if len(out) == 0 && len(data) != 0 {
		return "", errors.New("error filtering pem: found junk")
	}
	return string(out), nil
}

func chain(in []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		b, rest := pem.Decode(in)
		in = rest
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	parent := make([]int, len(certs))
	isParent := make([]bool, len(certs))
	for i := range certs {
		parent[i] = -1
		for j := range certs {
			if i != j && bytes.Equal(certs[i].AuthorityKeyId, certs[j].SubjectKeyId) {
				isParent[j] = true
				parent[i] = j
				break
			}
		}
	}
	leaf := -1
	for i := range certs {
		if !isParent[i] {
			if leaf >= 0 {
				return nil, errors.New("found multiple leaf or disjunct certificates")
			}
			leaf = i
		}
	}
	if leaf < 0 {
		return nil, errors.New("no leaf certificate found")
	}
	var out []*x509.Certificate
	for i := leaf; i >= 0; i = parent[i] {
		if len(out) >= len(certs) {
			return nil, errors.New("constructing chain resulted in cycle")
		}
		out = append(out, certs[i])
	}
	return out, nil
}

func encCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func isRoot(c *x509.Certificate) bool {
	return c.AuthorityKeyId == nil || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId)
}

func refFilterCertChain(kind, in string) (string, error) {
	certs, err := chain([]byte(in))
	if err != nil {
		return "", err
	}
	switch kind {
	case "leaf":
		if certs[0].AuthorityKeyId != nil && !bytes.Equal(certs[0].AuthorityKeyId, certs[0].SubjectKeyId) {
			return string(encCert(certs[0])), nil
		}
	case "intermediate":
		var out []byte
		for _, c := range certs[1:] {
			if isRoot(c) {
				break
			}
			out = append(out, encCert(c)...)
		}
		return string(out), nil
	case "root":
		if c := certs[len(certs)-1]; isRoot(c) {
			return string(encCert(c)), nil
		}
	}
	return "", nil
}

func refCertSANs(in string) ([]string, error) {
	b, _ := pem.Decode([]byte(afterJunk(in)))
	if b == nil {
		return nil, errors.New("failed to decode PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, err
	}
	out := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, c.EmailAddresses...)
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out, nil
}

func refPkcs12Key(pass, in string) (string, error) {
	key, _, _, err := pkcs12.DecodeChain([]byte(in), pass)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

func refPkcs12Cert(pass, in string) (string, error) {
	_, leaf, cas, err := pkcs12.DecodeChain([]byte(in), pass)
	if err != nil {
		return "", err
	}
	all := encCert(leaf)
	for _, c := range cas {
		all = append(all, encCert(c)...)
	}
	ordered, err := chain(all)
	if err != nil {
		return string(all), nil
	}
	var out []byte
	for _, c := range ordered {
		out = append(out, encCert(c)...)
	}
	return string(out), nil
}
