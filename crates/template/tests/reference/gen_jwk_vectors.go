// Generates crates/template/tests/fixtures/jwk-vectors.json: JWKs built from freshly
// generated keys with the PEM encodings Go's crypto/x509 produces for them
// (MarshalPKIXPublicKey / MarshalPKCS8PrivateKey, what ESO's jwk.go returns), and RSA-OAEP
// ciphertexts made with Go's rsa.EncryptOAEP (what ESO's rsaDecrypt reverses), and SEC1 EC
// keys as x509.MarshalECPrivateKey writes them.
// Run: go run gen_jwk_vectors.go > ../fixtures/jwk-vectors.json (stdlib only).
package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"math/big"
	"os"
)

func b(x *big.Int) string { return base64.RawURLEncoding.EncodeToString(x.Bytes()) }
func fixed(x *big.Int, n int) string {
	return base64.RawURLEncoding.EncodeToString(x.FillBytes(make([]byte, n)))
}
func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

type vec struct {
	Name   string `json:"name"`
	JWK    string `json:"jwk"`
	Public string `json:"public,omitempty"`
	Priv   string `json:"private,omitempty"`
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func main() {
	out := map[string]any{}
	var vecs []vec
	rk := must(rsa.GenerateKey(rand.Reader, 2048))
	e := big.NewInt(int64(rk.E))
	pub := map[string]string{"kty": "RSA", "n": b(rk.N), "e": b(e)}
	priv := map[string]string{"kty": "RSA", "n": b(rk.N), "e": b(e), "d": b(rk.D), "p": b(rk.Primes[0]), "q": b(rk.Primes[1]),
		"dp": b(rk.Precomputed.Dp), "dq": b(rk.Precomputed.Dq), "qi": b(rk.Precomputed.Qinv)}
	vecs = append(vecs, vec{"rsa-public", string(must(json.Marshal(pub))), pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&rk.PublicKey))), ""})
	vecs = append(vecs, vec{"rsa-private", string(must(json.Marshal(priv))), "", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(rk)))})
	for _, c := range []struct {
		name  string
		curve elliptic.Curve
		size  int
	}{{"P-256", elliptic.P256(), 32}, {"P-384", elliptic.P384(), 48}, {"P-521", elliptic.P521(), 66}} {
		k := must(ecdsa.GenerateKey(c.curve, rand.Reader))
		pub := map[string]string{"kty": "EC", "crv": c.name, "x": fixed(k.X, c.size), "y": fixed(k.Y, c.size)}
		vecs = append(vecs, vec{"ec-public-" + c.name, string(must(json.Marshal(pub))), pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&k.PublicKey))), ""})
		if c.name != "P-521" {
			pub["d"] = fixed(k.D, c.size)
			vecs = append(vecs, vec{"ec-private-" + c.name, string(must(json.Marshal(pub))), "", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(k)))})
		}
	}
	edPub, edPriv := must2(ed25519.GenerateKey(rand.Reader))
	vecs = append(vecs, vec{"ed25519-public", string(must(json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub)}))), pemOf("PUBLIC KEY", must(x509.MarshalPKIXPublicKey(edPub))), ""})
	vecs = append(vecs, vec{"ed25519-private", string(must(json.Marshal(map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub), "d": base64.RawURLEncoding.EncodeToString(edPriv.Seed())}))), "", pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(edPriv)))})
	out["jwk"] = vecs

	ok := must(rsa.GenerateKey(rand.Reader, 2048))
	out["rsa_pkcs1"] = pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(ok))
	out["rsa_pkcs8"] = pemOf("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ok)))
	ct := map[string]string{}
	for name, h := range map[string]hash.Hash{"SHA1": sha1.New(), "SHA256": sha256.New(), "SHA512": sha512.New()} {
		ct[name] = base64.StdEncoding.EncodeToString(must(rsa.EncryptOAEP(h, rand.Reader, &ok.PublicKey, []byte("hello-"+name), nil)))
	}
	out["oaep"] = ct
	// sprig's pemBlockForKey writes SEC1 for ECDSA keys (x509.MarshalECPrivateKey)
	for _, c := range []struct {
		name  string
		curve elliptic.Curve
	}{{"ec_sec1_p256", elliptic.P256()}, {"ec_sec1_p384", elliptic.P384()}} {
		k := must(ecdsa.GenerateKey(c.curve, rand.Reader))
		out[c.name] = pemOf("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(k)))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.Encode(out)
}

func must2[A, B any](a A, c B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, c
}
