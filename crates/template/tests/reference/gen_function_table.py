#!/usr/bin/env python3
"""Prints the function tables of docs/templates.md from the function table in src/funcs.
Run from the workspace root; paste the output between the FUNCTION-TABLE markers."""
import re,glob
sup=set()
for f in glob.glob('crates/template/src/funcs/*.rs'):
    sup|=set(re.findall(r'\bf\(\s*"([A-Za-z0-9_]+)"', open(f).read()))
mod=open('crates/template/src/funcs/mod.rs').read()
uns=set(re.findall(r'"([A-Za-z0-9_]+)"', mod[mod.index('pub const UNSUPPORTED'):mod.index('pub const REMOVED')]))
removed={"env","expandenv","getHostByName"}
groups=[
("Go builtins", "and or not len index slice print printf println eq ne lt le gt ge call html js urlquery"),
("Strings", "trim trimAll trimall trimPrefix trimSuffix upper lower title untitle repeat substr nospace trunc abbrev abbrevboth initials randAlphaNum randAlpha randNumeric randAscii wrap wrapWith contains hasPrefix hasSuffix quote squote cat indent nindent replace plural snakecase camelcase kebabcase swapcase shuffle hello toString"),
("String lists", "splitList split splitn join sortAlpha toStrings"),
("Integer math", "add add1 sub div mod mul max biggest min floor ceil round randInt"),
("Integer slices", "until untilStep seq"),
("Float math", "addf add1f subf divf mulf maxf minf"),
("Dates", "now ago date dateInZone date_in_zone duration durationRound unixEpoch dateModify date_modify mustDateModify must_date_modify htmlDate htmlDateInZone toDate mustToDate"),
("Defaults and flow control", "default empty coalesce all any ternary fail"),
("JSON", "toJson mustToJson toPrettyJson mustToPrettyJson toRawJson mustToRawJson fromJson mustFromJson"),
("Encoding", "b64enc b64dec b32enc b32dec"),
("Lists", "list tuple first mustFirst rest mustRest last mustLast initial mustInitial append mustAppend push mustPush prepend mustPrepend concat reverse mustReverse uniq mustUniq without mustWithout has mustHas compact mustCompact chunk mustChunk mustSlice"),
("Dictionaries", "dict get set unset hasKey pluck dig keys values pick omit merge mustMerge mergeOverwrite mustMergeOverwrite deepCopy mustDeepCopy"),
("Type conversion", "atoi int int64 float64 toDecimal"),
("Reflection", "typeOf typeIs typeIsLike kindOf kindIs deepEqual"),
("Paths", "base dir clean ext isAbs osBase osClean osDir osExt osIsAbs"),
("Regular expressions", "regexMatch mustRegexMatch regexFind mustRegexFind regexFindAll mustRegexFindAll regexReplaceAll mustRegexReplaceAll regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit regexQuoteMeta"),
("Hashes and random data", "sha1sum sha256sum sha512sum adler32sum randBytes uuidv4"),
("Cryptography", "bcrypt htpasswd derivePassword genPrivateKey buildCustomCert genCA genCAWithKey genSelfSignedCert genSelfSignedCertWithKey genSignedCert genSignedCertWithKey encryptAES decryptAES"),
("Semantic versions", "semver semverCompare"),
("URLs", "urlParse urlJoin"),
("OS and network (removed)", "env expandenv getHostByName"),
("ESO: YAML", "toYaml fromYaml"),
("ESO: PKCS#12", "pkcs12key pkcs12keyPass pkcs12cert pkcs12certPass pemToPkcs12 pemToPkcs12Pass fullPemToPkcs12 fullPemToPkcs12Pass pemTruststoreToPKCS12 pemTruststoreToPKCS12Pass"),
("ESO: PEM and certificates", "filterPEM filterCertChain certSANs"),
("ESO: JWK and RSA", "jwkPublicKeyPem jwkPrivateKeyPem rsaDecrypt"),
]
seen=set()
out=[]
for g,names in groups:
    out.append(f"\n### {g}\n\n| Function | Status |\n| --- | --- |")
    for n in names.split():
        seen.add(n)
        st = "removed for security" if n in removed else "supported" if n in sup else "not supported" if n in uns else "??"
        out.append(f"| `{n}` | {st} |")
print("\n".join(out))
missing=(sup|uns)-seen
import sys
print("MISSING:",missing,file=sys.stderr)
