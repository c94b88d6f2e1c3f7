#!/usr/bin/env python3
"""Cross-checks tests/golden/*.yaml against the Go reference renderer (run.sh) for every
template that only uses Go builtins and sprig (ESO-only functions are skipped).
Requires python3-yaml. Exit status 1 on any difference."""
import glob, json, os, subprocess, sys
import yaml

ESO_ONLY = ["toYaml", "fromYaml", "pkcs12", "Pkcs12", "PKCS12", "filterPEM", "filterCertChain", "certSANs", "jwk", "rsaDecrypt", "htpasswd"]
here = os.path.dirname(os.path.abspath(__file__))
reqs, keys = [], []
for path in sorted(glob.glob(os.path.join(here, "..", "golden", "*.yaml"))):
    g = yaml.safe_load(open(path))
    for k, t in g["templates"].items():
        if any(f in t for f in ESO_ONLY):
            continue
        reqs.append(json.dumps({"name": k, "template": t, "data": g["data"]}))
        keys.append((os.path.basename(path), k, g.get("expected", {}).get(k)))
p = subprocess.run([os.path.join(here, "run.sh")], input="\n".join(reqs) + "\n", capture_output=True, text=True, check=True)
bad = 0
for (f, k, want), line in zip(keys, p.stdout.splitlines()):
    got = json.loads(line)
    if got.get("output") != want:
        bad += 1
        print(f"{f} {k}: go={got!r} golden={want!r}")
print(f"{len(keys)} golden templates checked against Go, {bad} differ")
sys.exit(1 if bad else 0)
